/**
 * The packages tests need, installed with `pip install --target` into a cache folder of their
 * own: never into the interpreter's site-packages, never into the deployment package.
 *
 * As in 2018, every requirements file is its own pip run into its own folder (so a hash-pinned
 * file and one without pins, or an old pin of the function and an unpinned test tool that wants
 * newer versions, all install), and the folders go on PYTHONPATH in the order Lambda would see
 * them: the function's requirements.txt (what ships in the zip), then the AWS SDK its Runtime
 * carries (boto3, botocore at lib/runtime-sdk.ts's versions, unless the repository names its
 * own), then the test folder's requirements. The tests import exactly the versions that ship, and
 * a warning names each requirement that this shadowing breaks. The function's requirements are
 * installed for Lambda's platform when this interpreter can load those wheels (same CPython
 * minor, glibc); a warning says when it cannot.
 *
 * Each cache folder is named after everything that decides its contents (each requirements file
 * and whatever local it names, by content; the interpreter; pip's sources and settings; the
 * runtime) and holds a record of its files (sizes, sha256) that is checked before every reuse:
 * a folder left by a killed run, restored incomplete or changed is discarded and reinstalled.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, realpath, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cacheFailure, removeAbandonedTemporaries } from '../../lib/atomic.js';
import { recordFolder, verifyFolder, type FolderRecord } from '../../lib/folder-record.js';
import { describeInterpreter, runtimeFit, type Interpreter, type RuntimeFit } from './interpreter.js';
import { run } from '../../lib/exec.js';
import { count, displayPath, progress, warn } from '../../lib/output.js';
import { isInside, toPosix } from '../../lib/paths.js';
import { pipEnvFindLinks, pipSettingsForKey } from '../../lib/pip-config.js';
import { pipInstall, type IndexSource, type PipInstallResult } from './pip-install.js';
import { hasRequirements, lambdaPipTargetArgs, pipSourceArgs, requirementName, type PipOptions } from '../../lib/python.js';
import { excerpt, safeName } from '../../lib/redact.js';
import { readRequirementInputs, type RequirementInputs } from '../../lib/requirement-inputs.js';
import { RUNTIME_SDK, SDK_OWN_NAMES, sdkRequirements } from '../../lib/runtime-sdk.js';
import { RUNTIMES } from '../../lib/runtimes.js';
import { normalizeProjectName } from '../../lib/wheel-tags.js';

export interface TestRequirementsOptions {
  python: string;
  /** requirements.txt files, one pip run each, in PYTHONPATH order; missing ones are skipped. */
  requirementFiles: string[];
  /** The cache root (`--cache-dir`); installs go below `pip-test/`. */
  cacheDir: string;
  pip: PipOptions;
  /** The repository: pip runs there (relative paths inside requirement files). */
  cwd: string;
  /** Progress label, e.g. `unit-test`. */
  step: string;
  /** What is being installed, for progress lines (default `test requirements`). */
  label?: string;
  /** The tests are of a Lambda function of this runtime (see the module comment). */
  lambda?: {
    runtime: string;
    /** requirementFiles[0] is the function's requirements.txt (installed for Lambda's platform when possible). */
    functionFirst: boolean;
  };
}

export interface TestRequirements {
  /** The folders to put on PYTHONPATH, in order; none when there was nothing to install. */
  dirs: string[];
  /** True when the repository's requirements came from the cache (no pip run for them). */
  reused: boolean;
  /** The interpreter, when it was asked (anything was installed, or a runtime given). */
  interpreter?: Interpreter;
}

/** Bump when the cache layout or what goes into an entry changes. */
const FORMAT = 'pip-test-v2';
const RECORD_FILE = '.lambda-cd-install.json';
/** Entries kept in pip-test/ (each repository state has one, each runtime's SDK one). */
const ENTRIES_KEPT = 6;

