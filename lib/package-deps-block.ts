/**
 * The kept deps part of a package zip (lib/zip.ts writes a zip as [what the wheels place]
 * [what src/ adds][central directory]): after a build, the first part's bytes are kept in the
 * requirements' cache entry (lib/package-requirements.ts), so a rebuild with only src/ changed
 * copies them as they are and compresses src/ alone: no wheel is opened, planned or copied.
 *
 * One file, `<entry>/deps-<sha256>.bin`, named by the sha256 of its whole content:
 *   [the zip's first part, L bytes][its central directory records, sorted, C bytes]
 *   [meta JSON, M bytes]["LCDB"][L: uint32 LE][C: uint32 LE][M: uint32 LE]
 * The records go into the new zip's central directory as they are (merged with src/'s by
 * name, lib/zip.ts): thousands of entries cost no parsing, sorting or rebuilding. The meta holds
 * what the manifest and the limits need, and which wheels (by sha256) and which lambda-cd made
 * it. Like everything in the
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
import { findRecord, MAX_ZIP_ENTRIES, type CentralRecords, type ZipPrefix } from './zip.js';

/** Bump when what the deps part holds changes (lib/wheel.ts, lib/package-layout.ts, lib/zip.ts). */
const FORMAT = 'deps-block-v2';
const MAGIC = 'LCDB';
const TRAILER = 16;
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
  /** Entries, directories included. */
  entryCount: number;
  /** Whether the part has an entry of this name (directories end with '/'). */
  has(name: string): boolean;
  /** Finishes the whole-file sha256 from the hash state after the copied part; true when it names the file. */
  verify(hashAfterPrefix: Hash): boolean;
  discard(): Promise<void>;
}

/** lambda-cd's version and zlib's (which compressed the generated files in it): another either way makes other bytes. */
const maker = () => `${version()} zlib ${process.versions.zlib}`;

interface StoredMeta extends BlockMeta {
  format: string;
  lambdaCd: string;
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
  let parsed: { meta: StoredMeta; length: number; central: CentralRecords; tail: Buffer };
  try {
    parsed = readMeta(file);
  } catch (error) {
    if (error instanceof OlderFormat) {
      await discard();
      return undefined;
    }
    warn(`cache: the kept zip part ${path.basename(file).slice(0, 17)}… is unusable (${escapeControl((error as Error).message)}): discarded, building from the wheels`);
    await discard();
    return undefined;
  }
  const { meta, length, central, tail } = parsed;
  const same = meta.lambdaCd === maker() && meta.wheels.length === wheels.length && meta.wheels.every((wheel, index) => wheel.sha256 === wheels[index]!.sha256 && wheel.requested === wheels[index]!.requested);
  if (!same) {
    await discard(); // made by another lambda-cd, or for other wheels: not damage, just not ours
    return undefined;
  }
  return {
    wheels: meta.wheels, distributions: meta.distributions, groups: meta.groups, unzippedSize: meta.unzippedSize, fileCount: meta.fileCount, warnings: meta.warnings,
    prefix: { file, length, central },
    entryCount: central.starts.length,
    has: (name) => findRecord(central, Buffer.from(name)) >= 0,
    verify: (hash) => hash.copy().update(tail).digest('hex') === sha256,
    discard: async () => {
      warn(`cache: the kept zip part ${path.basename(file).slice(0, 17)}… is corrupt (its sha256 no longer matches): discarded, building from the wheels`);
      await discard();
    },
  };
}

class OlderFormat extends Error {}

/** The records, meta and trailer of a block file, checked for shape (its hash is checked when it is used). */
function readMeta(file: string): { meta: StoredMeta; length: number; central: CentralRecords; tail: Buffer } {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size < TRAILER) throw new Error('too short');
    const trailer = Buffer.alloc(TRAILER);
    readSync(fd, trailer, 0, TRAILER, size - TRAILER);
    if (trailer.toString('latin1', 0, 4) !== MAGIC) {
      // deps-block-v1 (12-byte trailer, no records): an earlier lambda-cd's, not damage.
      if (trailer.toString('latin1', 4, 8) === MAGIC && trailer.readUInt32LE(8) + trailer.readUInt32LE(12) + 12 === size) throw new OlderFormat();
      throw new Error('no trailer');
    }
    const length = trailer.readUInt32LE(4);
    const centralLength = trailer.readUInt32LE(8);
    const metaLength = trailer.readUInt32LE(12);
    if (centralLength > MAX_META || metaLength > MAX_META || length + centralLength + metaLength + TRAILER !== size) throw new Error('lengths do not add up');
    const tail = Buffer.alloc(centralLength + metaLength + TRAILER);
    if (readSync(fd, tail, 0, tail.length, length) !== tail.length) throw new Error('truncated');
    const central = { bytes: tail.subarray(0, centralLength), starts: [] as number[] };
    const broken = recordsProblem(central, length);
    if (broken) throw new Error(broken);
    const meta = JSON.parse(tail.toString('utf8', centralLength, centralLength + metaLength)) as StoredMeta;
    const problem = metaProblem(meta);
    if (problem) throw new Error(problem);
    return { meta, length, central, tail };
  } finally {
    closeSync(fd);
  }
}

