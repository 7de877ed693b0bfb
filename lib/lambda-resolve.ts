/**
 * pip as the resolver for `lambda-cd package`: which wheels, for the function's Runtime and
 * Architecture, and where they are. pip installs nothing: `pip install --dry-run --report`
 * with Lambda's platform tags (`--only-binary=:all:`, manylinux up to the runtime's glibc,
 * markers judged for the target), so pip's configuration, indexes, hash-checking mode and
 * resolver all apply, and lambda-cd writes the zip from the wheel files itself.
 * A requirement that cannot be met is a ConfigError naming it and why (from the files the
 * sources offer, lib/wheel-tags.ts); pip or the network failing is an EnvironmentError.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, EnvironmentError } from './errors.js';
import { run } from './exec.js';
import type { PipReport } from './package-pip-identity.js';
import { lambdaPipTargetArgs, pipFailure, pipSourceArgs, requirementName, type PipOptions } from './python.js';
import { excerpt, safeName } from './redact.js';
import type { RequirementInputs, RequirementLine } from './requirement-inputs.js';
import { wheelMachine } from './runtimes.js';
import {
  explainNoCompatibleWheel, formatTags, normalizeProjectName, parseWheelFilename, tagsCompatible, type LambdaTarget, type WheelTag,
} from './wheel-tags.js';

/**
 * Runs pip with the environment markers of the Lambda target instead of the build host's.
 * pip's --python-version/--platform pick wheels but leave markers to the running interpreter
 * (pypa/pip#11664), so `exceptiongroup; python_version < "3.11"` or
 * `x; platform_machine == "aarch64"` would be judged for the host: a dependency the function
 * needs silently left out, or one it does not need added. Like pex, we give pip's own
 * `packaging` the target's marker values before pip starts.
 * With an `order` file, the resolver also writes the order pip would install in (a later
 * wheel's file replaces an earlier one's of the same name) and pip's and Python's versions
 * (what the cache records, without starting Python once more). pip 23's re-parse of every
 * requirement only to warn about legacy version strings (a third of a resolve) is skipped.
 */
const TARGET_MARKERS_PIP = `
import sys
if sys.path and sys.path[0] == "":
    sys.path.pop(0)  # as python -m pip does: a json.py in the repository must not shadow the standard one
import json, os, runpy
config = json.loads(sys.argv.pop(1))
target = config["markers"]
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
if config.get("order"):
    try:
        from pip._internal.req.req_set import RequirementSet
        if hasattr(RequirementSet, "warn_legacy_versions_and_specifiers"):
            RequirementSet.warn_legacy_versions_and_specifiers = lambda self: None
        from pip._internal.resolution.resolvelib.resolver import Resolver
        resolve = Resolver.resolve
        def resolve_and_record(self, *args, **kwargs):
            result = resolve(self, *args, **kwargs)
            try:
                import pip as pip_module
                import site
                written = json.dumps({"order": [r.name for r in self.get_installation_order(result)],
                                      "pip": "%s %d.%d" % (pip_module.__version__, sys.version_info[0], sys.version_info[1]),
                                      "identity": {"executable": sys.executable, "pipFile": os.path.abspath(pip_module.__file__),
                                                   "userSite": site.getusersitepackages() if site.ENABLE_USER_SITE else None}})
                with open(config["order"], "w") as out:
                    out.write(written)
            except Exception:
                pass
            return result
        Resolver.resolve = resolve_and_record
    except (ImportError, AttributeError):
        pass
sys.argv[0] = "pip"
runpy.run_module("pip", run_name="__main__", alter_sys=True)
`;

/** `python ARGS` that run pip (`pip install ...`) with markers evaluated for the Lambda target. */
export function lambdaPipCommand(target: LambdaTarget, pipArgs: string[], orderFile?: string): string[] {
  const markers = lambdaMarkers(target);
  return ['-c', TARGET_MARKERS_PIP, JSON.stringify({ markers, order: orderFile }), '--disable-pip-version-check', ...pipArgs];
}

/**
 * The marker values pip is given for the target. python_full_version and implementation_version
 * become the host's when its minor version is the target's (TARGET_MARKERS_PIP), and
 * platform_release/platform_version stay the host's.
 */