interface Layer {
  /** Folder name inside the cache entry. */
  dir: string;
  /** How messages name it: `requirements.txt`, `tests/unittests/requirements.txt`. */
  label: string;
  file: string;
  /** The function's requirements.txt (goes before the SDK on PYTHONPATH, as in the zip). */
  isFunction: boolean;
  /** pip's platform-targeting arguments (the function's layer on a Lambda-like interpreter). */
  targetArgs: string[];
}

interface InstallRecord {
  format: string;
  /** The interpreter (and for the repository's entry, the installs planned for it) the entry was made for. */
  context: string;
  dirs: string[];
  files: FolderRecord;
  /** Said when the entry was made; said again on every reuse. */
  warnings: string[];
  /** An entry that records a failure (the SDK could not be installed) is tried again after this time (ISO 8601). */
  retryAfter?: string;
}

/** How long a failure to get the SDK is remembered: an index that is down is not asked again on every run. */
const SDK_RETRY_MS = 24 * 60 * 60 * 1000;

type Say = (message: string) => void;

export async function installTestRequirements(options: TestRequirementsOptions): Promise<TestRequirements> {
  const label = options.label ?? 'test requirements';
  const parent = path.join(options.cacheDir, 'pip-test');
  // The interpreter starts while the requirement files are read and the cache is checked.
  const probe = options.lambda ? describeInterpreter(options.python) : undefined;
  probe?.catch(() => undefined); // awaited below; a bad requirements file may throw first
  // A test folder that is the repository root would name requirements.txt twice: install it once.
  const files = [...new Set(options.requirementFiles.map((file) => path.resolve(file)))].filter((file) => existsSync(file));
  const inputs = new Map<string, RequirementInputs>();
  for (const file of files) inputs.set(file, readRequirementInputs(file, { cwd: options.cwd }));
  const wanted = files.filter((file) => hasRequirements(readFileSync(file, 'utf8')));
  const sdk = sdkPlan(options, inputs);
  if (wanted.length === 0 && sdk === undefined) return { dirs: [], reused: false, interpreter: probe ? await probe : undefined };
  const asked = probe ?? describeInterpreter(options.python);
  asked.catch(() => undefined);

  await mkdir(parent, { recursive: true }).catch((error: unknown) => Promise.reject(cacheFailure(options.cacheDir, error)));
  await removeAbandonedTemporaries(parent);
  const linksDigest = await findLinksDigest(parent, options);
  // Keys from what is known before the interpreter answers (which executable it is); what it says
  // about itself is compared with each entry's record below. Checking an entry reads and hashes
  // every file in it: that happens while the interpreter starts.
  const fingerprint = await interpreterFingerprint(options.python);
  const repoTarget = wanted.length > 0 ? path.join(parent, cacheKey(options, fingerprint, linksDigest, wanted.map((file) => inputs.get(file)!.digest))) : undefined;
  const sdkTarget = sdk ? path.join(parent, `sdk-${sdkKey(options, fingerprint, sdk, linksDigest)}`) : undefined;
  const repoChecked = repoTarget ? await checkEntry(repoTarget) : undefined;
  const sdkChecked = sdkTarget ? await checkEntry(sdkTarget) : undefined;

  const interpreter = await asked;
  const fit = options.lambda ? runtimeFit(interpreter, options.lambda.runtime, options.python) : undefined;
  if (fit && fit.kind !== 'lambda-platform') warn(fit.message);
  const layers = planLayers(options, wanted, fit);
  const context = JSON.stringify({ interpreter, fit: fit?.kind ?? null, layers: layers.map((layer) => [layer.label, layer.isFunction, layer.targetArgs]) });
  const shown = layers.map((layer) => layer.label).join(', ');

  // The repository's own requirements: one cache entry for all its files.
  let entry: { target: string; record?: InstallRecord; temporary?: string } | undefined;
  if (repoTarget) {
    const record = await sameContext(repoTarget, repoChecked, context);
    if (record) {
      progress(options.step, `${label} unchanged (${shown}): reusing ${displayPath(repoTarget)}`);
      for (const message of record.warnings) warn(message);
      entry = { target: repoTarget, record };
    } else {
      entry = { target: repoTarget, temporary: await mkdtemp(path.join(parent, `.${path.basename(repoTarget)}.tmp-`)) };
    }
  }
  try {
    const warnings: string[] = [];
    const say: Say = (message) => {
      warn(message);
      warnings.push(message);
    };
    let installed: Layer[] = entry?.record ? layers.filter((layer) => entry!.record!.dirs.includes(layer.dir)) : [];
    if (entry?.temporary) {
      progress(options.step, `installing ${label} (${shown}) for Python ${interpreter.version} into ${displayPath(entry.target)}, one pip run each`);
      for (const layer of layers) {
        await installLayer(options, layer, entry.temporary, inputs.get(layer.file)!, say);
        installed.push(layer);
      }
    }
    const base = entry ? entry.temporary ?? entry.target : '';
    const functionLayer = installed.find((layer) => layer.isFunction);
    // The function's own requirements brought boto3 or botocore: that is what ships in the zip.
    const ownSdk = functionLayer !== undefined && (await hasSdk(path.join(base, functionLayer.dir)));
    const sdkRecord = sdkTarget ? await sameContext(sdkTarget, sdkChecked, JSON.stringify({ interpreter })) : undefined;
    const sdkDir = sdk !== undefined && !ownSdk ? await ensureSdk(options, interpreter, sdk, parent, sdkTarget!, sdkRecord) : undefined;
    const ordered = (root: string): [string, string][] => [
      ...(functionLayer ? [[functionLayer.label, path.join(root, functionLayer.dir)] as [string, string]] : []),
      ...(sdkDir ? [[sdkLabel(options.lambda!.runtime), sdkDir] as [string, string]] : []),
      ...installed.filter((layer) => !layer.isFunction).map((layer) => [layer.label, path.join(root, layer.dir)] as [string, string]),
    ];
    if (entry?.temporary) {
      for (const message of await shadowingConflicts(options.python, ordered(entry.temporary))) say(message);
      const record: InstallRecord = { format: FORMAT, context, dirs: installed.map((layer) => layer.dir), files: recordFolder(entry.temporary, RECORD_FILE), warnings };
      await writeFile(path.join(entry.temporary, RECORD_FILE), `${JSON.stringify(record)}\n`);
      await moveIntoPlace(entry.temporary, entry.target);
      entry.temporary = undefined;
    } else if (entry) {
      await touch(entry.target);
    }
    await pruneEntries(parent, [entry?.target, sdkDir ? path.dirname(sdkDir) : undefined]);
    return { dirs: ordered(entry?.target ?? '').map(([, dir]) => dir), reused: entry?.record !== undefined, interpreter };
  } finally {
    if (entry?.temporary) await rm(entry.temporary, { recursive: true, force: true });
  }
}

