/**
 * The function's production dependencies for the zip: `npm ci --omit=dev` for Lambda's platform
 * (--os linux --cpu x64|arm64 --libc glibc: optional platform packages such as @esbuild/linux-x64
 * or @img/sharp-linux-arm64 are chosen for Lambda, not for this machine), install scripts judged
 * (install-scripts.ts), every file compressed once. The result is cached under a key made of
 * what decides it (the lock file, package.json, the local tarballs it names, the architecture),
 * so a rebuild with only src/ changed copies the compressed node_modules/ as it is. Everything
 * read from the cache is verified first (each blob's sha256; the kept tree's record).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, rename, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cacheFailure, removeDeadTemporaries, removeOnInterrupt, temporaryName } from '../../lib/atomic.js';
import type { RepositoryConfig } from '../../lib/contract.js';
import { usableCpus } from '../../lib/cpus.js';
import { ConfigError } from '../../lib/errors.js';
import { recordFolder, verifyFolder, type FolderRecord } from '../../lib/folder-record.js';
import { displayPath, progress, warn } from '../../lib/output.js';
import { toPosix } from '../../lib/paths.js';
import { safeName } from '../../lib/redact.js';
import { npmCpu } from '../../lib/runtimes.js';
import { compressFiles, type FileToZip, type ZipEntry } from '../../lib/zip.js';
import { checkInstallScripts } from './install-scripts.js';
import type { NpmProject } from './lockfile.js';
import { npmCi, requireNpm } from './npm.js';

/** Entries kept (each an installed tree and its compressed copy): the most recently used. */
const KEEP_ENTRIES = 4;

/** Bumped when what an entry holds changes: older entries are then simply not found. */
const FORMAT = 1;

export interface NpmPackage {
  name: string;
  version: string;
  /** Bundle: esbuild: whether the bundle holds it (the manifest says so). */
  bundled?: boolean;
}

export interface Dependencies {
  /** Ready-to-copy zip entries (blobs in the cache entry, absolute). */
  entries: ZipEntry[];
  packages: NpmPackage[];
  cacheHit: boolean;
  /** The installed node_modules/ (kept when asked, for the bundler). */
  nodeModules?: string;
}

interface EntryRecord {
  format: number;
  npm: string;
  packages: NpmPackage[];
  entries: ZipEntry[];
  blobs: Record<string, string>;
  tree: FolderRecord;
}

export interface DependencyOptions {
  project: NpmProject | undefined;
  repository: RepositoryConfig;
  cacheDir: string;
  /** Keep the installed tree in the cache entry (the bundler reads it). */
  keepTree: boolean;
}

/** The key of what `npm ci` would install: the lock, package.json, local tarballs by content, the CPU. */
export function dependencyKey(project: NpmProject, cpu: string, purpose: string): string {
  const hash = createHash('sha256').update(`lambda-cd npm ${FORMAT} ${purpose} ${cpu}\n`);
  for (const file of [project.packageJson, project.lockFile!]) hash.update(`${path.basename(file)}\n`).update(readFileSync(file)).update('\n');
  for (const local of project.localFiles) {
    if (local.endsWith('/')) hash.update(`${local}\n`); // a folder: by name (npm packs it; its content is read at install)
    else hash.update(`${local}\n`).update(readFileSync(path.join(project.root, local))).update('\n');
  }
  return hash.digest('hex').slice(0, 32);
}

