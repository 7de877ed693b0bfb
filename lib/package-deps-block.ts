/**
 * The kept deps part of a package zip (lib/zip.ts writes a zip as [what the wheels place]
 * [what src/ adds][central directory]): after a build, the first part's bytes are kept in the
 * requirements' cache entry (lib/package-requirements.ts), so a rebuild with only src/ changed
 * copies them as they are and compresses src/ alone: no wheel is opened, planned or copied.
 *
 * One file, `<entry>/deps-<sha256>.bin`, named by the sha256 of its whole content:
 *   [the zip's first part, L bytes][meta JSON, M bytes]["LCDB"][L: uint32 LE][M: uint32 LE]
 * The meta lists the part's entries (for the central directory), what the manifest and the
 * limits need, and which wheels (by sha256) and which lambda-cd made it. Like everything in the
 * cache it is untrusted: the meta is only parsed before the zip is written, and the sha256 over
 * the whole file (the copied part hashed once, as the zip's own sha256 is computed) must give the
 * file's name before the zip replaces anything; otherwise the file is discarded with a warning
 * and the zip is built from the (verified) wheels again.
 */
import type { Hash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { copyFile, open, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { removeOnInterrupt, temporaryName } from './atomic.js';
import { warn } from './output.js';
import { escapeControl } from './redact.js';
import { version } from './version.js';
import type { PlacedEntry, ZipPrefix } from './zip.js';

/** Bump when what the deps part holds changes (lib/wheel.ts, lib/package-layout.ts, lib/zip.ts). */
const FORMAT = 'deps-block-v1';
const MAGIC = 'LCDB';
const TRAILER = 12;
const BLOCK = /^deps-([0-9a-f]{64})\.bin$/;
const MAX_META = 64 * 1024 * 1024;

export interface BlockDistribution {
  name: string;
  version: string;
  wheelTag: string;
}

/** What a kept deps part stands for, besides its bytes. */
export interface BlockMeta {
  /** The wheels (sha256, requested) in install order it was made from: the cache entry's record. */
  wheels: { sha256: string; requested: boolean }[];
  distributions: BlockDistribution[];
  /** Size per distribution, for the limit messages. */
  groups: { label: string; bytes: number }[];
  unzippedSize: number;
  /** Installed files (directories not counted). */
  fileCount: number;
  /** The layout's warnings (two distributions installing one file differently), repeated on reuse. */
  warnings: string[];
}

export interface DepsBlock extends BlockMeta {
  prefix: ZipPrefix;
  /** Entry names (directories end with '/'). */
  names: Set<string>;
  /** Finishes the whole-file sha256 from the hash state after the copied part; true when it names the file. */
  verify(hashAfterPrefix: Hash): boolean;
  discard(): Promise<void>;
}

/** lambda-cd's version and zlib's (which compressed the generated files in it): another either way makes other bytes. */
const maker = () => `${version()} zlib ${process.versions.zlib}`;

interface StoredMeta extends BlockMeta {
  format: string;
  lambdaCd: string;
  /** [name, executable 0|1, method, crc, size, compressedSize, headerOffset] */
  entries: [string, number, number, number, number, number, number][];
}

/** The entry's kept deps part for `wheels`; undefined when there is none, or it is not one this lambda-cd made for them (then removed, with a warning when damaged). */
export async function readDepsBlock(entryDir: string, wheels: { sha256: string; requested: boolean }[]): Promise<DepsBlock | undefined> {
  const names = (await readdir(entryDir).catch(() => [] as string[])).filter((name) => BLOCK.test(name));
  if (names.length !== 1) {
    await Promise.all(names.map((name) => rm(path.join(entryDir, name), { force: true }).catch(() => undefined)));
    return undefined;
  }
  const file = path.join(entryDir, names[0]!);
  const sha256 = BLOCK.exec(names[0]!)![1]!;
  const discard = () => rm(file, { force: true }).catch(() => undefined);
  let parsed: { meta: StoredMeta; length: number; tail: Buffer };
  try {
    parsed = readMeta(file);
  } catch (error) {
    warn(`cache: the kept zip part ${path.basename(file).slice(0, 17)}… is unusable (${escapeControl((error as Error).message)}): discarded, building from the wheels`);
    await discard();
    return undefined;
  }
  const { meta, length, tail } = parsed;
  const same = meta.lambdaCd === maker() && meta.wheels.length === wheels.length && meta.wheels.every((wheel, index) => wheel.sha256 === wheels[index]!.sha256 && wheel.requested === wheels[index]!.requested);
  if (!same) {
    await discard(); // made by another lambda-cd, or for other wheels: not damage, just not ours
    return undefined;
  }
  const entries: PlacedEntry[] = meta.entries.map(([name, executable, method, crc, size, compressedSize, headerOffset]) => ({
    entry: { name, executable: executable === 1, method: method as 0 | 8, crc, size, compressedSize, offset: 0 }, headerOffset,
  }));
  return {
    wheels: meta.wheels, distributions: meta.distributions, groups: meta.groups, unzippedSize: meta.unzippedSize, fileCount: meta.fileCount, warnings: meta.warnings,
    prefix: { file, length, entries },
    names: new Set(entries.map(({ entry }) => entry.name)),
    verify: (hash) => hash.copy().update(tail).digest('hex') === sha256,
    discard: async () => {
      warn(`cache: the kept zip part ${path.basename(file).slice(0, 17)}… is corrupt (its sha256 no longer matches): discarded, building from the wheels`);
      await discard();
    },
  };
}

/** The meta and trailer of a block file, checked for shape (its hash is checked when it is used). */
function readMeta(file: string): { meta: StoredMeta; length: number; tail: Buffer } {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size < TRAILER) throw new Error('too short');
    const trailer = Buffer.alloc(TRAILER);
    readSync(fd, trailer, 0, TRAILER, size - TRAILER);
    if (trailer.toString('latin1', 0, 4) !== MAGIC) throw new Error('no trailer');
    const length = trailer.readUInt32LE(4);
    const metaLength = trailer.readUInt32LE(8);
    if (metaLength > MAX_META || length + metaLength + TRAILER !== size) throw new Error('lengths do not add up');
    const tail = Buffer.alloc(metaLength + TRAILER);
    if (readSync(fd, tail, 0, tail.length, length) !== tail.length) throw new Error('truncated');
    const meta = JSON.parse(tail.toString('utf8', 0, metaLength)) as StoredMeta;
    const problem = metaProblem(meta, length);
    if (problem) throw new Error(problem);
    return { meta, length, tail };
  } finally {
    closeSync(fd);
  }
}

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

