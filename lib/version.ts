import { readFileSync } from 'node:fs';

declare const __LAMBDA_CD_VERSION__: string | undefined;

/** The package version; a bundle defines it at build time, otherwise package.json has it. */
export function version(): string {
  if (typeof __LAMBDA_CD_VERSION__ === 'string') return __LAMBDA_CD_VERSION__;
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}
