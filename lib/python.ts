/** Python and pip handling shared by the runners. */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, EnvironmentError } from './errors.js';
import { excerpt } from './redact.js';
import { wheelMachine } from './runtimes.js';
import { run, runQuick } from './exec.js';
import {
  cpythonTag, expandTags, explainNoCompatibleWheel, formatTags, lambdaPlatformTags, normalizeProjectName, parseWheelFilename,
  tagsCompatible, type LambdaTarget, type WheelTag,
} from './wheel-tags.js';

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

// ---------------------------------------------------------------------------------------
// Installing requirements for Lambda's platform (lambda-cd package)
// ---------------------------------------------------------------------------------------

/** pip's platform-targeting arguments: only wheels the Lambda runtime and CPU can load. */
export function lambdaPipTargetArgs(target: LambdaTarget): string[] {
  const args = ['--only-binary=:all:', '--implementation', 'cp', '--python-version', target.pythonVersion, '--abi', cpythonTag(target.pythonVersion)];
  for (const platform of lambdaPlatformTags(target)) args.push('--platform', platform);
  return args;
}

/**
 * Runs pip with the environment markers of the Lambda target instead of the build host's.
 * pip's --python-version/--platform pick wheels but leave markers to the running interpreter
 * (pypa/pip#11664), so `exceptiongroup; python_version < "3.11"` or
 * `x; platform_machine == "aarch64"` would be judged for the host: a dependency the function
 * needs silently left out, or one it does not need added. Like pex, we give pip's own
 * `packaging` the target's marker values before pip starts.
 */
const TARGET_MARKERS_PIP = `
import sys
if sys.path and sys.path[0] == "":
    sys.path.pop(0)  # as python -m pip does: a json.py in the repository must not shadow the standard one
import json, runpy
target = json.loads(sys.argv.pop(1))
try:
    from pip._vendor.packaging import markers
    host = markers.default_environment
    def lambda_environment():
        environment = host()
        same_minor = environment.get("python_version") == target["python_version"]
        environment.update(target)
        if same_minor:
            environment["python_full_version"] = environment["implementation_version"] = host()["python_full_version"]
        return environment
    markers.default_environment = lambda_environment
except (ImportError, AttributeError):
    pass
sys.argv[0] = "pip"
runpy.run_module("pip", run_name="__main__", alter_sys=True)
`;

/** `python ARGS` that run pip (`pip install ...`) with markers evaluated for the Lambda target. */
export function lambdaPipCommand(target: LambdaTarget, pipArgs: string[]): string[] {
  const full = `${target.pythonVersion}.0`;
  const markers = {
    python_version: target.pythonVersion, python_full_version: full, implementation_version: full,
    implementation_name: 'cpython', platform_python_implementation: 'CPython',
    platform_machine: wheelMachine(target.architecture), sys_platform: 'linux', platform_system: 'Linux', os_name: 'posix',
  };
  return ['-c', TARGET_MARKERS_PIP, JSON.stringify(markers), ...pipArgs];
}

/** The version of pip that `python` runs (part of the package cache key). Exit 3 when there is none. */
export async function pipVersion(python: string): Promise<string> {
  const result = await runQuick(python, ['-c', 'import sys, pip; print(pip.__version__, "%d.%d" % sys.version_info[:2])']);
  if (result.exitCode !== 0) throw new EnvironmentError(`${python}: pip is not available (${result.stderr.trim().split('\n').pop() ?? 'import pip failed'})`);
  return result.stdout.trim();
}

export interface InstalledDistribution {
  name: string;
  version: string;
  /** Compressed tag set from dist-info/WHEEL, e.g. `cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64`. */
  wheelTag: string;
  tags: WheelTag[];
  /** Files the distribution installed (RECORD), relative to the install folder, POSIX. */
  files: string[];
  distInfo: string;
}

function header(text: string, field: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(`${field}:`)).map((line) => line.slice(field.length + 1).trim());
}