/** One layer per requirements file that asks for anything, in order. */
function planLayers(options: TestRequirementsOptions, wanted: string[], fit: RuntimeFit | undefined): Layer[] {
  const relative = (file: string) => (isInside(options.cwd, file) ? toPosix(path.relative(options.cwd, file)) : displayPath(file));
  const functionFile = options.lambda?.functionFirst && options.requirementFiles[0] ? path.resolve(options.requirementFiles[0]) : undefined;
  return wanted.map((file, index) => {
    const isFunction = file === functionFile;
    let targetArgs: string[] = [];
    if (isFunction && fit?.kind === 'lambda-platform') {
      const pythonVersion = RUNTIMES[options.lambda!.runtime]!.pythonVersion;
      targetArgs = lambdaPipTargetArgs({ pythonVersion, glibcMinor: fit.glibcMinor, architecture: fit.machine === 'aarch64' ? 'arm64' : 'x86_64' });
    }
    return { dir: String(index), label: relative(file), file, isFunction, targetArgs };
  });
}

/** The SDK requirements lambda-cd adds for the runtime, or undefined when the repository names boto3/botocore itself (or no runtime is given). */
function sdkPlan(options: TestRequirementsOptions, inputs: Map<string, RequirementInputs>): string[] | undefined {
  if (!options.lambda) return undefined;
  // A constraint naming boto3 counts too (as when -c lines were read as requirements): the repository chose its version.
  const named = new Set([...inputs.values()].flatMap((input) => [...input.requirements, ...input.constraints].map((line) => normalizeProjectName(requirementName(line.text)))));
  return SDK_OWN_NAMES.some((name) => named.has(name)) ? undefined : sdkRequirements(options.lambda.runtime);
}