export function lambdaMarkers(target: LambdaTarget): Record<string, string> {
  const full = `${target.pythonVersion}.0`;
  return {
    python_version: target.pythonVersion, python_full_version: full, implementation_version: full,
    implementation_name: 'cpython', platform_python_implementation: 'CPython',
    platform_machine: wheelMachine(target.architecture), sys_platform: 'linux', platform_system: 'Linux', os_name: 'posix',
  };
}

export interface LambdaResolveRequest {
  python: string;
  requirementsFile: string;
  /** How requirements.txt is named in messages. */
  requirementsLabel: string;
  inputs: RequirementInputs;
  target: LambdaTarget;
  runtime: string;
  pip: PipOptions;
  /** Build pure-Python wheels from sdists when no wheel fits. */
  allowSdist: boolean;
  /** A folder of this run's own (report, built and downloaded wheels). */
  scratch: string;
}

/** One wheel of the resolved set, as a local file. */
export interface ResolvedWheel {
  name: string;
  version: string;
  file: string;
  /** What pip resolved (the index's hash, or pip's own of a local file); undefined for wheels built here. */
  sha256?: string;
  /** Named by the user (pip writes REQUESTED for these). */
  requested: boolean;
}

interface ReportItem {
  metadata?: { name?: string; version?: string };
  requested?: boolean;
  download_info?: { url?: string; archive_info?: { hash?: string; hashes?: Record<string, string> }; dir_info?: unknown; vcs_info?: { vcs?: string; commit_id?: string } };
}

/**
 * The wheels pip would install for `requirementsFile` on the Lambda target, in pip's install
 * order, each as a local file: find-links and file:// indexes as they are, remote wheels
 * downloaded by pip, local projects and (with --allow-sdist) sdists and VCS checkouts built.
 */
export async function resolveForLambda(request: LambdaResolveRequest): Promise<{ wheels: ResolvedWheel[]; pip?: string; pipReport?: PipReport }> {
  if (request.inputs.vcs.length > 0 && !request.allowSdist) {
    const line = request.inputs.vcs[0]!;
    throw new ConfigError(`${where(line)}: ${safeName(line.text)}: a VCS requirement is built from source; VCS requirements need --allow-sdist (pure Python only) or a wheel (pin the package from an index, or vendor its wheel)`);
  }
  const built = new Set<string>();
  const sdistWheels = path.join(request.scratch, 'sdist-wheels');
  const report = path.join(request.scratch, 'report.json');
  const order = path.join(request.scratch, 'order.json');
  for (;;) {
    const findLinks = built.size > 0 ? [...request.pip.findLinks, sdistWheels] : request.pip.findLinks;
    const args = lambdaPipCommand(request.target, ['install', '--dry-run', '--ignore-installed', '--target', path.join(request.scratch, 'unused-target'), '--report', report,
      '--no-warn-script-location', '--progress-bar', 'off', ...lambdaPipTargetArgs(request.target), ...pipSourceArgs({ ...request.pip, findLinks }), '-r', request.requirementsFile], order);
    // From the repository root, as unit-test runs pip: local paths in requirements.txt mean the same for both.
    const result = await run(request.python, args, { cwd: path.dirname(request.requirementsFile) });
    if (result.exitCode === 0) {
      const written = await readOrder(order);
      return { wheels: await localWheels(request, await readReport(report), written.order), pip: written.pip, pipReport: written.identity };
    }
    const output = `${result.stdout}\n${result.stderr}`;
    const missing = /No matching distribution found for (.+)$/m.exec(output)?.[1]?.trim();
    // pip says only "no matching distribution" even when an index was unreachable: ask which files exist.
    if (!missing) throw pipFailure(result.stderr, request.requirementsLabel);
    const name = requirementName(missing);
    const offered = await offeredFiles(request, missing);
    if (offered.files.length === 0 && offered.unreachable) {
      throw new EnvironmentError(`pip could not reach ${offered.unreachable}${givenIn(request.inputs.indexUrls, offered.unreachable)} while looking for ${safeName(missing)} (check --index-url/--find-links, PIP_INDEX_URL and pip.conf, and the network)`);
    }
    const reason = offered.versions ?? explainNoCompatibleWheel(offered.files, request.target, request.runtime);
    const onlySdist = offered.files.some(isSdist) && !built.has(normalizeProjectName(name));
    if (request.allowSdist && onlySdist && offered.versions === undefined) {
      await buildPureWheel(request, missing, sdistWheels, request.inputs.requirements.some((line) => /(^|\s)--hash[=\s]/.test(line.text)));
      built.add(normalizeProjectName(name));
      continue;
    }
    const hint = onlySdist && !request.allowSdist && /sdist/.test(reason) ? ' (--allow-sdist builds it if it is pure Python)' : '';
    throw new ConfigError(`${request.requirementsLabel}: ${safeName(missing)}${mentions(request.inputs, name) ? '' : ' (a dependency of your requirements)'}: no wheel Lambda can load (${request.runtime}, ${request.target.architecture}): ${reason}${hint}`);
  }
}