export async function productionDependencies(options: DependencyOptions): Promise<Dependencies> {
  const { project } = options;
  if (!project?.lockFile || project.packages.every((pkg) => pkg.dev)) return { entries: [], packages: [], cacheHit: false };
  const cpu = npmCpu(options.repository.architecture);
  const base = path.join(options.cacheDir, 'npm-package');
  const entryDir = path.join(base, dependencyKey(project, cpu, 'production'));
  const shownLock = displayPath(project.lockFile);
  const cached = await readEntry(entryDir, options.keepTree);
  if (cached) {
    progress('package', `node_modules/ for linux ${cpu} from the cache (${cached.packages.length} packages, ${shownLock} unchanged)`);
    return fromRecord(entryDir, cached, true, options.keepTree);
  }
  await mkdir(base, { recursive: true }).catch((error: unknown) => Promise.reject(cacheFailure(options.cacheDir, error)));
  await removeDeadTemporaries(base);
  const npm = await requireNpm('package');
  const stage = path.join(base, temporaryName('work'));
  const release = removeOnInterrupt(stage);
  try {
    await stageProject(project, stage);
    progress('package', `npm ci --omit=dev for linux ${cpu} (glibc) from ${shownLock}`);
    await npmCi({
      prefix: stage, args: ['--omit=dev', '--os=linux', `--cpu=${cpu}`, '--libc=glibc'], cacheDir: path.join(options.cacheDir, 'npm'), shown: shownLock, step: 'package',
      what: `npm ci (${shownLock})`,
    });
    const installed = project.packages.filter((pkg) => !pkg.dev && existsSync(path.join(stage, pkg.location, 'package.json')));
    checkInstallScripts(stage, installed, cpu, shownLock);
    const files = await listTree(path.join(stage, 'node_modules'), 'node_modules/');
    const entries = await compressFiles(files, path.join(stage, 'deps'), { concurrency: Math.max(2, usableCpus()) });
    const blobs: Record<string, string> = {};
    for (const blob of new Set(entries.map((entry) => entry.blob!))) blobs[path.basename(blob)] = createHash('sha256').update(await readFile(blob)).digest('hex');
    const record: EntryRecord = {
      format: FORMAT, npm, entries: entries.map((entry) => ({ ...entry, blob: path.basename(entry.blob!) })),
      packages: uniquePackages(installed), blobs, tree: options.keepTree ? recordFolder(path.join(stage, 'node_modules'), '') : {},
    };
    // The installed tree stays in the entry (removing thousands of files costs as much as zipping them);
    // only Bundle: esbuild reads it, after checking it against its record.
    await writeFile(path.join(stage, 'entry.json'), JSON.stringify(record));
    await rm(entryDir, { recursive: true, force: true });
    await rename(stage, entryDir);
    await evictOldEntries(base, entryDir);
    return fromRecord(entryDir, record, false, options.keepTree);
  } finally {
    release();
    await rm(stage, { recursive: true, force: true });
  }
}

/**
 * package.json and the lock in a folder of ours, with the repository's local folders that lock
 * entries point at (`file:vendor/x.tgz`) linked in at the same relative place, so npm resolves
 * them as it would in the repository; node_modules/ of the repository is never read or touched.
 */
export async function stageProject(project: NpmProject, stage: string): Promise<void> {
  await mkdir(stage, { recursive: true });
  await writeFile(path.join(stage, 'package.json'), readFileSync(project.packageJson));
  await writeFile(path.join(stage, path.basename(project.lockFile!)), readFileSync(project.lockFile!));
  const tops = new Set(project.localFiles.map((local) => local.split('/')[0]!).filter((top) => top !== 'node_modules' && top !== ''));
  for (const top of tops) await symlink(path.join(project.root, top), path.join(stage, top));
}

async function readEntry(entryDir: string, keepTree: boolean): Promise<EntryRecord | undefined> {
  let record: EntryRecord;
  try {
    record = JSON.parse(await readFile(path.join(entryDir, 'entry.json'), 'utf8')) as EntryRecord;
  } catch {
    if (existsSync(entryDir)) warn(`${displayPath(entryDir)}: cache entry without a readable record; installing again`);
    return undefined;
  }
  const problem = await verifyEntry(entryDir, record, keepTree);
  if (problem === undefined) {
    const now = new Date();
    await utimes(path.join(entryDir, 'entry.json'), now, now).catch(() => undefined); // most recently used (eviction)
    return record;
  }
  warn(`${displayPath(entryDir)}: cached node_modules/ discarded (${problem}); installing again`);
  await rm(entryDir, { recursive: true, force: true });
  return undefined;
}