/** First CSV field of each RECORD line (paths with commas are quoted). */
function recordPaths(record: string): string[] {
  return record.split('\n').filter(Boolean).map((line) => {
    if (!line.startsWith('"')) return line.slice(0, line.indexOf(',') === -1 ? undefined : line.indexOf(','));
    const end = line.indexOf('",');
    return line.slice(1, end === -1 ? undefined : end).replace(/""/g, '"');
  });
}

/** Every distribution pip installed into `siteDir` (read from its *.dist-info). */
export async function readInstalledDistributions(siteDir: string): Promise<InstalledDistribution[]> {
  const entries = existsSync(siteDir) ? await readdir(siteDir) : [];
  const distributions: InstalledDistribution[] = [];
  for (const distInfo of entries.filter((entry) => entry.endsWith('.dist-info')).sort()) {
    const read = (file: string) => readFile(path.join(siteDir, distInfo, file), 'utf8').catch(() => '');
    const [metadata, wheel, record] = await Promise.all([read('METADATA'), read('WHEEL'), read('RECORD')]);
    const tags = header(wheel, 'Tag').flatMap(expandTags);
    distributions.push({
      name: header(metadata, 'Name')[0] ?? distInfo.replace(/-[^-]*\.dist-info$/, ''),
      version: header(metadata, 'Version')[0] ?? distInfo.replace(/^.*-|\.dist-info$/g, ''),
      wheelTag: tags.length > 0 ? formatTags(tags) : 'unknown',
      tags,
      files: recordPaths(record).map((file) => path.posix.normalize(file)).filter((file) => !file.startsWith('../')),
      distInfo,
    });
  }
  return distributions;
}

/** Re-checks what pip installed: a wheel Lambda cannot load is a ConfigError naming it. */
export function verifyInstalledWheels(distributions: InstalledDistribution[], target: LambdaTarget, runtime: string): void {
  for (const distribution of distributions) {
    if (distribution.tags.length === 0) throw new ConfigError(`requirements.txt: ${distribution.name} ${distribution.version}: installed without a WHEEL file naming its tags, so lambda-cd cannot tell whether Lambda (${runtime}, ${target.architecture}) can load it`);
    if (!tagsCompatible(distribution.tags, target)) {
      throw new ConfigError(`requirements.txt: ${distribution.name} ${distribution.version}: the installed wheel (${distribution.wheelTag}) does not load on Lambda (${runtime}, ${target.architecture}): ${explainNoCompatibleWheel([`x-0-${distribution.wheelTag}.whl`], target, runtime)}`);
    }
  }
}

const NETWORK_FAILURE = /ConnectionError|Failed to establish a new connection|Max retries exceeded|ProxyError|SSLError|Read timed out|Temporary failure in name resolution/;

/** A URL as it may be shown: without user and password. */
function redactUrl(url: string): string {
  return url.replace(/\/\/[^/@\s]*@/, '//');
}