function where(line: RequirementLine): string {
  return `${path.basename(line.file)} line ${line.line}`;
}

/** ` (the --index-url of requirements.txt line 2)` when `url` is one a requirements file gave. */
function givenIn(indexUrls: RequirementLine[], url: string): string {
  const line = indexUrls.find((candidate) => url.startsWith(redactUrl(candidate.text).replace(/\/+$/, '')));
  return line ? ` (the index given in ${where(line)})` : '';
}

async function readReport(file: string): Promise<ReportItem[]> {
  try {
    const report = JSON.parse(await readFile(file, 'utf8')) as { install?: ReportItem[] };
    if (!Array.isArray(report.install)) throw new Error('no install list');
    return report.install;
  } catch (error) {
    throw new EnvironmentError(`pip's resolution report is unreadable (${(error as Error).message}); pip 22.2 or newer is needed`);
  }
}

async function readOrder(file: string): Promise<{ order: string[]; pip?: string; identity?: PipReport }> {
  try {
    const written = JSON.parse(await readFile(file, 'utf8')) as { order: string[]; pip: string; identity?: PipReport };
    return { order: written.order.map(normalizeProjectName), pip: typeof written.pip === 'string' ? written.pip : undefined, identity: typeof written.identity === 'object' && written.identity !== null ? written.identity : undefined };
  } catch {
    return { order: [] }; // an older or newer pip: the report's order stands
  }
}

/** The report's items as local wheel files, in install order. */
async function localWheels(request: LambdaResolveRequest, items: ReportItem[], order: string[]): Promise<ResolvedWheel[]> {
  const rank = (item: ReportItem) => {
    const index = order.indexOf(normalizeProjectName(item.metadata?.name ?? ''));
    return index === -1 ? order.length : index;
  };
  const sorted = [...items].sort((a, b) => rank(a) - rank(b));
  const wheels: ResolvedWheel[] = [];
  const remote: { item: ReportItem; index: number }[] = [];
  for (const item of sorted) {
    const name = item.metadata?.name ?? '?';
    const version = item.metadata?.version ?? '?';
    const info = item.download_info ?? {};
    const url = info.url ?? '';
    const sha256 = info.archive_info?.hashes?.sha256 ?? /^sha256=([0-9a-f]{64})$/.exec(info.archive_info?.hash ?? '')?.[1];
    const wheel: ResolvedWheel = { name, version, file: '', sha256, requested: item.requested === true };
    const isWheel = /\.whl$/i.test(url.split('#')[0]!);
    if (info.archive_info && isWheel && /^file:/i.test(url)) wheel.file = fileURLToPath(url.split('#')[0]!);
    else if (info.archive_info && isWheel) remote.push({ item, index: wheels.length });
    else Object.assign(wheel, { file: await buildWheel(request, item, path.join(request.scratch, `built-${wheels.length}`)), sha256: undefined });
    wheels.push(wheel);
  }
  if (remote.length > 0) {
    const files = await downloadWheels(request, remote.map(({ item }) => `${item.metadata?.name}==${item.metadata?.version}`));
    for (const { item, index } of remote) {
      const file = files.find((candidate) => {
        const parsed = parseWheelFilename(path.basename(candidate));
        return parsed?.name === normalizeProjectName(item.metadata?.name ?? '') && parsed.version === item.metadata?.version;
      });
      if (!file) throw new EnvironmentError(`pip resolved ${item.metadata?.name} ${item.metadata?.version} from ${redactUrl(item.download_info?.url ?? '?')} but did not download it`);
      wheels[index]!.file = file;
    }
  }
  return wheels;
}

