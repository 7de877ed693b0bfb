/** Python and pip handling shared by the runners. */

/** Installer options a user can give on the command line (pip's own config and PIP_* variables apply too). */
export interface PipOptions {
  indexUrl?: string;
  findLinks: string[];
}

/** pip arguments for the options the user gave explicitly. */
export function pipSourceArgs(pip: PipOptions): string[] {
  const args: string[] = [];
  if (pip.indexUrl) args.push('--index-url', pip.indexUrl);
  for (const link of pip.findLinks) args.push('--find-links', link);
  return args;
}
