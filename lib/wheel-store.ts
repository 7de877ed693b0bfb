/**
 * The wheel cache: every wheel a package build used, stored under its sha256
 * (`<cache>/wheels/<sha256>/wheel.whl`), so a rebuild with one requirement changed fetches and
 * checks only that wheel. The cache is untrusted (CI restores it from S3 or shares it):
 *  - a wheel enters only after its bytes hashed to the sha256 the resolve recorded, its zip structure was
 *    read and every member was inflated and its CRC and size checked;
 *  - on every later use its bytes are hashed again and must give the folder's name: a flipped
 *    bit or a truncated file is found before anything is copied, the folder is discarded (one
 *    warning line) and the wheel is fetched again;
 *  - members a wheel stores uncompressed (or with a method other than deflate) are compressed by
 *    us once and kept beside it (`derived.json` + `derived-N.bin`); those records are checked
 *    against the wheel's own directory (same member, CRC and size, data inside the blob) and
 *    inflated to check their CRC before use, and recomputed when anything is off.
 * Folder and file names are fixed or validated hex; nothing read from the cache names a path.
 */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync } from 'node:fs';
import { lstat, mkdir, open, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cacheFailure, temporaryName } from './atomic.js';
import { warn } from './output.js';
import { compressFiles, type FileToZip, type ZipEntry } from './zip.js';
import { readZipDirectory, verifyMembers, ZipFormatError, type ZipMember } from './zip-read.js';

const SHA256 = /^[0-9a-f]{64}$/;
const DERIVED_FORMAT = 'derived-v1';
const DERIVED_BLOB = /^derived-\d+\.bin$/;
/** Unreferenced wheels stay this long (another run may be about to reference them). */
const UNREFERENCED_KEPT_MS = 60 * 60 * 1000;

export interface StoredWheel {
  sha256: string;
  file: string;
  members: ZipMember[];
}

/** A member's data replaced by our own compression of it. */
export interface DerivedMember {
  member: string;
  blob: string;
  offset: number;
  compressedSize: number;
  method: 0 | 8;
  crc: number;
  size: number;
}

/** A wheel that is not a valid zip, or whose members are corrupt: the wheel itself is bad. */
export class CorruptWheelError extends Error {}

export class WheelStore {
  constructor(readonly root: string) {}