function sdkLabel(runtime: string): string {
  return `boto3 and botocore as ${runtime} carries them`;
}

/** What the runtime carries, in words: `boto3 1.28.72 and botocore 1.31.72`. */
function sdkVersions(runtime: string): string {
  const sdk = RUNTIME_SDK[runtime];
  return sdk ? `boto3 ${sdk.boto3} and botocore ${sdk.botocore}` : 'boto3 and botocore (no version recorded for it)';
}

/**
 * Installs one requirements file into `<temporary>/<layer.dir>`. The function's file goes for
 * Lambda's platform when the layer says so; when a project has no such wheel (an sdist-only
 * one), the tests use this machine's build of it, with a warning.
 */
async function installLayer(options: TestRequirementsOptions, layer: Layer, temporary: string, inputs: RequirementInputs, say: Say): Promise<void> {
  const dir = path.join(temporary, layer.dir);
  const attempt = async (targetArgs: string[]): Promise<PipInstallResult> => {
    const result = await pipInstall({
      python: options.python, args: ['--target', dir, ...targetArgs, ...pipSourceArgs(options.pip), '-r', layer.file], cwd: options.cwd,
      step: options.step, what: `installing ${layer.label}`, label: layer.label, indexSources: indexSources(options.pip, [inputs]),
    });
    if (!result.ok) await rm(dir, { recursive: true, force: true });
    return result;
  };
  if (layer.targetArgs.length > 0) progress(options.step, `${layer.label}: wheels for Lambda's platform (${platformWords(layer.targetArgs)}), as package installs them`);
  const result = await attempt(layer.targetArgs);
  if (result.ok) return;
  if (layer.targetArgs.length > 0 && !result.unreachable && result.missing) {
    const again = await attempt([]);
    if (again.ok) {
      say(`${layer.label}: ${safeName(result.missing)}: no wheel for Lambda's platform, so the tests use a build for this machine; package refuses it unless it is pure Python and --allow-sdist builds it`);
      return;
    }
  }
  throw result.error;
}

/**
 * The folder holding the runtime's SDK for the tests, cached on its own (shared by every
 * repository and by both test runners). lambda-cd adds it, so failing to get it never fails the
 * run: without the recorded version the tests get the newest the index has, without any the
 * interpreter's own (or none), each time with a warning that says which.
 */
