/** Python and pip handling shared by the runners. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, EnvironmentError } from './errors.js';
import { excerpt } from './redact.js';
import { runQuick } from './exec.js';
import { cpythonTag, lambdaPlatformTags, type LambdaTarget } from './wheel-tags.js';

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

/** pip's platform-targeting arguments: only wheels the Lambda runtime and CPU can load. */
export function lambdaPipTargetArgs(target: LambdaTarget): string[] {
  const args = ['--only-binary=:all:', '--implementation', 'cp', '--python-version', target.pythonVersion, '--abi', cpythonTag(target.pythonVersion)];
  for (const platform of lambdaPlatformTags(target)) args.push('--platform', platform);
  return args;
}

/** The version of pip that `python` runs (part of the package cache key). Exit 3 when there is none. */
export async function pipVersion(python: string): Promise<string> {
  const result = await runQuick(python, ['-c', 'import sys, pip; print(pip.__version__, "%d.%d" % sys.version_info[:2])']);
  if (result.exitCode !== 0) throw new EnvironmentError(`${python}: pip is not available (${result.stderr.trim().split('\n').pop() ?? 'import pip failed'})`);
  return result.stdout.trim();
}

const NETWORK_FAILURE = /ConnectionError|Failed to establish a new connection|Max retries exceeded|ProxyError|SSLError|Read timed out|Temporary failure in name resolution/;

/** The project name of a requirement specifier (`Foo[bar]>=1; python_version>"3"` -> `Foo`). */
export function requirementName(spec: string): string {
  return spec.trim().split(/[\s\[<>=!~;@(]/)[0] ?? spec;
}

/**
 * A failed pip run as the right error: the user's requirements (exit 2) or pip/network (exit 3).
 * "Could not find a version that satisfies" means an index answered; it is "could not reach"
 * only when no index listed a version and a connection failed.
 */
export function pipFailure(stderr: string, label: string): Error {
  const lines = stderr.split('\n').map((line) => line.trim()).filter(Boolean);
  const errors = lines.filter((line) => line.startsWith('ERROR:')).map((line) => line.replace(/^ERROR:\s*/, ''));
  // pip echoes the offending line, which may be anything a file held: mask and cut it.
  const summary = excerpt((errors.length > 0 ? errors.slice(0, 3) : lines.slice(-2)).join('\n'), { maxLines: 3 });
  const unreachable = new EnvironmentError(`pip could not reach the package index: ${summary} (check --index-url/--find-links, PIP_INDEX_URL and pip.conf)`);
  const versions = /Could not find a version that satisfies the requirement .*\(from versions: ([^)]*)\)/.exec(stderr)?.[1];
  if (versions !== undefined) return versions.trim() === 'none' && NETWORK_FAILURE.test(stderr) ? unreachable : new ConfigError(`${label}: ${summary}`);
  if (NETWORK_FAILURE.test(errors.length > 0 ? errors.join('\n') : stderr)) return unreachable;
  const userProblem = /ResolutionImpossible|conflicting dependencies|DO NOT MATCH THE HASHES|Hashes are required in --require-hashes mode|--require-hashes mode, all requirements must have their versions pinned|Invalid requirement|Could not open requirements file|Double requirement given|No matching distribution found/.test(stderr);
  return userProblem ? new ConfigError(`${label}: ${summary}`) : new EnvironmentError(`pip install failed: ${summary}`);
}

/**
 * Files a requirements file pulls in with -r/-c, and the ones those pull in (paths relative to
 * the including file, as pip reads them). Their bytes decide an install as much as its own.
 */
export function includedRequirementFiles(requirementsFile: string, seen = new Set<string>([path.resolve(requirementsFile)])): string[] {
  const text = existsSync(requirementsFile) ? readFileSync(requirementsFile, 'utf8') : '';
  const found: string[] = [];
  for (const match of text.matchAll(/^\s*(?:-r|-c|--requirement|--constraint)(?:\s*=\s*|\s+)(\S+)/gm)) {
    const file = path.resolve(path.dirname(requirementsFile), match[1]!);
    if (seen.has(file)) continue;
    seen.add(file);
    found.push(file, ...includedRequirementFiles(file, seen));
  }
  return found;
}

/** True when a requirements file asks for anything (not only blank lines and comments). */
export function hasRequirements(text: string): boolean {
  return text.split(/\r?\n/).some((line) => line.replace(/(^|\s)#.*$/, '').trim() !== '');
}

/** PYTHONPATH with `dirs` first and the caller's own PYTHONPATH, if any, after them. */
export function prependPythonPath(dirs: string[]): string {
  return [...dirs, ...(process.env.PYTHONPATH ? [process.env.PYTHONPATH] : [])].join(path.delimiter);
}