  private folder(sha256: string): string {
    if (!SHA256.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
    return path.join(this.root, sha256);
  }

  /** The stored wheel, verified by its hash; undefined when absent or corrupt (then removed, with a warning). */
  async get(sha256: string, label: string): Promise<StoredWheel | undefined> {
    const wheel = await this.open(sha256, label);
    if (!wheel) return undefined;
    if ((await sha256File(wheel.file).catch(() => undefined)) === sha256) return wheel;
    await this.discardCorrupt(sha256, label);
    return undefined;
  }

  /**
   * The stored wheel with its directory read, its hash NOT yet checked: the caller verifies it
   * (`intact`) before anything built from it is used. Undefined when absent, or when it is not a
   * plain folder with a readable wheel (then removed, with a warning).
   */
  async open(sha256: string, label: string): Promise<StoredWheel | undefined> {
    const file = path.join(this.folder(sha256), 'wheel.whl');
    const [folderInfo, fileInfo] = await Promise.all([lstat(this.folder(sha256)).catch(() => undefined), lstat(file).catch(() => undefined)]);
    if (!folderInfo) return undefined;
    if (!folderInfo.isDirectory() || !fileInfo?.isFile()) {
      // A symlink or a file where our folder belongs: never follow it, never write through it.
      warn(`cache: the cached ${label} is not a plain folder with its wheel: discarded, fetching it again`);
      await this.discard(sha256);
      return undefined;
    }
    try {
      return { sha256, file, members: withFile(file, (fd) => readZipDirectory(fd)) };
    } catch (error) {
      if (!(error instanceof ZipFormatError)) throw error;
      await this.discardCorrupt(sha256, label);
      return undefined;
    }
  }

  /** Of the stored wheels named `sha256s`, those whose bytes hash to their name (on a worker thread when they are large, in parallel with whatever the caller does meanwhile). */
  async intact(sha256s: string[]): Promise<Set<string>> {
    const names = sha256s.filter((sha256) => SHA256.test(sha256));
    const hashes = await sha256Files(names.map((sha256) => path.join(this.folder(sha256), 'wheel.whl')));
    return new Set(names.filter((sha256, index) => hashes[index] === sha256));
  }

  async discardCorrupt(sha256: string, label: string): Promise<void> {
    warn(`cache: the cached ${label} is corrupt (its sha256 no longer matches): discarded, fetching it again`);
    await this.discard(sha256);
  }

  /**
   * Copies `source` in. Its sha256 must be `expected` when given (what the resolve recorded: an index page's #sha256, or pip's); its zip
   * structure and every member's CRC are checked. Throws CorruptWheelError when the wheel is bad.
   */
  async add(source: string, expected: string | undefined, label: string): Promise<StoredWheel> {
    await mkdir(this.root, { recursive: true }).catch((error: unknown) => Promise.reject(cacheFailure(this.root, error)));
    const temporary = path.join(this.root, temporaryName('tmp'));
    try {
      await mkdir(temporary).catch((error: unknown) => Promise.reject(cacheFailure(this.root, error)));
      const file = path.join(temporary, 'wheel.whl');
      const sha256 = await copyHashed(source, file).catch((error: unknown) => Promise.reject(cacheFailure(this.root, error)));
      if (expected !== undefined && sha256 !== expected) throw new CorruptWheelError(`${label}: its sha256 is ${sha256}, not ${expected}, the hash it was resolved with (did the file or the index change during the build?)`);
      const members = await checkWheel(file, label);
      await this.publish(temporary, sha256);
      return { sha256, file: path.join(this.folder(sha256), 'wheel.whl'), members };
    } finally {
      await rm(temporary, { recursive: true, force: true });
    }
  }

  private async publish(temporary: string, sha256: string): Promise<void> {
    try {
      await rename(temporary, this.folder(sha256));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw cacheFailure(this.root, error);
      // Stored meanwhile (by another run, or a corrupt leftover): keep a copy that verifies.
      if ((await sha256File(path.join(this.folder(sha256), 'wheel.whl')).catch(() => undefined)) === sha256) return;
      await this.discard(sha256);
      await rename(temporary, this.folder(sha256)).catch((again: unknown) => Promise.reject(cacheFailure(this.root, again)));
    }
  }

  async discard(sha256: string): Promise<void> {
    await rm(this.folder(sha256), { recursive: true, force: true }).catch((error: unknown) => Promise.reject(cacheFailure(this.root, error)));
  }

  /**
   * Our compression of the members in `wanted` (stored or other-method members the zip needs),
   * computed once per wheel and verified on every use. `compress` does the work when needed.
   */
  async derived(wheel: StoredWheel, wanted: ZipMember[], compress: (into: string) => Promise<DerivedMember[]>): Promise<{ members: DerivedMember[]; folder: string }> {
    const folder = this.folder(wheel.sha256);
    if (wanted.length === 0) return { members: [], folder };
    const known = await this.readDerived(wheel, wanted);
    if (known) return { members: known, folder };
    const failure = (error: unknown) => Promise.reject(cacheFailure(this.root, error));
    await rm(path.join(folder, 'derived.json'), { force: true }).catch(failure);
    for (const name of await readdir(folder).catch(() => [] as string[])) if (DERIVED_BLOB.test(name)) await rm(path.join(folder, name), { force: true }).catch(failure);
    const members = await compress(folder).catch(failure);
    await writeFile(path.join(folder, 'derived.json'), JSON.stringify({ format: DERIVED_FORMAT, members })).catch(failure);
    return { members, folder };
  }

  /** derived.json when it covers `wanted` and every record checks out; undefined otherwise (with a warning when corrupt). */
  private async readDerived(wheel: StoredWheel, wanted: ZipMember[]): Promise<DerivedMember[] | undefined> {
    const folder = this.folder(wheel.sha256);
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(path.join(folder, 'derived.json'), 'utf8'));
    } catch {
      return undefined;
    }
    const byName = new Map(wanted.map((member) => [member.name, member]));
    const records = (parsed as { format?: unknown; members?: unknown }).members;
    const problem = (() => {
      if ((parsed as { format?: unknown }).format !== DERIVED_FORMAT || !Array.isArray(records)) return 'unknown format';
      for (const record of records as DerivedMember[]) {
        const member = byName.get(record?.member);
        if (!member) return 'a record for a member the wheel does not have';
        if (typeof record.blob !== 'string' || !DERIVED_BLOB.test(record.blob)) return 'a record naming another file';
        if (record.crc !== member.crc || record.size !== member.size || (record.method !== 0 && record.method !== 8)) return `${member.name}: CRC or size differ from the wheel`;
        if (![record.offset, record.compressedSize].every((value) => Number.isSafeInteger(value) && value >= 0)) return 'a broken record';
      }
      if (new Set((records as DerivedMember[]).map((record) => record.member)).size !== byName.size || records.length !== byName.size) return 'records missing';
      return undefined;
    })();
    if (problem === undefined) {
      try {
        for (const [blob, members] of groupBy(records as DerivedMember[], (record) => record.blob)) {
          const file = path.join(folder, blob);
          const info = await lstat(file);
          if (!info.isFile()) throw new ZipFormatError('a blob that is not a plain file');
          const size = info.size;
          if (members.some((record) => record.offset + record.compressedSize > size)) throw new ZipFormatError('data outside the blob');
          const fd = openSync(file, 'r');
          try {
            await verifyMembers(file, fd, members.map((record) => ({ name: record.member, method: record.method, flags: 0, crc: record.crc, compressedSize: record.compressedSize, size: record.size, unixMode: 0, dataOffset: record.offset })));
          } finally {
            closeSync(fd);
          }
        }
        return records as DerivedMember[];
      } catch (error) {
        warn(`cache: compressed members kept for ${path.basename(folder).slice(0, 12)}… are corrupt (${(error as Error).message}): discarded, compressing them again`);
        return undefined;
      }
    }
    if (problem !== 'unknown format') warn(`cache: compressed members kept for ${path.basename(folder).slice(0, 12)}… are unusable (${problem}): discarded, compressing them again`);
    return undefined;
  }

  /** Removes wheels no kept build references and that did not enter the cache within the hour. */
  async prune(referenced: Set<string>): Promise<void> {
    const names = await readdir(this.root).catch(() => [] as string[]);
    const now = Date.now();
    await Promise.all(
      names.filter((name) => SHA256.test(name) && !referenced.has(name)).map(async (name) => {
        const info = await stat(path.join(this.root, name)).catch(() => undefined);
        if (info && now - info.mtimeMs > UNREFERENCED_KEPT_MS) await rm(path.join(this.root, name), { recursive: true, force: true });
      }),
    );
  }
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}