async function ensureSdk(options: TestRequirementsOptions, interpreter: Interpreter, sdk: string[], parent: string, target: string, record: InstallRecord | undefined): Promise<string | undefined> {
  const runtime = options.lambda!.runtime;
  if (record) {
    if (record.dirs.length > 0) {
      const got = await sdkInstalled(path.join(target, 'site'));
      const as = got === undefined || got === sdkVersions(runtime) ? `${sdkVersions(runtime)} for the tests, as ${runtime} carries them` : `${got} for the tests (${runtime} carries ${sdkVersions(runtime)})`;
      progress(options.step, `${as}: reusing ${displayPath(target)}`);
    }
    for (const message of record.warnings) warn(message);
    await touch(target);
    return record.dirs.length > 0 ? path.join(target, 'site') : undefined;
  }
  const temporary = await mkdtemp(path.join(parent, `.sdk.tmp-`));
  try {
    const site = path.join(temporary, 'site');
    const warnings: string[] = [];
    const attempt = async (requirements: string[]): Promise<PipInstallResult> => {
      const result = await pipInstall({
        python: options.python, args: ['--target', site, ...pipSourceArgs(options.pip), ...requirements], cwd: options.cwd,
        step: options.step, what: `installing ${requirements.join(' and ')}`, label: sdkLabel(runtime), indexSources: indexSources(options.pip, []),
      });
      if (!result.ok) await rm(site, { recursive: true, force: true });
      return result;
    };
    progress(options.step, `installing ${sdkVersions(runtime)} for the tests, as ${runtime} carries them, into ${displayPath(target)}`);
    let result = await attempt(sdk);
    // Another version may be offered (by a reachable index, if one is not): the newest then.
    if (!result.ok && RUNTIME_SDK[runtime] && !result.noVersions) {
      const why = sdkFailure(result);
      result = await attempt(sdkRequirements(runtime, false));
      if (result.ok) warnings.push(`${runtime} carries ${sdkVersions(runtime)}, but ${why}: the tests get ${(await sdkInstalled(site)) ?? 'the newest boto3 the index offers'} instead (name boto3 in the test requirements to choose)`);
    }
    let retryAfter: string | undefined;
    if (!result.ok) {
      const own = await interpreterSdk(options.python);
      retryAfter = new Date(Date.now() + SDK_RETRY_MS).toISOString();
      warnings.push(`${sdkVersions(runtime)} (as ${runtime} carries them) could not be installed for the tests: ${sdkFailure(result)}; they import ${own ? `${own} from ${options.python}` : 'no boto3 (add it to the test requirements if they use it)'} (lambda-cd tries again after ${retryAfter.slice(0, 16).replace('T', ' ')} UTC, or once ${displayPath(target)} is deleted)`);
    }
    for (const message of warnings) warn(message);
    const installRecord: InstallRecord = { format: FORMAT, context: JSON.stringify({ interpreter }), dirs: result.ok ? ['site'] : [], files: recordFolder(temporary, RECORD_FILE), warnings, ...(retryAfter ? { retryAfter } : {}) };
    await writeFile(path.join(temporary, RECORD_FILE), `${JSON.stringify(installRecord)}\n`);
    await moveIntoPlace(temporary, target);
    return result.ok ? path.join(target, 'site') : undefined;
  } finally {
    await rm(temporary, { recursive: true, force: true });
  }
}

function sdkFailure(result: Extract<PipInstallResult, { ok: false }>): string {
  const unreachable = result.unreachable ? result.error.message.replace(/^[^:]*: /, '').replace(/; check the URL.*$/, '') : undefined;
  if (result.missing && !result.noVersions) return `the package index has no ${safeName(result.missing)}${unreachable ? ` (and ${unreachable})` : ''}`;
  if (unreachable) return unreachable;
  if (result.missing) return 'the package index offers no boto3';
  return excerpt(result.error.message, { maxLines: 1, maxChars: 240 });
}

function platformWords(targetArgs: string[]): string {
  const first = targetArgs[targetArgs.indexOf('--platform') + 1] ?? '';
  const glibc = /^manylinux_2_(\d+)_(.+)$/.exec(first);
  return glibc ? `manylinux up to glibc 2.${glibc[1]}, ${glibc[2]}` : first;
}

async function hasSdk(dir: string): Promise<boolean> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.some((name) => /^(boto3|botocore)-[^-]+\.dist-info$/i.test(name));
}

/** `boto3 1.43.1 and botocore 1.43.1`, as installed into `dir`. */
async function sdkInstalled(dir: string): Promise<string | undefined> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const version = (project: string) => names.map((name) => new RegExp(`^${project}-([^-]+)\\.dist-info$`, 'i').exec(name)?.[1]).find(Boolean);
  const boto3 = version('boto3');
  const botocore = version('botocore');
  return boto3 && botocore ? `boto3 ${boto3} and botocore ${botocore}` : boto3 ? `boto3 ${boto3}` : undefined;
}

