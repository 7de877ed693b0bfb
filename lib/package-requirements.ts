/**
 * The function's requirements as verified wheel files, for `lambda-cd package`.
 *
 * The cache entry `<cache>/package/<key>/index.json` records which wheels (by sha256) pip chose
 * for everything that decides the choice (the key): what the requirements files make pip read,
 * by content (lib/requirement-inputs.ts), the Runtime and Architecture, the source options,
 * PIP_* variables and pip's configuration files, never an absolute path into the repository
 * (CodeBuild checks out into a new folder for every build). pip's version is recorded and
 * compared on use. With an entry, no pip runs; without one, pip resolves (lib/lambda-resolve.ts)
 * and only the wheels the wheel cache (lib/wheel-store.ts) lacks are copied or downloaded.
 * Entries are untrusted: one that does not parse or names anything but wheels by sha256 is
 * discarded with a warning and resolved again.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cacheFailure, removeOnInterrupt, temporaryName } from './atomic.js';
import { ConfigError } from './errors.js';
import type { ResolvedWheel } from './lambda-resolve.js';
import { readDepsBlock, type DepsBlock } from './package-deps-block.js';
import { pipIdentity, samePip, type PipIdentity, type PipReport } from './package-pip-identity.js';
import { count, displayPath, formatDuration, progress, warn } from './output.js';
import { isInside, toPosix } from './paths.js';
import { pipEnvFindLinks, pipSettingsForKey } from './pip-config.js';
import type { PipOptions } from './python.js';
import { safeName } from './redact.js';
import { timed } from './timings.js';
import { readRequirementInputs, type RequirementInputs } from './requirement-inputs.js';
import { parseWheelFilename, type LambdaTarget } from './wheel-tags.js';
import { CorruptWheelError, sha256File, WheelStore, type StoredWheel } from './wheel-store.js';
import { mapLimited } from './map-limited.js';

/** Bump when the cache layout or what goes into it changes. */
const CACHE_FORMAT = 'package-cache-v3';
const CACHE_ENTRIES_KEPT = 3;
const SHA256 = /^[0-9a-f]{64}$/;

export interface RequirementsRequest {
  root: string;
  requirementsFile: string;
  cacheDir: string;
  python: string;
  pip: PipOptions;
  allowSdist: boolean;
  target: LambdaTarget;
  runtime: string;
  /** pip's version (and Python's) as `python` reports it; asked only when the cache has an entry (pip itself says on a resolve). */
  pipVersion: () => Promise<string>;
  /** Look for the zip part these wheels place, kept by an earlier build (lib/package-deps-block.ts). */
  depsBlock?: boolean;
}

export interface RequirementWheel {
  /** The wheel's file name, for messages. */
  filename: string;
  requested: boolean;
  stored: StoredWheel;
}

export interface Requirements {
  /** In pip's install order. */
  wheels: RequirementWheel[];
  cacheHit: boolean;
  /** The pip version that resolved them. */
  pip: string;
  entryDir: string;
  store: WheelStore;
  /** Settles when every wheel's hash has been checked; rejects with CorruptCachedWheels. Await it before using the zip. */
  verified: Promise<void>;
  /** On a cache hit with a kept deps part: that part (then `wheels` is empty: no wheel is opened). */
  block?: DepsBlock;
  /** `pip` is known to be the pip `python` runs now (its files unchanged): no need to ask Python. */
  pipConfirmed?: boolean;
  /** The wheels as the cache entry records them (sha256, requested), in install order. */
  recorded: { sha256: string; requested: boolean }[];
}

/** Cached wheels whose bytes no longer hash to their name: discard them and build again. */
export class CorruptCachedWheels extends Error {
  constructor(readonly wheels: { sha256: string; label: string }[]) {
    super('corrupt cached wheels');
  }
}

/** A local file pip took a wheel from (a find-links folder): checked on reuse. */
interface WheelSource {
  /** Relative to the repository (POSIX) when inside it, else absolute. */
  path: string;
  size: number;
  mtimeMs: number;
}