function withFile<T>(file: string, use: (fd: number) => T): T {
  const fd = openSync(file, 'r');
  try {
    return use(fd);
  } finally {
    closeSync(fd);
  }
}

/** Reads the zip directory and checks every member's CRC and size (what pip's unpacking would notice). */
async function checkWheel(file: string, label: string): Promise<ZipMember[]> {
  const fd = openSync(file, 'r');
  try {
    const members = readZipDirectory(fd);
    await verifyMembers(file, fd, members);
    return members;
  } catch (error) {
    if (error instanceof ZipFormatError) throw new CorruptWheelError(`${label}: not a valid wheel: ${error.message}`);
    throw error;
  } finally {
    closeSync(fd);
  }
}

/** Copies `source` to `target` (a new file), hashing the bytes as they are written: one read of the source, and the hash is of the very bytes stored. */
async function copyHashed(source: string, target: string): Promise<string> {
  const hash = createHash('sha256');
  const input = await open(source, 'r');
  try {
    const output = await open(target, 'wx');
    try {
      const buffer = Buffer.allocUnsafe(1024 * 1024);
      for (let position = 0; ; ) {
        const { bytesRead } = await input.read(buffer, 0, buffer.length, position);
        if (bytesRead === 0) break;
        const chunk = buffer.subarray(0, bytesRead);
        hash.update(chunk);
        for (let written = 0; written < bytesRead; ) written += (await output.write(chunk, written, bytesRead - written, position + written)).bytesWritten;
        position += bytesRead;
      }
    } finally {
      await output.close();
    }
  } finally {
    await input.close();
  }
  return hash.digest('hex');
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Compresses `files` (stored members, or extracted ones) into blobs in `folder`, as DerivedMember records. */
export async function compressMembers(folder: string, files: { member: ZipMember; source: FileToZip }[], concurrency: number): Promise<DerivedMember[]> {
  const entries: ZipEntry[] = await compressFiles(files.map((file) => file.source), path.join(folder, 'derived'), { concurrency });
  return entries.map((entry, index) => ({
    member: files[index]!.member.name, blob: path.basename(entry.blob!), offset: entry.offset, compressedSize: entry.compressedSize, method: entry.method, crc: entry.crc, size: entry.size,
  }));
}

/** Below this many bytes in all, hashing here is cheaper than starting a worker thread. */
const WORKER_THRESHOLD = 16 * 1024 * 1024;

/** sha256 of each file (null when unreadable or gone). */
async function sha256Files(files: string[]): Promise<(string | null)[]> {
  const sizes = await Promise.all(files.map((file) => stat(file).then((info) => info.size, () => 0)));
  if (sizes.reduce((sum, size) => sum + size, 0) > WORKER_THRESHOLD) return sha256FilesInWorker(files);
  return Promise.all(files.map((file) => sha256File(file).catch(() => null)));
}

/**
 * sha256 of each file (null when unreadable), computed on a worker thread: verifying a cache of
 * 50 MB of wheels then costs the main thread nothing while it plans and writes the zip.
 */
async function sha256FilesInWorker(files: string[]): Promise<(string | null)[]> {
  // Loaded here, not with this file: most builds hash less than the threshold, or nothing.
  const { Worker } = await import('node:worker_threads');
  const code = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { closeSync, openSync, readSync } = require('node:fs');
const buffer = Buffer.allocUnsafe(4 << 20);
parentPort.postMessage(workerData.map((file) => {
  try {
    const hash = createHash('sha256');
    const fd = openSync(file, 'r');
    try {
      for (let read; (read = readSync(fd, buffer, 0, buffer.length, null)) > 0; ) hash.update(buffer.subarray(0, read));
    } finally {
      closeSync(fd);
    }
    return hash.digest('hex');
  } catch {
    return null;
  }
}));`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true, workerData: files });
    worker.once('message', (hashes: (string | null)[]) => {
      resolve(hashes);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}
