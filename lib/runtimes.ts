/**
 * Python runtimes Lambda offers for .zip functions today, and the glibc of the Amazon
 * Linux each runs on (it bounds which manylinux wheels load there).
 */
export interface RuntimeInfo {
  /** "3.12" */
  pythonVersion: string;
  /** glibc minor version of the runtime's OS: manylinux_2_X wheels load when X <= this. */
  glibcMinor: number;
  /** Lambda has announced or passed the deprecation date: still deployable, but warn. */
  deprecated: boolean;
}

export const RUNTIMES: Record<string, RuntimeInfo> = {
  'python3.10': { pythonVersion: '3.10', glibcMinor: 26, deprecated: true },
  'python3.11': { pythonVersion: '3.11', glibcMinor: 26, deprecated: false },
  'python3.12': { pythonVersion: '3.12', glibcMinor: 34, deprecated: false },
  'python3.13': { pythonVersion: '3.13', glibcMinor: 34, deprecated: false },
  'python3.14': { pythonVersion: '3.14', glibcMinor: 34, deprecated: false },
};

export const DEFAULT_RUNTIME = 'python3.12';

export const ARCHITECTURES = ['x86_64', 'arm64'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

/** The CPU name that wheel platform tags use for a Lambda architecture. */
export function wheelMachine(architecture: Architecture): 'x86_64' | 'aarch64' {
  return architecture === 'arm64' ? 'aarch64' : 'x86_64';
}

/**
 * Node.js runtimes Lambda offers for .zip functions today (nodejs20.x was deprecated on
 * 2026-04-30; nodejs18.x before it). Each carries the AWS SDK for JavaScript v3 (@aws-sdk/*)
 * in /var/runtime/node_modules and runs on Amazon Linux 2023 (glibc).
 */
export interface NodeRuntimeInfo {
  /** Major version: "22". */
  nodeVersion: string;
  deprecated: boolean;
}

export const NODE_RUNTIMES: Record<string, NodeRuntimeInfo> = {
  'nodejs22.x': { nodeVersion: '22', deprecated: false },
  'nodejs24.x': { nodeVersion: '24', deprecated: false },
};

export const DEFAULT_NODE_RUNTIME = 'nodejs22.x';

/** The languages lambda-cd builds (languages/<id>/); the Runtime decides which. */
export type LanguageId = 'python' | 'node';

/** The language of a Runtime Lambda supports, or undefined for one lambda-cd does not know. */
export function runtimeLanguage(runtime: string): LanguageId | undefined {
  if (Object.hasOwn(RUNTIMES, runtime)) return 'python';
  if (Object.hasOwn(NODE_RUNTIMES, runtime)) return 'node';
  return undefined;
}

/** The CPU name npm's `--cpu` and package.json `cpu` fields use for a Lambda architecture. */
export function npmCpu(architecture: Architecture): 'x64' | 'arm64' {
  return architecture === 'arm64' ? 'arm64' : 'x64';
}