/** A side pip run that must see the index options the requirements files give: those options in a file of their own. */
async function optionsFile(request: LambdaResolveRequest, lines: string[]): Promise<string> {
  const file = path.join(request.scratch, `options-${Math.random().toString(16).slice(2)}.txt`);
  await mkdir(request.scratch, { recursive: true });
  await writeFile(file, [...request.inputs.optionLines.map((line) => line.text), ...lines, ''].join('\n'));
  return file;
}

/** Remote wheels: pip downloads them (its authentication, proxies, certificates and cache apply). */
async function downloadWheels(request: LambdaResolveRequest, pins: string[]): Promise<string[]> {
  const dest = path.join(request.scratch, 'downloads');
  const args = lambdaPipCommand(request.target, ['download', '--no-deps', '--dest', dest, '--progress-bar', 'off', ...lambdaPipTargetArgs(request.target), ...pipSourceArgs(request.pip),
    '-r', await optionsFile(request, pins)]);
  const result = await run(request.python, args, { cwd: path.dirname(request.requirementsFile) });
  if (result.exitCode !== 0) throw pipFailure(result.stderr, request.requirementsLabel);
  return (await readdir(dest)).map((file) => path.join(dest, file));
}

/** A local project folder, an sdist named directly, or (with --allow-sdist) a VCS checkout, built into a wheel. */
async function buildWheel(request: LambdaResolveRequest, item: ReportItem, into: string): Promise<string> {
  const info = item.download_info ?? {};
  const url = info.url ?? '';
  const vcs = info.vcs_info?.vcs;
  const spec = vcs ? `${vcs}+${url}${info.vcs_info?.commit_id ? `@${info.vcs_info.commit_id}` : ''}` : /^file:/i.test(url) ? fileURLToPath(url) : url;
  const label = `${item.metadata?.name ?? '?'} ${item.metadata?.version ?? ''}`.trim();
  if (!info.dir_info && !request.allowSdist) {
    throw new ConfigError(`${request.requirementsLabel}: ${safeName(label)}: only a source distribution (${safeName(redactUrl(url))}) is given; --allow-sdist builds it if it is pure Python, or name a wheel`);
  }
  await mkdir(into, { recursive: true });
  const result = await run(request.python, ['-m', 'pip', 'wheel', '--no-deps', '--wheel-dir', into, '--progress-bar', 'off', '--disable-pip-version-check', ...pipSourceArgs(request.pip), spec], { cwd: path.dirname(request.requirementsFile) });
  const wheel = (await readdir(into)).find((file) => file.endsWith('.whl'));
  if (result.exitCode !== 0 || !wheel) {
    throw new ConfigError(`${request.requirementsLabel}: ${safeName(label)}: building a wheel from ${safeName(redactUrl(vcs ? url : spec))} failed: ${excerpt(result.stderr, { maxLines: 2, fromEnd: true }) || `pip wheel exited ${result.exitCode}`}`);
  }
  return path.join(into, wheel);
}

const isSdist = (file: string) => /\.(tar\.gz|zip|tar\.bz2|tgz)$/.test(file);

function mentions(inputs: RequirementInputs, name: string): boolean {
  const wanted = normalizeProjectName(name);
  return inputs.requirements.some((line) => normalizeProjectName(requirementName(line.text)) === wanted);
}

/** A URL as it may be shown: without user and password. */
function redactUrl(url: string): string {
  return url.replace(/\/\/[^/@\s]*@/, '//');
}

/**
 * The files the configured index and find-links offer for `spec`, as pip sees them: pip
 * logs every file it skips and why at -vv; we judge those file names ourselves.
 * `versions` is set when files fit but no version matches the specifier.
 */