interface CacheRecord {
  format: string;
  /** Who chose the wheels: pip, or lambda-cd's own resolver (languages/python/resolver/), whose choice no pip version changes. */
  resolver: 'pip' | 'lambda-cd';
  /** The pip that resolved them ('' for lambda-cd's resolver). */
  pip: string;
  /** Where that pip is (lib/package-pip-identity.ts): when it still checks out, Python is not asked again. */
  pipIdentity?: PipIdentity;
  wheels: { sha256: string; file: string; requested: boolean; source?: WheelSource }[];
}

/** The cache entry was made by another pip than the one `--python` runs now. */
export class StalePipVersion extends Error {
  constructor(readonly entryDir: string) {
    super('cache made by another pip version');
  }
}

/** undefined when there is no requirements.txt or it asks for nothing. */
export async function requirementWheels(request: RequirementsRequest): Promise<Requirements | undefined> {
  const present = await lstat(request.requirementsFile).then(() => true, () => false);
  if (!present) {
    progress('package', 'no requirements.txt: packaging src/ only');
    return undefined;
  }
  // Find-links folders enter the key by location; the files taken from them are checked on reuse
  // (sourcesUnchanged): a wheel rebuilt under the same name is never stale, while a new file in a
  // folder does not invalidate the cache, as a new version on an index does not (pin them).
  const inputs = readRequirementInputs(request.requirementsFile, {
    cwd: request.root, extraFindLinks: [...request.pip.findLinks, ...pipEnvFindLinks()], findLinksContent: false,
  });
  if (inputs.requirements.length === 0) {
    progress('package', 'requirements.txt lists nothing: packaging src/ only');
    return undefined;
  }
  const cacheRoot = path.join(request.cacheDir, 'package');
  const store = new WheelStore(path.join(request.cacheDir, 'wheels'));
  const key = cacheKey(request, inputs);
  const entryDir = path.join(cacheRoot, key);
  const record = await readRecord(entryDir);
  if (record && !(await sourcesUnchanged(request.root, record))) {
    progress('package', 'a wheel file the requirements were resolved from has changed: resolving them again');
  } else if (record) {
    // An entry lambda-cd's own resolver made depends on no pip: Python is not asked.
    const pipConfirmed = record.resolver === 'lambda-cd' || samePip(request.python, record.pipIdentity);
    if (!pipConfirmed) void request.pipVersion(); // started now, compared before the zip is committed
    const recorded = record.wheels.map(({ sha256, requested }) => ({ sha256, requested }));
    const block = request.depsBlock ? await readDepsBlock(entryDir, recorded) : undefined;
    if (block) {
      progress('package', `requirements unchanged: reusing the zip part their ${count(record.wheels.length, 'wheel')} place (no pip run; its hash is checked meanwhile)`);
      return { wheels: [], cacheHit: true, pip: record.pip, entryDir, store, verified: Promise.resolve(), block, recorded, pipConfirmed };
    }
    // Hashed on a worker thread from now on, while the zip is planned and written; awaited before anything is committed.
    const hashed = store.intact(record.wheels.map((wheel) => wheel.sha256));
    hashed.catch(() => undefined);
    const wheels = await mapLimited(record.wheels, 4, async (wheel) => ({ filename: wheel.file, requested: wheel.requested, stored: await store.open(wheel.sha256, wheel.file) }));
    if (wheels.every((wheel) => wheel.stored !== undefined)) {
      const now = new Date();
      await utimes(path.join(entryDir, 'index.json'), now, now).catch(() => undefined);
      progress('package', `requirements unchanged: reusing ${count(wheels.length, 'wheel')} from the cache (no pip run; their hashes are checked meanwhile)`);
      const opened = wheels as RequirementWheel[];
      const verified = hashed.then((intact) => {
        const corrupt = opened.filter((wheel) => !intact.has(wheel.stored.sha256));
        if (corrupt.length > 0) throw new CorruptCachedWheels(corrupt.map((wheel) => ({ sha256: wheel.stored.sha256, label: wheel.filename })));
      });
      verified.catch(() => undefined); // awaited by the caller
      return { wheels: opened, cacheHit: true, pip: record.pip, entryDir, store, verified, recorded, pipConfirmed };
    }
  }
  return resolveAndStore(request, inputs, store, cacheRoot, key);
}