async function interpreterSdk(python: string): Promise<string | undefined> {
  const probe = await run(python, ['-c', 'import sys\nif sys.path and sys.path[0] == "": sys.path.pop(0)\nimport boto3, botocore\nprint("boto3", boto3.__version__, "and botocore", botocore.__version__)'], { cwd: tmpdir() });
  return probe.exitCode === 0 ? probe.stdout.trim() : undefined;
}

/** The index URLs pip may use for these files, and where each was set (for the message when one is unreachable). */
function indexSources(pip: PipOptions, inputs: RequirementInputs[]): IndexSource[] {
  const sources: IndexSource[] = inputs.flatMap((input) => input.indexUrls.map((line) => ({ url: line.text, where: `${displayPath(line.file)} line ${line.line}` })));
  if (pip.indexUrl) sources.push({ url: pip.indexUrl, where: '--index-url' });
  if (process.env.PIP_INDEX_URL) sources.push({ url: process.env.PIP_INDEX_URL, where: 'PIP_INDEX_URL' });
  for (const url of (process.env.PIP_EXTRA_INDEX_URL ?? '').split(/\s+/).filter(Boolean)) sources.push({ url, where: 'PIP_EXTRA_INDEX_URL' });
  return sources;
}

/** --index-url and --find-links for a key: paths inside the repository relative to it (a new checkout folder reuses the cache). */
function sourceKey(options: TestRequirementsOptions): string[] {
  const local = (location: string) => (/^[a-z][a-z0-9+.-]*:/i.test(location) || !isInside(options.cwd, path.resolve(location)) ? location : `<repository>/${toPosix(path.relative(options.cwd, path.resolve(location)))}`);
  return [options.pip.indexUrl === undefined ? '' : local(options.pip.indexUrl), JSON.stringify(options.pip.findLinks.map(local))];
}

/**
 * The local --find-links folders given outside the requirement files (--find-links,
 * PIP_FIND_LINKS), once per run: a wheel rebuilt there under the same name must not be served
 * stale from the cache. Folders inside the repository count by content (a checkout gives every
 * file a new time, so only the bytes tell what changed; an empty anchor file at a fixed place
 * gives readRequirementInputs a file to start from). Folders outside it, such as a machine's
 * wheel mirror of many large files, count by each file's name, size and modification time,
 * which any rebuild changes, without reading them all on every run.
 */