/**
 * Fills `central.starts`; a reason when the bytes are not records lambda-cd writes (lib/zip.ts):
 * no extra fields or comments, deflate or stored, data inside the part, names sorted and unique.
 */
function recordsProblem(central: CentralRecords, partLength: number): string | undefined {
  const { bytes, starts } = central;
  for (let at = 0; at < bytes.length; ) {
    if (at + 46 > bytes.length || bytes.readUInt32LE(at) !== 0x02014b50) return 'a broken entry';
    const nameLength = bytes.readUInt16LE(at + 28);
    const method = bytes.readUInt16LE(at + 10);
    if (nameLength === 0 || bytes.readUInt16LE(at + 30) !== 0 || bytes.readUInt16LE(at + 32) !== 0 || (method !== 0 && method !== 8) || at + 46 + nameLength > bytes.length) return 'a broken entry';
    if (bytes.readUInt32LE(at + 42) + 30 + nameLength + bytes.readUInt32LE(at + 20) > partLength) return 'an entry outside the part';
    starts.push(at);
    if (starts.length > MAX_ZIP_ENTRIES) return 'too many entries';
    at += 46 + nameLength;
  }
  for (let index = 1; index < starts.length; index++) {
    const previous = starts[index - 1]!;
    const start = starts[index]!;
    if (Buffer.compare(bytes.subarray(previous + 46, start), bytes.subarray(start + 46, start + 46 + bytes.readUInt16LE(start + 28))) >= 0) return 'entries out of order';
  }
  return undefined;
}

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

function metaProblem(meta: StoredMeta): string | undefined {
  if (typeof meta !== 'object' || meta === null || meta.format !== FORMAT) return 'unknown format';
  if (typeof meta.lambdaCd !== 'string' || !Array.isArray(meta.wheels) || !Array.isArray(meta.distributions) || !Array.isArray(meta.groups) || !Array.isArray(meta.warnings)) return 'not a record';
  if (!isCount(meta.unzippedSize) || !isCount(meta.fileCount)) return 'not a record';
  if (!meta.wheels.every((wheel) => typeof wheel?.sha256 === 'string' && typeof wheel.requested === 'boolean')) return 'not a record';
  if (!meta.distributions.every((d) => typeof d?.name === 'string' && typeof d.version === 'string' && typeof d.wheelTag === 'string')) return 'not a record';
  if (!meta.groups.every((g) => typeof g?.label === 'string' && isCount(g.bytes)) || !meta.warnings.every((w) => typeof w === 'string')) return 'not a record';
  return undefined;
}

/**
 * Keeps the first `part.length` bytes of the finished zip `zipFile` as the entry's deps block
 * (replacing any other). `part.hash` is the sha256 state after those bytes (from writeZip), so
 * they are not read again to be hashed. Best effort: the zip is done, a failure only costs the
 * next src-only build its shortcut (one warning).
 */
export async function keepDepsBlock(entryDir: string, zipFile: string, part: { length: number; central: CentralRecords; hash: Hash }, meta: BlockMeta): Promise<void> {
  const stored: StoredMeta = { format: FORMAT, lambdaCd: maker(), ...meta };
  const json = Buffer.from(JSON.stringify(stored));
  const trailer = Buffer.alloc(TRAILER);
  trailer.write(MAGIC, 0, 'latin1');
  trailer.writeUInt32LE(part.length, 4);
  trailer.writeUInt32LE(part.central.bytes.length, 8);
  trailer.writeUInt32LE(json.length, 12);
  const tail = Buffer.concat([part.central.bytes, json, trailer]);
  const sha256 = part.hash.copy().update(tail).digest('hex');
  // Beside the entries (not in one): where the next run removes what a killed run left.
  const temporary = path.join(path.dirname(entryDir), temporaryName('tmp'));
  const release = removeOnInterrupt(temporary);
  try {
    // The zip's bytes are in the page cache; copyFile lets the kernel copy (or reflink) them.
    await copyFile(zipFile, temporary);
    const handle = await open(temporary, 'r+');
    try {
      await handle.truncate(part.length);
      await handle.write(tail, 0, tail.length, part.length);
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

