/**
 * `lambda-cd package`: the deployment zip. requirements.txt is installed for the function's
 * Runtime and Architecture (lib/python.ts), the installed files are compressed once and
 * cached under <cache-dir>/package/<key>/, and the zip is written from those cached entries
 * plus freshly compressed src/ files (lib/zip.ts), so a rebuild with only src/ changed runs
 * no pip and compresses only src/.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, realpath, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { removeAbandonedTemporaries, withAtomicOutput } from '../lib/atomic.js';
import type { RepositoryConfig } from '../lib/contract.js';
import { CheckFailedError, ConfigError } from '../lib/errors.js';
import { checkHandler } from '../lib/handler-check.js';
import { count, displayPath, formatBytes, formatDuration, progress, warn } from '../lib/output.js';
import { isInside, toPosix } from '../lib/paths.js';
import { hasRequirements, includedRequirementFiles, installForLambda, pipVersion, readInstalledDistributions, verifyInstalledWheels, type PipOptions } from '../lib/python.js';
import { RUNTIMES } from '../lib/runtimes.js';
import type { LambdaTarget } from '../lib/wheel-tags.js';
import { MAX_ZIP_ENTRIES, compareNames, compressFiles, directoryEntries, writeZip, type FileToZip, type ZipEntry } from '../lib/zip.js';

/** Lambda's limits for a .zip function: 250 MB unzipped (with layers), 50 MB for direct upload. */
export const LAMBDA_LIMITS = { maxUnzippedBytes: 250 * 1024 * 1024, warnZippedBytes: 50 * 1024 * 1024 };
/** Bump when the cache layout or what goes into it changes. */
const CACHE_FORMAT = 'package-cache-v1';
const CACHE_ENTRIES_KEPT = 3;

export interface PackageOptions {
  repository: RepositoryConfig;
  outFile: string;
  cacheDir: string;
  python: string;
  allowSdist: boolean;
  pip: PipOptions;
  /** Lower limits (tests; users leaving room for layers). Defaults: LAMBDA_LIMITS. */
  limits?: Partial<typeof LAMBDA_LIMITS>;
  /** Import the handler from the built zip before it is put in place (lib/handler-check.ts); default true. */
  importCheck?: boolean;
}

export interface ManifestDistribution {
  name: string;
  version: string;
  wheelTag: string;
}

export interface PackageManifest {
  file: string;
  sha256: string;
  zipSize: number;
  unzippedSize: number;
  fileCount: number;
  runtime: string;
  architecture: string;
  distributions: ManifestDistribution[];
}

export interface PackageResult {
  zipPath: string;
  manifestPath: string;
  manifest: PackageManifest;
  /** True when the installed requirements came from the cache (no pip run). */
  cacheHit: boolean;
}

/** Files and folders never packed from src/ (anywhere below it). */
const SRC_EXCLUDED = /^(__pycache__|\.git|\.hg|\.svn|\.pytest_cache|\.mypy_cache|\.ruff_cache|\.DS_Store|.*\.py[co]|requirements.*\.txt)$/;
/** Never packed from the installed requirements: console scripts (top-level bin/), bytecode caches. */
const SITE_EXCLUDED = /^(__pycache__|.*\.py[co])$/;

interface SizedFile extends FileToZip {
  size: number;
}

/** A group of files for the "largest packages" listing. */
interface SizeGroup {
  label: string;
  bytes: number;
}

interface Dependencies {
  entries: ZipEntry[];
  /** Blob names in entries are relative to this folder. */
  folder: string;
  distributions: ManifestDistribution[];
  /** Name inside the zip -> size group label. */
  groups: Record<string, string>;
  cacheHit: boolean;
  /** pip version (and Python's) that installed them. */
  pip: string;
}

export async function runPackage(options: PackageOptions): Promise<PackageResult> {
  // pip's version is part of the cache key, but asking Python costs a process start: ask in
  // parallel, trust the version recorded in the cache meanwhile, and check before finishing.
  const pip = pipVersion(options.python);
  pip.catch(() => undefined); // awaited where it matters; no requirements need no Python
  try {
    return await packageOnce(options, pip);
  } catch (error) {
    if (!(error instanceof StalePipVersion)) throw error;
    await rm(error.entryDir, { recursive: true, force: true });
    return packageOnce(options, pip);
  }
}