async function offeredFiles(request: LambdaResolveRequest, spec: string): Promise<{ files: string[]; versions?: string; unreachable?: string }> {
  const scratch = await mkdtemp(path.join(tmpdir(), 'lambda-cd-offered-'));
  try {
    const result = await run(request.python, lambdaPipCommand(request.target, ['download', '--no-deps', '--dest', scratch, '-vv', '--progress-bar', 'off',
      ...lambdaPipTargetArgs(request.target), ...pipSourceArgs(request.pip), '-r', await optionsFile(request, []), spec]), { cwd: path.dirname(request.requirementsFile) });
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
      versions: matchingVersionMissing ? `no version matching it among the compatible ones (${safeName(versions)})` : undefined,
      unreachable: fetchFailure ? `${safeName(redactUrl(fetchFailure[1]!))} (${safeName(fetchFailure[2]!.split(':')[0]!)})` : undefined,
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** --allow-sdist: builds `spec` from its sdist and insists the result is pure Python. */
async function buildPureWheel(request: LambdaResolveRequest, spec: string, into: string, hashed: boolean): Promise<void> {
  const shown = safeName(spec);
  if (hashed) throw new ConfigError(`${request.requirementsLabel}: ${shown}: only a source distribution fits, and a wheel built from it cannot match the --hash pins; pin a wheel instead`);
  await mkdir(into, { recursive: true });
  const before = new Set(await readdir(into));
  const name = requirementName(spec);
  const result = await run(request.python, ['-m', 'pip', 'wheel', '--no-deps', '--no-binary', name, '--wheel-dir', into, '--progress-bar', 'off', '--disable-pip-version-check', ...pipSourceArgs(request.pip),
    '-r', await optionsFile(request, []), spec], { cwd: path.dirname(request.requirementsFile) });
  if (result.exitCode !== 0) {
    const tail = excerpt(result.stderr.trim().split('\n').filter((line) => line.startsWith('ERROR') || /error/i.test(line)).slice(-2).join('\n'), { maxLines: 2 });
    throw new ConfigError(`${request.requirementsLabel}: ${shown}: building it from its sdist (--allow-sdist) failed: ${tail || `pip wheel exited ${result.exitCode}`}`);
  }
  const wheel = (await readdir(into)).find((file) => !before.has(file) && parseWheelFilename(file)?.name === normalizeProjectName(name));
  const parsed = wheel ? parseWheelFilename(wheel) : undefined;
  if (!parsed) throw new ConfigError(`${request.requirementsLabel}: ${shown}: building it from its sdist (--allow-sdist) produced no wheel`);
  if (!parsed.tags.every((tag) => tag.abi === 'none' && tag.platform === 'any')) {
    await rm(path.join(into, wheel!), { force: true });
    throw new ConfigError(`${request.requirementsLabel}: ${shown}: built from its sdist (--allow-sdist), but the result is not pure Python (${formatTags(parsed.tags)}): it needs a wheel built for Lambda's platform`);
  }
}

/** A wheel as the tag check sees it. */
export interface WheelIdentity {
  name: string;
  version: string;
  wheelTag: string;
  tags: WheelTag[];
}

/** Re-checks each wheel's dist-info/WHEEL tags (whatever its file name claimed): one Lambda cannot load is a ConfigError naming it. */
export function verifyWheelTags(wheels: WheelIdentity[], target: LambdaTarget, runtime: string, label = 'requirements.txt'): void {
  for (const wheel of wheels) {
    if (wheel.tags.length > 0 && tagsCompatible(wheel.tags, target)) continue;
    const name = `${safeName(wheel.name)} ${safeName(wheel.version)}`;
    if (wheel.tags.length === 0) throw new ConfigError(`${label}: ${name}: installed without a WHEEL file naming its tags, so lambda-cd cannot tell whether Lambda (${runtime}, ${target.architecture}) can load it`);
    if (!tagsCompatible(wheel.tags, target)) {
      throw new ConfigError(`${label}: ${name}: the installed wheel (${safeName(wheel.wheelTag)}) does not load on Lambda (${runtime}, ${target.architecture}): ${explainNoCompatibleWheel([`x-0-${wheel.wheelTag}.whl`], target, runtime)}`);
    }
  }
}