async function findLinksDigest(parent: string, options: TestRequirementsOptions): Promise<string> {
  const extra = [...options.pip.findLinks.filter((link) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(link)), ...pipEnvFindLinks()]
    .map((link) => path.resolve(options.cwd, link.replace(/^file:\/\//i, '')));
  if (extra.length === 0) return '';
  const inside = extra.filter((link) => isInside(options.cwd, link));
  const hash = createHash('sha256');
  if (inside.length > 0) {
    const anchor = path.join(parent, '.find-links-anchor.txt');
    if (!existsSync(anchor)) await writeFile(anchor, '');
    hash.update(readRequirementInputs(anchor, { cwd: options.cwd, extraFindLinks: inside }).digest);
  }
  for (const folder of extra.filter((link) => !isInside(options.cwd, link))) {
    hash.update(`folder ${folder}\0`);
    const names = (await readdir(folder).catch(() => [] as string[])).sort();
    for (const name of names) {
      const info = await stat(path.join(folder, name)).catch(() => undefined);
      if (info?.isFile()) hash.update(`${name}\0${info.size}\0${info.mtimeMs}\0`);
    }
  }
  return hash.digest('hex');
}

/**
 * sha256 over what decides the repository's install folders, but for what the interpreter says
 * about itself (the record holds that, see sameContext); only the hash is shown.
 */
function cacheKey(options: TestRequirementsOptions, fingerprint: string, linksDigest: string, digests: string[]): string {
  const hash = createHash('sha256');
  const add = (label: string, value: string | Buffer) => hash.update(`${label}\0${value.length}\0`).update(value);
  add('format', FORMAT);
  add('interpreter', fingerprint);
  add('runtime', JSON.stringify({ runtime: options.lambda?.runtime ?? null, functionFirst: options.lambda?.functionFirst ?? null }));
  for (const digest of digests) add('requirements', digest);
  for (const part of sourceKey(options)) add('source', part);
  add('find-links contents', linksDigest);
  for (const [label, value] of pipSettingsForKey({ root: options.cwd })) add(label, value);
  return hash.digest('hex').slice(0, 32);
}

/** The key of the SDK's own entry: the interpreter, the runtime's requirements and pip's sources and settings. */
function sdkKey(options: TestRequirementsOptions, fingerprint: string, sdk: string[], linksDigest: string): string {
  const hash = createHash('sha256');
  for (const part of [FORMAT, 'sdk', fingerprint, options.lambda!.runtime, JSON.stringify(sdk), ...sourceKey(options), linksDigest]) hash.update(`${part.length}\0`).update(part);
  for (const [label, value] of pipSettingsForKey({ root: options.cwd })) hash.update(`${label}\0${value.length}\0`).update(value);
  return hash.digest('hex').slice(0, 32);
}

/** Which executable `python` is (PATH lookup, its size and time): known without starting it. */
async function interpreterFingerprint(python: string): Promise<string> {
  const candidates = python.includes('/') ? [path.resolve(python)] : (process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, python));
  for (const candidate of candidates) {
    const info = await stat(candidate).catch(() => undefined);
    if (info?.isFile() && (info.mode & 0o111) !== 0) {
      return JSON.stringify({ python, executable: await realpath(candidate).catch(() => candidate), size: info.size, mtimeMs: info.mtimeMs });
    }
  }
  return JSON.stringify({ python });
}

/** A verified entry made for another interpreter (same executable, other version or pip) is replaced, silently: nothing is wrong with it. */
async function sameContext(target: string, record: InstallRecord | undefined, context: string): Promise<InstallRecord | undefined> {
  if (!record) return undefined;
  if (record.context === context) return record;
  await rm(target, { recursive: true, force: true });
  return undefined;
}

/** The entry's record when the entry is complete and unchanged; otherwise undefined (and a bad entry is removed, with one line). */
async function checkEntry(target: string): Promise<InstallRecord | undefined> {
  if (!existsSync(target)) return undefined;
  let problem: string | undefined;
  let record: InstallRecord | undefined;
  try {
    record = JSON.parse(await readFile(path.join(target, RECORD_FILE), 'utf8')) as InstallRecord;
    const shapeOk = record !== null && typeof record === 'object' && record.format === FORMAT && typeof record.context === 'string' && Array.isArray(record.dirs) && record.dirs.every((dir) => typeof dir === 'string' && /^(\d+|site)$/.test(dir))
      && typeof record.files === 'object' && record.files !== null && Array.isArray(record.warnings);
    problem = shapeOk ? verifyFolder(target, RECORD_FILE, record.files) : 'its install record is from another lambda-cd version or damaged';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    problem = code === 'ENOENT' ? 'it has no install record (an interrupted install, or an older lambda-cd)' : code ? `it cannot be read (${code})` : 'its install record is damaged';
  }
  if (problem === undefined && record!.retryAfter !== undefined && !(Date.parse(record!.retryAfter) > Date.now())) {
    await rm(target, { recursive: true, force: true }); // a remembered failure, now due to be tried again
    return undefined;
  }
  if (problem === undefined) return { ...record!, warnings: record!.warnings.filter((message) => typeof message === 'string') };
  warn(`${displayPath(target)}: cached packages not used: ${problem}; reinstalling`);
  await rm(target, { recursive: true, force: true });
  return undefined;
}

async function moveIntoPlace(temporary: string, target: string): Promise<void> {
  try {
    await rename(temporary, target);
  } catch (error) {
    // Another run installed the same key meanwhile: its folder is as good as ours.
    if (!existsSync(target)) throw cacheFailure(path.dirname(target), error);
  }
}

async function touch(target: string): Promise<void> {
  const now = new Date();
  await utimes(path.join(target, RECORD_FILE), now, now).catch(() => undefined);
}

/** Keeps the most recently used entries (a CI cache should not grow with every change of requirements). */
async function pruneEntries(parent: string, keep: (string | undefined)[]): Promise<void> {
  const kept = new Set(keep.filter(Boolean).map((dir) => path.basename(dir!)));
  const names = (await readdir(parent).catch(() => [] as string[])).filter((name) => !name.startsWith('.') && !kept.has(name));
  const used = await Promise.all(names.map(async (name) => ({ name, time: (await stat(path.join(parent, name, RECORD_FILE)).catch(() => undefined))?.mtimeMs ?? 0 })));
  used.sort((a, b) => b.time - a.time);
  await Promise.all(used.slice(Math.max(0, ENTRIES_KEPT - kept.size)).map(({ name }) => rm(path.join(parent, name), { recursive: true, force: true })));
}

/**
 * Which requirements break because an earlier folder on PYTHONPATH shadows a later one's
 * package (the function's `requests==2.18.4` before moto's wish for `requests>=2.30`), one
 * warning each; pip judged each run alone. Read with pip's own `packaging`.
 */
const SHADOWING_CHECK = `
import sys
if sys.path and sys.path[0] == "":
    sys.path.pop(0)
import json
from importlib import metadata
try:
    from pip._vendor.packaging.requirements import Requirement
    from pip._vendor.packaging.utils import canonicalize_name
except Exception:
    print("[]")
    raise SystemExit(0)
layers = json.loads(sys.argv[1])
effective, own = {}, []
def note(dist, label):
    name = dist.metadata["Name"]
    if name and canonicalize_name(name) not in effective:
        effective[canonicalize_name(name)] = (dist.version, label, name)
for label, folder in layers:
    for dist in metadata.distributions(path=[folder]):
        note(dist, label)
        own.append((label, dist))
for dist in metadata.distributions():
    note(dist, None)
found = []
for label, dist in own:
    name = dist.metadata["Name"]
    if not name or effective[canonicalize_name(name)][1] != label:
        continue  # shadowed itself: never imported
    for text in dist.requires or []:
        try:
            requirement = Requirement(text)
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
                continue
        except Exception:
            continue
        dependency = effective.get(canonicalize_name(requirement.name))
        if dependency is None or dependency[1] == label or dependency[1] is None:
            continue
        if not requirement.specifier.contains(dependency[0], prereleases=True):
            found.append([name, dist.version, label, str(requirement), dependency[2], dependency[0], dependency[1]])
print(json.dumps(found))
`;

async function shadowingConflicts(python: string, layers: [string, string][]): Promise<string[]> {
  if (layers.length < 2) return [];
  const result = await run(python, ['-c', SHADOWING_CHECK, JSON.stringify(layers)], { cwd: tmpdir() });
  if (result.exitCode !== 0) return [];
  let found: string[][];
  try {
    found = JSON.parse(result.stdout.trim().split('\n').pop() ?? '[]') as string[][];
  } catch {
    return [];
  }
  const messages = found.slice(0, 5).map(([name, version, label, requirement, dependency, dependencyVersion, dependencyLabel]) =>
    `${label}: ${name} ${version} requires ${requirement}, but the tests import ${dependency} ${dependencyVersion} from ${dependencyLabel} (installed separately and first on PYTHONPATH, as it ships)`);
  if (found.length > 5) messages.push(`... and ${count(found.length - 5, 'more conflict')} of the same kind`);
  return messages.map((message) => excerpt(message, { maxLines: 1, maxChars: 400 }));
}