/** The project name of a requirement specifier (`Foo[bar]>=1; python_version>"3"` -> `Foo`). */
export function requirementName(spec: string): string {
  return spec.trim().split(/[\s\[<>=!~;@(]/)[0] ?? spec;
}

export interface LambdaInstallRequest {
  python: string;
  requirementsFile: string;
  /** How requirements.txt is named in messages. */
  requirementsLabel: string;
  targetDir: string;
  target: LambdaTarget;
  runtime: string;
  pip: PipOptions;
  /** Build pure-Python wheels from sdists when no wheel fits. */
  allowSdist: boolean;
  /** Where wheels built from sdists go (a find-links folder for the install). */
  sdistWheelDir: string;
}

/**
 * `pip install --target` for the Lambda target. pip's configuration and PIP_* variables
 * apply; `--require-hashes` follows from `--hash` pins in the file (pip does that itself).
 * Failures: a requirement that cannot be met for the target is a ConfigError naming it and
 * why; pip or the network failing is an EnvironmentError.
 */
export async function installForLambda(request: LambdaInstallRequest): Promise<void> {
  const built = new Set<string>();
  for (;;) {
    const findLinks = built.size > 0 ? [...request.pip.findLinks, request.sdistWheelDir] : request.pip.findLinks;
    const args = lambdaPipCommand(request.target, ['install', '--target', request.targetDir, '--no-compile', '--no-warn-script-location', '--progress-bar', 'off',
      ...lambdaPipTargetArgs(request.target), ...pipSourceArgs({ ...request.pip, findLinks }), '-r', request.requirementsFile]);
    // From the repository root, as unit-test runs pip: local paths in requirements.txt mean the same for both.
    const result = await run(request.python, args, { cwd: path.dirname(request.requirementsFile) });
    if (result.exitCode === 0) return;
    const output = `${result.stdout}\n${result.stderr}`;
    const missing = /No matching distribution found for (.+)$/m.exec(output)?.[1]?.trim();
    // pip says only "no matching distribution" even when an index was unreachable: ask which files exist.
    if (!missing) throw pipFailure(result.stderr, request.requirementsLabel);
    const name = requirementName(missing);
    const offered = await offeredFiles(request, missing);
    if (offered.files.length === 0 && offered.unreachable) {
      throw new EnvironmentError(`pip could not reach ${offered.unreachable} while looking for ${missing} (check --index-url/--find-links, PIP_INDEX_URL and pip.conf, and the network)`);
    }
    const reason = offered.versions ?? explainNoCompatibleWheel(offered.files, request.target, request.runtime);
    const onlySdist = offered.files.some(isSdist) && !built.has(normalizeProjectName(name));
    if (request.allowSdist && onlySdist && offered.versions === undefined) {
      await buildPureWheel(request, missing, readFileSync(request.requirementsFile, 'utf8').includes('--hash'));
      built.add(normalizeProjectName(name));
      continue;
    }
    const hint = onlySdist && !request.allowSdist && /sdist/.test(reason) ? ' (--allow-sdist builds it if it is pure Python)' : '';
    throw new ConfigError(`${request.requirementsLabel}: ${missing}${mentions(request.requirementsFile, name) ? '' : ' (a dependency of your requirements)'}: no wheel Lambda can load (${request.runtime}, ${request.target.architecture}): ${reason}${hint}`);
  }
}

function isSdist(file: string): boolean {
  return /\.(tar\.gz|zip|tar\.bz2|tgz)$/.test(file);
}

function mentions(requirementsFile: string, name: string): boolean {
  const wanted = normalizeProjectName(name);
  return readFileSync(requirementsFile, 'utf8').split('\n').some((line) => normalizeProjectName(requirementName(line.replace(/#.*/, ''))) === wanted);
}

/** A failed pip run as the right error: the user's requirements (exit 2) or pip/network (exit 3). */
export function pipFailure(stderr: string, label: string): Error {
  const lines = stderr.split('\n').map((line) => line.trim()).filter(Boolean);
  const errors = lines.filter((line) => line.startsWith('ERROR:')).map((line) => line.replace(/^ERROR:\s*/, ''));
  // pip echoes the offending line, which may be anything a file held: mask and cut it.
  const summary = excerpt((errors.length > 0 ? errors.slice(0, 3) : lines.slice(-2)).join('\n'), { maxLines: 3 });
  if (NETWORK_FAILURE.test(stderr)) return new EnvironmentError(`pip could not reach the package index: ${summary} (check --index-url/--find-links, PIP_INDEX_URL and pip.conf)`);
  const userProblem = /ResolutionImpossible|conflicting dependencies|DO NOT MATCH THE HASHES|Hashes are required in --require-hashes mode|--require-hashes mode, all requirements must have their versions pinned|Invalid requirement|Could not open requirements file|Double requirement given|No matching distribution found/.test(stderr);
  return userProblem ? new ConfigError(`${label}: ${summary}`) : new EnvironmentError(`pip install failed: ${summary}`);
}

/**
 * The files the configured index and find-links offer for `spec`, as pip sees them: pip
 * logs every file it skips and why at -vv; we judge those file names ourselves.
 * `versions` is set when files fit but no version matches the specifier.
 */
async function offeredFiles(request: LambdaInstallRequest, spec: string): Promise<{ files: string[]; versions?: string; unreachable?: string }> {
  const scratch = await mkdtemp(path.join(tmpdir(), 'lambda-cd-offered-'));
  try {
    const result = await run(request.python, lambdaPipCommand(request.target, ['download', '--no-deps', '--dest', scratch, '-vv', '--progress-bar', 'off',
      ...lambdaPipTargetArgs(request.target), ...pipSourceArgs(request.pip), spec]), { cwd: path.dirname(request.requirementsFile) });
    const output = `${result.stdout}\n${result.stderr}`;
    const wanted = normalizeProjectName(requirementName(spec));
    // `  Skipping link: <reason>: <url>[ (from <index page>)]`
    const files = [...output.matchAll(/^\s*Skipping link: (.*)$/gm)]
      .map((match) => match[1]!.replace(/\s+\(from \S+\)\s*$/, '').trim().split(/\s+/).pop() ?? '')
      .map((url) => decodeURIComponent(url.split('#')[0]!.split('/').pop() ?? ''))
      .filter((file) => normalizeProjectName(file.replace(/-\d.*$/, '')) === wanted);
    const versions = /\(from versions: ([^)]+)\)/.exec(output)?.[1];
    const matchingVersionMissing = files.length === 0 && versions !== undefined && versions !== 'none';
    const fetchFailure = /^Could not fetch URL (\S+?):? (.*?)(?: - skipping)?$/m.exec(output);
    return {
      files: [...new Set(files)],
      versions: matchingVersionMissing ? `no version matching it among the compatible ones (${versions})` : undefined,
      unreachable: fetchFailure ? `${redactUrl(fetchFailure[1]!)} (${fetchFailure[2]!.split(':')[0]})` : undefined,
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** --allow-sdist: builds `spec` from its sdist and insists the result is pure Python. */
async function buildPureWheel(request: LambdaInstallRequest, spec: string, hashed: boolean): Promise<void> {
  if (hashed) throw new ConfigError(`${request.requirementsLabel}: ${spec}: only a source distribution fits, and a wheel built from it cannot match the --hash pins; pin a wheel instead`);
  await mkdir(request.sdistWheelDir, { recursive: true });
  const before = new Set(await readdir(request.sdistWheelDir));
  const name = requirementName(spec);
  const result = await run(request.python, ['-m', 'pip', 'wheel', '--no-deps', '--no-binary', name, '--wheel-dir', request.sdistWheelDir, '--progress-bar', 'off', ...pipSourceArgs(request.pip), spec], { cwd: path.dirname(request.requirementsFile) });
  if (result.exitCode !== 0) {
    const tail = result.stderr.trim().split('\n').filter((line) => line.startsWith('ERROR') || /error/i.test(line)).slice(-2).join(' | ');
    throw new ConfigError(`${request.requirementsLabel}: ${spec}: building it from its sdist (--allow-sdist) failed: ${tail || `pip wheel exited ${result.exitCode}`}`);
  }
  const wheel = (await readdir(request.sdistWheelDir)).find((file) => !before.has(file) && parseWheelFilename(file)?.name === normalizeProjectName(name));
  const parsed = wheel ? parseWheelFilename(wheel) : undefined;
  if (!parsed) throw new ConfigError(`${request.requirementsLabel}: ${spec}: building it from its sdist (--allow-sdist) produced no wheel`);
  if (!parsed.tags.every((tag) => tag.abi === 'none' && tag.platform === 'any')) {
    await rm(path.join(request.sdistWheelDir, wheel!), { force: true });
    throw new ConfigError(`${request.requirementsLabel}: ${spec}: built from its sdist (--allow-sdist), but the result is not pure Python (${formatTags(parsed.tags)}): it needs a wheel built for Lambda's platform`);
  }
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