function metaProblem(meta: StoredMeta, length: number): string | undefined {
  if (typeof meta !== 'object' || meta === null || meta.format !== FORMAT) return 'unknown format';
  if (typeof meta.lambdaCd !== 'string' || !Array.isArray(meta.wheels) || !Array.isArray(meta.entries) || !Array.isArray(meta.distributions) || !Array.isArray(meta.groups) || !Array.isArray(meta.warnings)) return 'not a record';
  if (!isCount(meta.unzippedSize) || !isCount(meta.fileCount)) return 'not a record';
  if (!meta.wheels.every((wheel) => typeof wheel?.sha256 === 'string' && typeof wheel.requested === 'boolean')) return 'not a record';
  if (!meta.distributions.every((d) => typeof d?.name === 'string' && typeof d.version === 'string' && typeof d.wheelTag === 'string')) return 'not a record';
  if (!meta.groups.every((g) => typeof g?.label === 'string' && isCount(g.bytes)) || !meta.warnings.every((w) => typeof w === 'string')) return 'not a record';
  const seen = new Set<string>();
  for (const entry of meta.entries) {
    if (!Array.isArray(entry) || entry.length !== 7) return 'a broken entry';
    const [name, executable, method, crc, size, compressedSize, headerOffset] = entry;
    if (typeof name !== 'string' || name === '' || seen.has(name)) return 'a broken entry';
    seen.add(name);
    if ((executable !== 0 && executable !== 1) || (method !== 0 && method !== 8) || ![crc, size, compressedSize, headerOffset].every(isCount) || crc > 0xffffffff) return 'a broken entry';
    if (headerOffset + 30 + Buffer.byteLength(name) + compressedSize > length) return 'an entry outside the part';
  }
  return undefined;
}

/**
 * Keeps the first `part.length` bytes of the finished zip `zipFile` as the entry's deps block
 * (replacing any other). `part.hash` is the sha256 state after those bytes (from writeZip), so
 * they are not read again to be hashed. Best effort: the zip is done, a failure only costs the
 * next src-only build its shortcut (one warning).
 */
export async function keepDepsBlock(entryDir: string, zipFile: string, part: { length: number; entries: PlacedEntry[]; hash: Hash }, meta: BlockMeta): Promise<void> {
  const stored: StoredMeta = {
    format: FORMAT, lambdaCd: maker(), ...meta,
    entries: part.entries.map(({ entry, headerOffset }) => [entry.name, entry.executable ? 1 : 0, entry.method, entry.crc >>> 0, entry.size, entry.compressedSize, headerOffset]),
  };
  const json = Buffer.from(JSON.stringify(stored));
  const trailer = Buffer.alloc(TRAILER);
  trailer.write(MAGIC, 0, 'latin1');
  trailer.writeUInt32LE(part.length, 4);
  trailer.writeUInt32LE(json.length, 8);
  const sha256 = part.hash.copy().update(json).update(trailer).digest('hex');
  // Beside the entries (not in one): where the next run removes what a killed run left.
  const temporary = path.join(path.dirname(entryDir), temporaryName('tmp'));
  const release = removeOnInterrupt(temporary);
  try {
    // The zip's bytes are in the page cache; copyFile lets the kernel copy (or reflink) them.
    await copyFile(zipFile, temporary);
    const handle = await open(temporary, 'r+');
    try {
      await handle.truncate(part.length);
      await handle.write(Buffer.concat([json, trailer]), 0, json.length + TRAILER, part.length);
    } finally {
      await handle.close();
    }
    const name = `deps-${sha256}.bin`;
    await rename(temporary, path.join(entryDir, name));
    for (const other of await readdir(entryDir)) if (BLOCK.test(other) && other !== name) await rm(path.join(entryDir, other), { force: true });
  } catch (error) {
    warn(`cache: could not keep the zip's installed part for the next build (${escapeControl((error as NodeJS.ErrnoException).code ?? (error as Error).message)}); the next build copies the wheels again`);
  } finally {
    release();
    await rm(temporary, { force: true }).catch(() => undefined);
  }
}