/** Why an entry cannot be used, or undefined: every blob by its sha256, the kept tree by its record. */
async function verifyEntry(entryDir: string, record: EntryRecord, keepTree: boolean): Promise<string | undefined> {
  if (record.format !== FORMAT || !Array.isArray(record.entries) || typeof record.blobs !== 'object') return 'an older or unknown format';
  for (const entry of record.entries) {
    if (typeof entry.blob !== 'string' || !Object.hasOwn(record.blobs, entry.blob) || !/^[\w.-]+$/.test(entry.blob) || !/^node_modules\//.test(entry.name) || entry.name.split('/').includes('..')) return `entry ${safeName(String(entry.name))} is not one lambda-cd writes`;
  }
  for (const [blob, digest] of Object.entries(record.blobs)) {
    if (!/^[\w.-]+$/.test(blob)) return `blob ${safeName(blob)} is not one lambda-cd writes`;
    const data = await readFile(path.join(entryDir, blob)).catch(() => undefined);
    if (!data) return `${blob} is missing`;
    if (createHash('sha256').update(data).digest('hex') !== digest) return `${blob} was changed`;
  }
  if (keepTree) {
    if (Object.keys(record.tree ?? {}).length === 0) return 'the installed tree was not kept';
    const problem = verifyFolder(path.join(entryDir, 'node_modules'), '', record.tree);
    if (problem) return problem;
  }
  return undefined;
}

function fromRecord(entryDir: string, record: EntryRecord, cacheHit: boolean, keepTree: boolean): Dependencies {
  return {
    entries: record.entries.map((entry) => ({ ...entry, blob: path.join(entryDir, entry.blob!) })),
    packages: record.packages,
    cacheHit,
    ...(keepTree ? { nodeModules: path.join(entryDir, 'node_modules') } : {}),
  };
}

/** Every file below an installed node_modules/, sorted; npm's own bookkeeping and .bin/ links are left out. */
export async function listTree(folder: string, prefix: string): Promise<FileToZip[]> {
  const files: FileToZip[] = [];
  const walk = async (dir: string, relative: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const name = `${relative}${entry.name}`;
      if (relative === '' && (entry.name === '.bin' || entry.name === '.package-lock.json')) continue;
      if (entry.name === '.bin' && entry.isDirectory() && /(^|\/)node_modules\/$/.test(`${prefix}${relative}`)) continue;
      const absolute = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(absolute, `${name}/`);
      else if (entry.isFile()) {
        const info = await lstat(absolute);
        files.push({ name: `${prefix}${toPosix(name)}`, path: absolute, executable: (info.mode & 0o111) !== 0, size: info.size });
      } else if (entry.isSymbolicLink()) {
        throw new ConfigError(`${prefix}${safeName(name)}: npm installed a symlink, which a zip for Lambda does not hold; a folder dependency (file:../x) should be packed: npm pack it into the repository and depend on the tarball`);
      }
    }
  };
  if (existsSync(folder)) await walk(folder, '');
  return files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function uniquePackages(installed: { name: string; version: string }[]): NpmPackage[] {
  const seen = new Map<string, NpmPackage>();
  for (const pkg of installed) seen.set(`${pkg.name}@${pkg.version}`, { name: pkg.name, version: pkg.version });
  return [...seen.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.version < b.version ? -1 : 1));
}

/** Removes all but the KEEP_ENTRIES most recently used entries (never `current`). */
async function evictOldEntries(base: string, current: string): Promise<void> {
  const names = (await readdir(base).catch(() => [] as string[])).filter((name) => /^[0-9a-f]{32}$/.test(name));
  const used = await Promise.all(names.map(async (name) => ({ name, time: (await stat(path.join(base, name, 'entry.json')).catch(() => undefined))?.mtimeMs ?? 0 })));
  const old = used.filter(({ name }) => path.join(base, name) !== current).sort((a, b) => b.time - a.time).slice(KEEP_ENTRIES - 1);
  await Promise.all(old.map(({ name }) => rm(path.join(base, name), { recursive: true, force: true })));
}