async function resolveAndStore(request: RequirementsRequest, inputs: RequirementInputs, store: WheelStore, cacheRoot: string, key: string): Promise<Requirements> {
  const entryDir = path.join(cacheRoot, key);
  await mkdir(cacheRoot, { recursive: true }).catch((error: unknown) => Promise.reject(cacheFailure(request.cacheDir, error)));
  const scratch = path.join(cacheRoot, temporaryName('work'));
  const release = removeOnInterrupt(scratch);
  try {
    await mkdir(scratch).catch((error: unknown) => Promise.reject(cacheFailure(request.cacheDir, error)));
    const started = performance.now();
    // While pip resolves, the wheels earlier builds used are hashed: most will be chosen again.
    const known = knownWheels(cacheRoot, request.root).catch(() => ({ sha256s: [] as string[], sources: new Map<string, string>() }));
    const intact = known.then(({ sha256s }) => store.intact(sha256s)).catch(() => new Set<string>());
    progress('package', `resolving and installing requirements.txt (${count(inputs.requirements.length, 'requirement')}) for ${request.runtime} ${request.target.architecture} (manylinux wheels up to glibc 2.${request.target.glibcMinor})`);
    // The common case (plain requirements, local wheel sources) needs no Python: resolved here, as pip would.
    // A local wheel an earlier entry took from the same file (same size and mtime, as sourcesUnchanged trusts) is not hashed again.
    const { sources: knownSources } = await known;
    // Loaded for a resolve only: a rebuild served from the cache need not load the resolver, nor what starts pip.
    const { resolveWithoutPip } = await import('../languages/python/resolver/index.js');
    const local = await timed('local resolve', () => resolveWithoutPip({
      requirementsFile: request.requirementsFile, inputs, target: request.target, pip: request.pip, python: request.python,
      knownSha256: (file, size, mtimeMs) => knownSources.get(sourceKey(file, size, mtimeMs)),
    }));
    let resolved: ResolvedWheel[];
    let resolvingPip: string | undefined;
    let pipReport: PipReport | undefined;
    if ('wheels' in local) resolved = local.wheels;
    else {
      if (process.env.LAMBDA_CD_TIMINGS) progress('package', `resolving with pip: ${safeName(local.fallback, 200)}`);
      const { resolveForLambda } = await import('./lambda-resolve.js');
      ({ wheels: resolved, pip: resolvingPip, pipReport } = await timed('pip resolve', () => resolveForLambda({
        python: request.python, requirementsFile: request.requirementsFile, requirementsLabel: 'requirements.txt', inputs, target: request.target, runtime: request.runtime,
        pip: request.pip, allowSdist: request.allowSdist, scratch,
      })));
    }
    const withoutPip = 'wheels' in local;
    let fetched = 0;
    const verified = await timed('await known wheel hashes', () => intact);
    const wheels = await timed('store wheels', () => mapLimited(resolved, 4, async (wheel): Promise<RequirementWheel> => {
      const label = path.basename(wheel.file);
      const cached = !wheel.sha256 ? undefined : verified.has(wheel.sha256) ? await store.open(wheel.sha256, label) : await store.get(wheel.sha256, label);
      if (cached) return { filename: label, requested: wheel.requested, stored: cached };
      fetched++;
      try {
        return { filename: label, requested: wheel.requested, stored: await store.add(wheel.file, wheel.sha256, label) };
      } catch (error) {
        if (error instanceof CorruptWheelError) throw new ConfigError(`requirements.txt: ${safeName(wheel.name)} ${safeName(wheel.version)}: ${safeName(error.message, 400)}`);
        throw error;
      }
    }));
    const pip = withoutPip ? '' : resolvingPip ?? (await request.pipVersion());
    const how = withoutPip ? ' from local sources' : '';
    progress('package', `resolved ${count(wheels.length, 'wheel')}${how} in ${formatDuration(performance.now() - started)}${withoutPip ? ' (no pip run)' : ''} (${fetched} new to the cache, ${wheels.length - fetched} already there)`);
    const sources = await Promise.all(resolved.map((wheel) => wheelSource(request.root, wheel.file, request.cacheDir)));
    const identity = resolvingPip ? pipIdentity(request.python, pipReport) : undefined;
    const record: CacheRecord = {
      format: CACHE_FORMAT, resolver: withoutPip ? 'lambda-cd' : 'pip', pip, ...(identity ? { pipIdentity: identity } : {}),
      wheels: wheels.map((wheel, index) => ({ sha256: wheel.stored.sha256, file: wheel.filename, requested: wheel.requested, ...(sources[index] ? { source: sources[index] } : {}) })),
    };
    await writeRecord(cacheRoot, entryDir, record).catch((error: unknown) => Promise.reject(cacheFailure(request.cacheDir, error)));
    await pruneCache(cacheRoot, key, store);
    return { wheels, cacheHit: false, pip, entryDir, store, verified: Promise.resolve(), ...(withoutPip ? { pipConfirmed: true } : {}), recorded: record.wheels.map(({ sha256, requested }) => ({ sha256, requested })) };
  } finally {
    release();
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Where a wheel came from, when that is a file that stays (not one pip downloaded or built for this run). */
async function wheelSource(root: string, file: string, cacheDir: string): Promise<WheelSource | undefined> {
  if (isInside(cacheDir, file)) return undefined;
  const info = await stat(file).catch(() => undefined);
  if (!info) return undefined;
  return { path: isInside(root, file) ? toPosix(path.relative(root, file)) : file, size: info.size, mtimeMs: info.mtimeMs };
}

/**
 * False when a file a wheel was taken from now holds something else (rebuilt under the same
 * name). A file that is gone changes nothing: the cache holds the wheel.
 */
async function sourcesUnchanged(root: string, record: CacheRecord): Promise<boolean> {
  const results = await Promise.all(record.wheels.map(async (wheel) => {
    if (!wheel.source) return true;
    const file = path.isAbsolute(wheel.source.path) ? wheel.source.path : path.join(root, wheel.source.path);
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) return true;
    if (info.size === wheel.source.size && info.mtimeMs === wheel.source.mtimeMs) return true;
    return (await sha256File(file).catch(() => undefined)) === wheel.sha256;
  }));
  return results.every(Boolean);
}


/** The entry's record when it is one we wrote; a damaged one is removed (with a warning). */
async function readRecord(entryDir: string): Promise<CacheRecord | undefined> {
  const discard = () => rm(entryDir, { recursive: true, force: true }).catch((error: unknown) => Promise.reject(cacheFailure(path.dirname(entryDir), error)));
  let text: string;
  try {
    text = await readFile(path.join(entryDir, 'index.json'), 'utf8');
  } catch {
    if (existsSync(entryDir)) await discard();
    return undefined;
  }
  const problem = recordProblem(text);
  if (problem === 'older format') {
    await discard();
    return undefined;
  }
  if (problem) {
    warn(`cache: ${displayPath(entryDir)} is unusable (${problem}): discarded, resolving the requirements again`);
    await discard();
    return undefined;
  }
  return JSON.parse(text) as CacheRecord;
}

function recordProblem(text: string): string | undefined {
  let record: Partial<CacheRecord>;
  try {
    record = JSON.parse(text) as Partial<CacheRecord>;
  } catch {
    return 'not valid JSON';
  }
  if (typeof record !== 'object' || record === null) return 'not a record';
  if (record.format !== CACHE_FORMAT) return 'older format';
  if (record.resolver !== 'pip' && record.resolver !== 'lambda-cd') return 'not a record';
  if (typeof record.pip !== 'string' || !Array.isArray(record.wheels) || record.wheels.length > 100_000) return 'not a record';
  if (record.pipIdentity !== undefined && (typeof record.pipIdentity !== 'object' || record.pipIdentity === null)) return 'not a record';
  for (const wheel of record.wheels) {
    if (typeof wheel?.sha256 !== 'string' || !SHA256.test(wheel.sha256)) return 'a wheel not named by its sha256';
    if (typeof wheel.file !== 'string' || !/^[^/\\\0]+\.whl$/.test(wheel.file) || !parseWheelFilename(wheel.file)) return `not a wheel file name: ${safeName(String(wheel.file))}`;
    if (typeof wheel.requested !== 'boolean') return 'not a record';
    const source = wheel.source;
    if (source !== undefined && (typeof source?.path !== 'string' || !/\.whl$/.test(source.path) || (!path.isAbsolute(source.path) && path.posix.normalize(source.path).startsWith('../'))
      || !Number.isSafeInteger(source.size) || typeof source.mtimeMs !== 'number')) return 'a wheel source that is not a wheel file';
  }
  return undefined;
}

async function writeRecord(cacheRoot: string, entryDir: string, record: CacheRecord): Promise<void> {
  const building = path.join(cacheRoot, temporaryName('tmp'));
  const release = removeOnInterrupt(building);
  try {
    await mkdir(building);
    await writeFile(path.join(building, 'index.json'), JSON.stringify(record));
    await rm(entryDir, { recursive: true, force: true });
    await rename(building, entryDir).catch((error: NodeJS.ErrnoException) => {
      // Another run stored the same key meanwhile: its record is as good as ours.
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
    });
  } finally {
    release();
    await rm(building, { recursive: true, force: true });
  }
}

/** The sha256s of the wheels the cache's entries name (well-formed ones), and the local files they were taken from (sourceKey -> sha256). */
async function knownWheels(cacheRoot: string, root: string): Promise<{ sha256s: string[]; sources: Map<string, string> }> {
  const known = new Set<string>();
  const sources = new Map<string, string>();
  for (const name of (await readdir(cacheRoot).catch(() => [] as string[])).filter((entry) => !entry.startsWith('.'))) {
    const text = await readFile(path.join(cacheRoot, name, 'index.json'), 'utf8').catch(() => undefined);
    if (text === undefined || recordProblem(text) !== undefined) continue;
    for (const wheel of (JSON.parse(text) as CacheRecord).wheels) {
      known.add(wheel.sha256);
      if (!wheel.source) continue;
      const file = path.isAbsolute(wheel.source.path) ? wheel.source.path : path.join(root, wheel.source.path);
      if (path.basename(file) === wheel.file) sources.set(sourceKey(file, wheel.source.size, wheel.source.mtimeMs), wheel.sha256);
    }
  }
  return { sha256s: [...known], sources };
}

function sourceKey(file: string, size: number, mtimeMs: number): string {
  return `${path.resolve(file)}\0${size}\0${mtimeMs}`;
}

/** Keeps the most recently used entries, and the wheels they (or a run within the hour) use. */
async function pruneCache(cacheRoot: string, keep: string, store: WheelStore): Promise<void> {
  const names = (await readdir(cacheRoot)).filter((name) => !name.startsWith('.') && name !== keep);
  const used = await Promise.all(names.map(async (name) => ({ name, time: (await stat(path.join(cacheRoot, name, 'index.json')).catch(() => undefined))?.mtimeMs ?? 0 })));
  used.sort((a, b) => b.time - a.time);
  await Promise.all(used.slice(CACHE_ENTRIES_KEPT - 1).map(({ name }) => rm(path.join(cacheRoot, name), { recursive: true, force: true })));
  const referenced = new Set<string>();
  for (const name of [keep, ...used.slice(0, CACHE_ENTRIES_KEPT - 1).map((entry) => entry.name)]) {
    const record = await readFile(path.join(cacheRoot, name, 'index.json'), 'utf8').then((text) => JSON.parse(text) as CacheRecord, () => undefined);
    for (const wheel of record?.wheels ?? []) if (typeof wheel?.sha256 === 'string') referenced.add(wheel.sha256);
  }
  await store.prune(referenced);
}

/**
 * sha256 over everything that decides which wheels pip picks: the requirement inputs' digest
 * (files by content, local wheels, folders, find-links folders), runtime, target, source
 * options, PIP_* variables and pip's configuration files. A path inside the repository enters
 * relative to it (its content is in the digest). Only the hash is ever shown; pip's version is
 * recorded in the entry and compared on use.
 */
function cacheKey(request: RequirementsRequest, inputs: RequirementInputs): string {
  const hash = createHash('sha256');
  const add = (label: string, value: string | Buffer) => hash.update(`${label}\0${value.length}\0`).update(value);
  const location = (link: string) => (/^[a-z][a-z0-9+.-]*:/i.test(link) ? link : isInside(request.root, link) ? `<repository>/${path.relative(request.root, link)}` : link);
  add('format', CACHE_FORMAT);
  add('requirements', inputs.digest);
  add('runtime', request.runtime);
  add('target', JSON.stringify(request.target));
  add('index-url', request.pip.indexUrl ?? '');
  add('find-links', JSON.stringify(request.pip.findLinks.map(location)));
  add('allow-sdist', String(request.allowSdist));
  for (const [label, value] of pipSettingsForKey({ root: request.root })) add(label, value);
  return hash.digest('hex').slice(0, 32);
}
