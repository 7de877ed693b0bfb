/**
 * npm, run as a real process: `npm ci` (the lock file is the truth) into a folder of ours, and
 * its failures told apart, each as one line naming the file: a lock out of sync with
 * package.json or a package no registry offers is the repository's problem (exit 2), a
 * registry npm cannot reach is the environment's (exit 3).
 */
import { readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { run } from '../../lib/exec.js';
import { ConfigError, EnvironmentError } from '../../lib/errors.js';
import { withHeartbeat } from '../../lib/output.js';
import { excerpt } from '../../lib/redact.js';

export const NPM = process.env.LAMBDA_CD_NPM || 'npm';

/** Variables that keep npm quiet and off the network for what a build does not need. */
const QUIET = { npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false', npm_config_progress: 'false' };

export interface NpmCiOptions {
  /** The folder holding package.json and package-lock.json; node_modules/ is created in it. */
  prefix: string;
  /** Extra arguments: --omit=dev, --os/--cpu/--libc. */
  args: string[];
  /** npm's download cache (kept under lambda-cd's cache, so CI keeps it too). */
  cacheDir: string;
  /** What the message names: `package-lock.json`. */
  shown: string;
  step: string;
  what: string;
}

/** `npm ci` with install scripts never run: lambda-cd judges them itself (languages/node/install-scripts.ts). */
export async function npmCi(options: NpmCiOptions): Promise<void> {
  const args = ['ci', '--ignore-scripts', '--install-links', '--no-audit', '--no-fund', '--cache', options.cacheDir, ...options.args];
  const result = await withHeartbeat(options.step, options.what, () => run(NPM, args, { cwd: options.prefix, env: { ...QUIET, npm_config_prefix: undefined, NODE_ENV: undefined } }));
  if (result.exitCode === 0) return;
  throw npmFailure(options.shown, `${result.stderr}\n${result.stdout}`, result.exitCode);
}

/** The one line for a failed `npm ci`. */
export function npmFailure(shown: string, output: string, exitCode: number): Error {
  const errors = output.split('\n').filter((line) => /^npm (error|ERR!)/.test(line)).map((line) => line.replace(/^npm (error|ERR!) ?/, '').trim()).filter(Boolean);
  const text = errors.join('\n');
  if (/can only install packages when your package\.json and package-lock\.json|are in sync|Missing: .* from lock file|Invalid: lock file/i.test(text)) {
    const detail = errors.filter((line) => /^(Missing|Invalid):/.test(line)).slice(0, 2).join('; ');
    return new ConfigError(`${shown}: out of sync with package.json${detail ? ` (${excerpt(detail, { maxLines: 1 })})` : ''}; run npm install and commit the updated package-lock.json (npm ci installs exactly what the lock file says)`);
  }
  if (/ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|ECONNRESET|network|socket hang up|request to .* failed/i.test(text)) {
    return new EnvironmentError(`${shown}: npm could not reach the registry: ${excerpt(errors.find((line) => /ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|ECONNRESET|network|request to/i.test(line)) ?? text, { maxLines: 1 })}`);
  }
  if (/E404|ETARGET|ENOENT|EINTEGRITY|No matching version|could not resolve|ERESOLVE/i.test(text)) {
    return new ConfigError(`${shown}: npm ci cannot install what the lock file names: ${excerpt(text, { maxLines: 2 })}`);
  }
  return new EnvironmentError(`${shown}: npm ci failed (exit ${exitCode})${text ? `: ${excerpt(text, { maxLines: 2, fromEnd: true })}` : ''}`);
}

/**
 * npm's version (part of what a cache entry records); undefined when npm cannot run. Read from
 * the package.json beside the npm on PATH when there is one (asking `npm --version` starts a
 * whole Node.js process), else asked.
 */
export async function npmVersion(): Promise<string | undefined> {
  const beside = npmPackageVersion();
  if (beside) return beside;
  try {
    const result = await run(NPM, ['--version'], { env: QUIET, timeoutMs: 30_000 });
    return result.exitCode === 0 ? result.stdout.trim() : undefined;
  } catch {
    return undefined;
  }
}

/** npm must be there and new enough for --os/--cpu/--libc (npm 10.x). */
export async function requireNpm(step: string): Promise<string> {
  const version = await npmVersion();
  if (version === undefined) throw new EnvironmentError(`${step}: npm is needed for a Node.js function (package.json) and could not be run (${NPM}); install Node.js with npm, or set LAMBDA_CD_NPM`);
  const major = Number(version.split('.')[0]);
  if (!(major >= 10)) throw new EnvironmentError(`${step}: npm ${version} is too old: lambda-cd needs npm 10 or newer to install for Lambda's platform (--os/--cpu/--libc)`);
  return version;
}

/** `npm` on PATH is a link to .../npm/bin/npm-cli.js: the version in .../npm/package.json. */
function npmPackageVersion(): string | undefined {
  if (NPM !== 'npm') return undefined;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    try {
      const real = realpathSync(path.join(dir, 'npm'));
      if (!/[\\/]npm[\\/]bin[\\/]npm-cli\.js$/.test(real)) return undefined;
      const manifest = JSON.parse(readFileSync(path.join(path.dirname(real), '..', 'package.json'), 'utf8')) as { name?: string; version?: string };
      return manifest.name === 'npm' && typeof manifest.version === 'string' ? manifest.version : undefined;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}