/** The cache entry was made by another pip than the one `--python` runs now. */
class StalePipVersion extends Error {
  constructor(readonly entryDir: string) {
    super('cache made by another pip version');
  }
}

async function packageOnce(options: PackageOptions, pip: Promise<string>): Promise<PackageResult> {
  const started = performance.now();
  const { repository } = options;
  const limits = { ...LAMBDA_LIMITS, ...Object.fromEntries(Object.entries(options.limits ?? {}).filter(([, value]) => value !== undefined)) };
  const manifestPath = `${options.outFile}.manifest.json`;
  try {
    const src = await collectSourceFiles(repository.root);
    const dependencies = await prepareDependencies(options, pip);
    const srcNames = new Set(src.map((file) => file.name));
    const shadowed = dependencies.entries.filter((entry) => srcNames.has(entry.name)).map((entry) => entry.name);
    if (shadowed.length > 0) warn(`src/ replaces ${count(shadowed.length, 'installed file')} of the same name (${shadowed.slice(0, 3).join(', ')}${shadowed.length > 3 ? ', ...' : ''})`);
    const depEntries = dependencies.entries.filter((entry) => !srcNames.has(entry.name));
    const groups = sizeGroups(src, depEntries, dependencies.groups);
    const unzippedSize = src.reduce((sum, file) => sum + file.size, 0) + depEntries.reduce((sum, entry) => sum + entry.size, 0);
    if (unzippedSize > limits.maxUnzippedBytes) {
      throw new CheckFailedError(`the function would be ${formatBytes(unzippedSize)} unzipped, over Lambda's limit of ${formatBytes(limits.maxUnzippedBytes)} (function and layers together); largest: ${largest(groups)}`);
    }
    const fileCount = src.length + depEntries.length;
    const folders = directoryEntries([...src.map((file) => file.name), ...depEntries.map((entry) => entry.name)]);
    if (fileCount + folders.length > MAX_ZIP_ENTRIES) {
      throw new CheckFailedError(`the function has ${(fileCount + folders.length).toLocaleString('en-US')} files and folders, more than a zip without zip64 holds (${MAX_ZIP_ENTRIES}); largest: ${largest(groups)}`);
    }
    progress('package', `zipping ${count(fileCount, 'file')} (${formatBytes(unzippedSize)}): ${src.length.toLocaleString('en-US')} from src/, ${depEntries.length.toLocaleString('en-US')} installed`);
    const work = path.join(options.cacheDir, 'package', `.work-${process.pid}-${randomBytes(4).toString('hex')}`);
    await mkdir(work, { recursive: true });
    try {
      const srcEntries = await compressFiles(src, path.join(work, 'src'));
      const entries = [...srcEntries, ...depEntries.map((entry) => ({ ...entry, blob: path.join(dependencies.folder, entry.blob!) }))];
      entries.push(...folders);
      const manifest = await withAtomicOutput(options.outFile, async (temporaryZip) => {
        const written = await writeZip(temporaryZip, entries);
        // The handler must import from this zip: a failure leaves no zip behind (nor an earlier one).
        await checkHandler({ zipFile: temporaryZip, repository, python: options.python, enabled: options.importCheck !== false });
        if (dependencies.cacheHit && dependencies.pip !== (await pip)) throw new StalePipVersion(dependencies.folder);
        const manifest: PackageManifest = {
          file: path.basename(options.outFile),
          sha256: written.sha256,
          zipSize: written.size,
          unzippedSize,
          fileCount,
          runtime: repository.runtime,
          architecture: repository.architecture,
          distributions: dependencies.distributions,
        };
        await withAtomicOutput(manifestPath, (temporary) => writeFile(temporary, `${JSON.stringify(manifest, null, 2)}\n`));
        return manifest;
      });
      if (manifest.zipSize > limits.warnZippedBytes) {
        warn(`${displayPath(options.outFile)} is ${formatBytes(manifest.zipSize)}, over ${formatBytes(limits.warnZippedBytes)}: too large for direct upload to Lambda (deploy it from S3); largest: ${largest(groups)}`);
      }
      progress('package', `${displayPath(options.outFile)}: ${formatBytes(manifest.zipSize)} zipped, ${formatBytes(unzippedSize)} unzipped, ${count(fileCount, 'file')}, ${count(dependencies.distributions.length, 'distribution')} (${formatDuration(performance.now() - started)})`);
      return { zipPath: options.outFile, manifestPath, manifest, cacheHit: dependencies.cacheHit };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  } catch (error) {
    // Outputs from an earlier run no longer describe these sources: leave none behind.
    await Promise.all([rm(options.outFile, { force: true }), rm(manifestPath, { force: true })]).catch(() => undefined); // the error says why
    throw error;
  }
}


function lambdaTarget(repository: RepositoryConfig): LambdaTarget {
  const runtime = RUNTIMES[repository.runtime];
  if (!runtime) throw new ConfigError(`${displayPath(repository.configFile)}: Runtime: ${repository.runtime} is not a Python runtime lambda-cd knows`);
  return { pythonVersion: runtime.pythonVersion, glibcMinor: runtime.glibcMinor, architecture: repository.architecture };
}

// ---------------------------------------------------------------------------------------
// src/
// ---------------------------------------------------------------------------------------

/** Files below src/, sorted; symlinks inside the repository are followed, others refused. */
async function collectSourceFiles(root: string): Promise<SizedFile[]> {
  const srcRoot = path.join(root, 'src');
  if (!existsSync(srcRoot)) throw new ConfigError(`${displayPath(srcRoot)}: expected the function's code folder (its contents become the root of the zip), found nothing`);
  const realRoot = await realpath(root);
  const files: SizedFile[] = [];
  const visited = new Set<string>();
  const walk = async (folder: string, prefix: string): Promise<void> => {
    visited.add(await realpath(folder));
    for (const name of (await readdir(folder)).sort(compareNames)) {
      if (SRC_EXCLUDED.test(name)) continue;
      const absolute = path.join(folder, name);
      const zipName = `${prefix}${name}`;
      let info = await lstat(absolute);
      if (info.isSymbolicLink()) {
        const real = await realpath(absolute).catch(() => undefined);
        const relative = toPosix(path.relative(root, absolute));
        if (real === undefined) throw new ConfigError(`${relative}: a symlink whose target does not exist`);
        if (!isInside(realRoot, real)) throw new ConfigError(`${relative}: a symlink that leads outside the repository (to ${real}); copy what it points to into src/ instead`);
        info = await stat(absolute);
        if (info.isDirectory() && visited.has(real)) continue; // a loop
      }
      if (info.isDirectory()) await walk(absolute, `${zipName}/`);
      else if (info.isFile()) files.push({ name: zipName, path: absolute, executable: (info.mode & 0o111) !== 0, size: info.size });
    }
  };
  await walk(srcRoot, '');
  return files;
}

// ---------------------------------------------------------------------------------------
// Installed requirements, cached as compressed zip entries
// ---------------------------------------------------------------------------------------

interface CacheIndex {
  format: string;
  entries: ZipEntry[];
  distributions: ManifestDistribution[];
  groups: Record<string, string>;
  pip: string;
}

async function prepareDependencies(options: PackageOptions, pip: Promise<string>): Promise<Dependencies> {
  const { repository } = options;
  const target = lambdaTarget(repository);
  const requirementsFile = path.join(repository.root, 'requirements.txt');
  const requirements = existsSync(requirementsFile) ? readFileSync(requirementsFile) : Buffer.alloc(0);
  if (!hasRequirements(requirements.toString('utf8'))) {
    progress('package', `${existsSync(requirementsFile) ? 'requirements.txt lists nothing' : 'no requirements.txt'}: packaging src/ only`);
    return { entries: [], folder: '', distributions: [], groups: {}, cacheHit: false, pip: '' };
  }
  const key = cacheKey(options, requirementsFile, requirements, target);
  const cacheRoot = path.join(options.cacheDir, 'package');
  const entryDir = path.join(cacheRoot, key);
  const cached = await readCacheIndex(entryDir);
  if (cached) {
    const now = new Date();
    await utimes(path.join(entryDir, 'index.json'), now, now).catch(() => undefined);
    progress('package', `requirements unchanged: reusing ${count(cached.distributions.length, 'installed distribution')} from ${displayPath(entryDir)} (no pip run)`);
    return { entries: cached.entries, folder: entryDir, distributions: cached.distributions, groups: cached.groups, cacheHit: true, pip: cached.pip };
  }

  const building = path.join(cacheRoot, `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const site = path.join(building, 'site');
  await mkdir(site, { recursive: true });
  try {
    const started = performance.now();
    const texts = [requirements.toString('utf8'), ...includedRequirementFiles(requirementsFile).filter(existsSync).map((file) => readFileSync(file, 'utf8'))];
    const listed = texts.join('\n').split('\n').filter((line) => /^\s*([A-Za-z0-9]|\.{0,2}\/)/.test(line)).length;
    progress('package', `resolving and installing requirements.txt (${count(listed, 'requirement')}) for ${repository.runtime} ${repository.architecture} (pip, manylinux wheels up to glibc 2.${target.glibcMinor})`);
    await installForLambda({
      python: options.python, requirementsFile, requirementsLabel: 'requirements.txt', targetDir: site, target, runtime: repository.runtime,
      pip: options.pip, allowSdist: options.allowSdist, sdistWheelDir: path.join(building, 'sdist-wheels'),
    });
    const pipUsed = await pip;
    const installed = await readInstalledDistributions(site);
    verifyInstalledWheels(installed, target, repository.runtime);
    const files = await collectSiteFiles(site);
    const groups: Record<string, string> = {};
    for (const distribution of installed) {
      const label = `${distribution.name} ${distribution.version}`;
      for (const file of distribution.files) groups[file] = label;
      groups[`${distribution.distInfo}/`] = label;
    }
    const bytes = files.reduce((sum, file) => sum + file.size, 0);
    progress('package', `installed ${count(installed.length, 'distribution')} (${count(files.length, 'file')}, ${formatBytes(bytes)}) in ${formatDuration(performance.now() - started)}; compressing them into the cache`);
    const entries = await compressFiles(files, path.join(building, 'blob'));
    for (const entry of entries) entry.blob = path.basename(entry.blob!);
    const distributions = installed.map(({ name, version, wheelTag }) => ({ name, version, wheelTag }));
    const ownGroups = Object.fromEntries(files.map((file) => [file.name, groupOf(file.name, groups)]));
    await rm(site, { recursive: true, force: true });
    await rm(path.join(building, 'sdist-wheels'), { recursive: true, force: true });
    const index: CacheIndex = { format: CACHE_FORMAT, entries, distributions, groups: ownGroups, pip: pipUsed };
    await writeFile(path.join(building, 'index.json'), JSON.stringify(index));
    if (existsSync(entryDir) && !(await readCacheIndex(entryDir))) await rm(entryDir, { recursive: true, force: true }); // unusable: older format, lost blobs
    const stored = await rename(building, entryDir).then(() => index, async (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
      // Another run stored the same key meanwhile: use its entry (our offsets do not fit its blobs).
      await rm(building, { recursive: true, force: true });
      return (await readCacheIndex(entryDir)) ?? Promise.reject(new Error(`${displayPath(entryDir)}: cache entry written by another run is unreadable`));
    });
    await pruneCache(cacheRoot, key);
    return { entries: stored.entries, folder: entryDir, distributions: stored.distributions, groups: stored.groups, cacheHit: false, pip: stored.pip };
  } catch (error) {
    await rm(building, { recursive: true, force: true });
    throw error;
  }
}

function groupOf(name: string, groups: Record<string, string>): string {
  const distInfo = /^[^/]+\.dist-info\//.exec(name)?.[0];
  return groups[name] ?? (distInfo ? groups[distInfo] : undefined) ?? name.split('/')[0]!;
}

/** Installed files worth packing: not bin/ (console scripts), no bytecode caches. */
async function collectSiteFiles(site: string): Promise<SizedFile[]> {
  const files: SizedFile[] = [];
  const walk = async (folder: string, prefix: string): Promise<void> => {
    for (const name of (await readdir(folder)).sort(compareNames)) {
      if (SITE_EXCLUDED.test(name) || (prefix === '' && name === 'bin')) continue;
      const absolute = path.join(folder, name);
      const info = await stat(absolute);
      if (info.isDirectory()) await walk(absolute, `${prefix}${name}/`);
      else if (info.isFile()) files.push({ name: `${prefix}${name}`, path: absolute, executable: (info.mode & 0o111) !== 0, size: info.size });
    }
  };
  await walk(site, '');
  return files;
}

async function readCacheIndex(entryDir: string): Promise<CacheIndex | undefined> {
  try {
    const index = JSON.parse(await readFile(path.join(entryDir, 'index.json'), 'utf8')) as CacheIndex;
    if (index.format !== CACHE_FORMAT) return undefined;
    for (const blob of new Set(index.entries.map((entry) => entry.blob!))) if (!existsSync(path.join(entryDir, blob))) return undefined;
    return index;
  } catch {
    return undefined;
  }
}

/** Keeps the most recently used cache entries (a CodeBuild cache should not grow forever). */
async function pruneCache(cacheRoot: string, keep: string): Promise<void> {
  await removeAbandonedTemporaries(cacheRoot);
  const names = (await readdir(cacheRoot)).filter((name) => !name.startsWith('.') && name !== keep);
  const used = await Promise.all(names.map(async (name) => ({ name, time: (await stat(path.join(cacheRoot, name, 'index.json')).catch(() => undefined))?.mtimeMs ?? 0 })));
  used.sort((a, b) => b.time - a.time);
  await Promise.all(used.slice(CACHE_ENTRIES_KEPT - 1).map(({ name }) => rm(path.join(cacheRoot, name), { recursive: true, force: true })));
}

/** pip configuration files pip reads (their contents are part of the cache key). */
function pipConfigFiles(): string[] {
  const env = process.env;
  if (env.PIP_CONFIG_FILE) return [env.PIP_CONFIG_FILE];
  const xdgDirs = (env.XDG_CONFIG_DIRS ?? '/etc/xdg').split(':');
  const configHome = env.XDG_CONFIG_HOME ?? path.join(homedir(), '.config');
  return ['/etc/pip.conf', ...xdgDirs.map((dir) => path.join(dir, 'pip', 'pip.conf')), path.join(configHome, 'pip', 'pip.conf'), path.join(homedir(), '.pip', 'pip.conf'),
    ...(env.VIRTUAL_ENV ? [path.join(env.VIRTUAL_ENV, 'pip.conf')] : [])];
}

/**
 * sha256 over everything that decides the installed tree: requirements bytes (and files
 * they include), runtime, architecture, installer options, pip's version, pip's
 * configuration files and PIP_* variables. Only the hash is ever shown. pip's version is
 * recorded in the entry and compared on use (runPackage).
 */
function cacheKey(options: PackageOptions, requirementsFile: string, requirements: Buffer, target: LambdaTarget): string {
  const hash = createHash('sha256');
  const add = (label: string, value: string | Buffer) => hash.update(`${label}\0${value.length}\0`).update(value);
  add('format', CACHE_FORMAT);
  add('requirements', requirements);
  for (const file of includedRequirementFiles(requirementsFile)) add(`include ${file}`, existsSync(file) ? readFileSync(file) : '');
  add('runtime', options.repository.runtime);
  add('target', JSON.stringify(target));
  add('index-url', options.pip.indexUrl ?? '');
  add('find-links', JSON.stringify(options.pip.findLinks.map((link) => (/^[a-z]+:/i.test(link) ? link : path.resolve(link)))));
  add('allow-sdist', String(options.allowSdist));
  add('python', options.python); // and pip's version: recorded in the entry, checked on use
  for (const [name, value] of Object.entries(process.env).filter(([name]) => name.startsWith('PIP_')).sort()) add(`env ${name}`, value ?? '');
  for (const file of pipConfigFiles()) if (existsSync(file) && !file.startsWith('/dev/')) add(`config ${file}`, readFileSync(file));
  return hash.digest('hex').slice(0, 32);
}

// ---------------------------------------------------------------------------------------
// Size report
// ---------------------------------------------------------------------------------------

function sizeGroups(src: SizedFile[], deps: ZipEntry[], labels: Record<string, string>): SizeGroup[] {
  const totals = new Map<string, number>();
  const add = (label: string, bytes: number) => totals.set(label, (totals.get(label) ?? 0) + bytes);
  for (const file of src) add('src/ (your code)', file.size);
  for (const entry of deps) add(labels[entry.name] ?? entry.name.split('/')[0]!, entry.size);
  return [...totals].map(([label, bytes]) => ({ label, bytes })).sort((a, b) => b.bytes - a.bytes || compareNames(a.label, b.label));
}

function largest(groups: SizeGroup[]): string {
  return groups.slice(0, 10).map((group) => `${group.label} ${formatBytes(group.bytes)}`).join(', ');
}
