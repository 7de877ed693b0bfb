/**
 * Deterministic zip writing in two steps, so compressed data can be cached and reused:
 *
 * 1. `compressFiles` deflates files into "blob" files (one per worker, several at once on
 *    the libuv thread pool), recording each entry's CRC, sizes and where its data lies; a
 *    small set (a src-only rebuild's few modules) is deflated here, into memory, instead.
 * 2. `writeZip` writes the archive from those records in two parts, each sorted by name
 *    (a package zip: first what the wheels place, then src/), with one central directory
 *    sorted by name; every timestamp 1980-01-01 00:00 (the zip epoch), Unix modes 0644 for
 *    files, 0755 for executables and directories, no extra fields, no data descriptors. The
 *    bytes depend only on names, modes and contents: not on umask, mtimes, time zone or
 *    order on disk. The first part's bytes depend on its entries alone (local headers hold
 *    no offsets), so they can be kept and copied verbatim into a later zip.
 *
 * Both steps stream through fixed-size buffers, so memory stays flat however large the
 * package. Not archiver: it cannot append entries compressed in an earlier run, and that
 * reuse is what makes a rebuild with only src/ changed cheap.
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, createReadStream, openSync, readFileSync, readSync, write, writeSync } from 'node:fs';
import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

export interface FileToZip {
  /** Name inside the zip: POSIX separators, no leading slash. */
  name: string;
  /** Path on disk (unused when `data` is given). */
  path: string;
  executable: boolean;
  /** When known, the largest files are started first (they bound the parallel compression). Required with `offset`. */
  size?: number;
  /** The content is the `size` bytes at this position of `path` (a stored member of a wheel). */
  offset?: number;
  /** The content itself (a file lambda-cd generates, such as a rewritten RECORD). */
  data?: Buffer;
}

/** One entry whose data is ready, compressed, in a blob file. Directories have no blob. */
export interface ZipEntry {
  /** Directories end with '/'. */
  name: string;
  executable: boolean;
  method: 0 | 8;
  crc: number;
  size: number;
  compressedSize: number;
  /** Path of the blob holding the data (absolute, or relative to a base the caller resolves). */
  blob?: string;
  offset: number;
  /** The (compressed) data itself, when compressFiles kept it in memory: then there is no blob. */
  data?: Buffer;
}

export interface ZipWritten {
  sha256: string;
  size: number;
}

const DEFLATE_LEVEL = 6; // zip's default: the same sizes as `zip -r`
const WHOLE_FILE_LIMIT = 4 * 1024 * 1024; // smaller files are read whole; larger ones go in chunks
const CHUNK = 1024 * 1024;
const WINDOW = 32 * 1024; // deflate's history
const PARALLEL_CHUNKS = 4;
const DOS_DATE_1980_01_01 = (0 << 9) | (1 << 5) | 1;
export const MAX_ZIP_ENTRIES = 0xffff; // without zip64
const MAX_OFFSET = 0xffffffff;
const deflateRaw = promisify(zlib.deflateRaw);
/**
 * Up to this many bytes in all (and with `inMemory`), compressFiles deflates on this thread into
 * memory: for a few dozen small files, opening blob files and a thread-pool round trip per read
 * and write cost more than the deflating (about 10 ms per MB). The bytes are the same either way.
 */
export const IN_MEMORY_LIMIT = 1024 * 1024;

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 as zip uses it (zlib.crc32 from Node 20.15; a table otherwise). */
export function crc32(data: Uint8Array, previous = 0): number {
  const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
  if (native) return native(data, previous);
  let crc = ~previous >>> 0;
  for (const byte of data) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

/** Appends to one blob file; positional writes let a stored entry overwrite a failed deflate. */
class Blob {
  private constructor(readonly file: string, private readonly handle: FileHandle, public length = 0) {}
  static async create(file: string): Promise<Blob> {
    return new Blob(file, await open(file, 'w'));
  }
  async writeAt(position: number, data: Uint8Array): Promise<void> {
    let written = 0;
    while (written < data.length) written += (await this.handle.write(data, written, data.length - written, position + written)).bytesWritten;
  }
  async close(): Promise<void> {
    await this.handle.truncate(this.length);
    await this.handle.close();
  }

  /**
   * A large file in 1 MB chunks deflated in parallel on the thread pool (as pigz does):
   * every chunk but the last ends on a sync flush, and each starts with the previous 32 KB
   * as its dictionary, so the concatenation is one deflate stream nearly as small as a
   * serial one. One big shared library no longer bounds the whole compression.
   */
  private async deflateLarge(file: string, size: number, offset: number, start: number): Promise<{ crc: number; compressedSize: number }> {
    const handle = await open(file, 'r');
    const pending: Promise<Buffer>[] = [];
    let position = offset;
    const writeNext = async () => {
      const data = await pending.shift()!;
      await this.writeAt(position, data);
      position += data.length;
    };
    try {
      let crc = 0;
      let dictionary: Buffer | undefined;
      for (let read = 0; read < size; ) {
        const chunk = Buffer.allocUnsafe(Math.min(CHUNK, size - read));
        for (let filled = 0; filled < chunk.length; ) {
          const { bytesRead } = await handle.read(chunk, filled, chunk.length - filled, start + read + filled);
          if (bytesRead === 0) throw new Error(`${file}: changed while being zipped`);
          filled += bytesRead;
        }
        read += chunk.length;
        crc = crc32(chunk, crc);
        const finishFlush = read >= size ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH;
        pending.push(deflateRaw(chunk, { level: DEFLATE_LEVEL, finishFlush, ...(dictionary ? { dictionary } : {}) }));
        dictionary = chunk.subarray(Math.max(0, chunk.length - WINDOW));
        if (pending.length >= PARALLEL_CHUNKS) await writeNext();
      }
      while (pending.length > 0) await writeNext();
      return { crc, compressedSize: position - offset };
    } finally {
      await Promise.allSettled(pending);
      await handle.close();
    }
  }

  /** Compresses `file` into this blob; stores it instead when deflate does not make it smaller. */
  async add(file: FileToZip): Promise<ZipEntry> {
    const offset = this.length;
    const start = file.offset ?? 0;
    const size = file.data?.length ?? (file.offset !== undefined ? file.size! : (await stat(file.path)).size);
    const entry: ZipEntry = { name: file.name, executable: file.executable, method: 8, crc: 0, size, compressedSize: 0, blob: this.file, offset };
    if (file.data || size <= WHOLE_FILE_LIMIT) {
      const data = file.data ?? (file.offset !== undefined ? await readRange(file.path, start, size) : await readFile(file.path));
      // Small files deflate faster here than through a thread-pool round trip.
      const whole = smallerOf(data, data.length < 16 * 1024 ? zlib.deflateRawSync(data, { level: DEFLATE_LEVEL }) : await deflateRaw(data, { level: DEFLATE_LEVEL }));
      await this.writeAt(offset, whole.bytes);
      Object.assign(entry, whole.fields);
    } else {
      Object.assign(entry, await this.deflateLarge(file.path, size, offset, start));
      if (entry.compressedSize >= size) {
        let position = offset;
        for await (const chunk of createReadStream(file.path, { highWaterMark: CHUNK, start, end: start + size - 1 })) {
          await this.writeAt(position, chunk as Buffer);
          position += (chunk as Buffer).length;
        }
        Object.assign(entry, { method: 0, compressedSize: size });
      }
    }
    this.length = offset + entry.compressedSize;
    return entry;
  }
}

/** A whole file's entry fields: deflated, or stored when deflate does not make it smaller. */
function smallerOf(data: Buffer, compressed: Buffer): { bytes: Buffer; fields: Pick<ZipEntry, 'crc' | 'size' | 'method' | 'compressedSize'> } {
  const stored = compressed.length >= data.length;
  const bytes = stored ? data : compressed;
  return { bytes, fields: { crc: crc32(data), size: data.length, method: stored ? 0 : 8, compressedSize: bytes.length } };
}

/** One file deflated here into memory, with the same bytes Blob.add gives it (files up to WHOLE_FILE_LIMIT). */
function compressInMemory(file: FileToZip): ZipEntry {
  const data = file.data ?? (file.offset !== undefined ? readRangeSync(file.path, file.offset, file.size!) : readFileSync(file.path));
  const whole = smallerOf(data, zlib.deflateRawSync(data, { level: DEFLATE_LEVEL }));
  return { name: file.name, executable: file.executable, ...whole.fields, offset: 0, data: whole.bytes };
}

function readRangeSync(file: string, start: number, size: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const data = Buffer.allocUnsafe(size);
    for (let filled = 0; filled < size; ) {
      const bytesRead = readSync(fd, data, filled, size - filled, start + filled);
      if (bytesRead === 0) throw new Error(`${file}: changed while being zipped`);
      filled += bytesRead;
    }
    return data;
  } finally {
    closeSync(fd);
  }
}

/** Whether compressFiles with `inMemory` keeps these files' data in memory: sizes known, IN_MEMORY_LIMIT bytes in all at most. */
export function fitsInMemory(files: FileToZip[]): boolean {
  let total = 0;
  for (const file of files) {
    const size = file.data?.length ?? file.size;
    if (size === undefined) return false;
    total += size;
    if (total > IN_MEMORY_LIMIT) return false;
  }
  return true;
}

async function readRange(file: string, start: number, size: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const data = Buffer.allocUnsafe(size);
    for (let filled = 0; filled < size; ) {
      const { bytesRead } = await handle.read(data, filled, size - filled, start + filled);
      if (bytesRead === 0) throw new Error(`${file}: changed while being zipped`);
      filled += bytesRead;
    }
    return data;
  } finally {
    await handle.close();
  }
}

/**
 * Compresses `files` into blob files `<blobPrefix>-<n>.bin` with `concurrency` workers; with
 * `inMemory`, a set that fits in memory (fitsInMemory) is deflated here and its entries hold
 * the data instead (for a zip written now, not for blobs kept in a cache). `onProgress` is
 * called after each file with the bytes read so far.
 */
export async function compressFiles(files: FileToZip[], blobPrefix: string, options: { concurrency?: number; onProgress?: (files: number, bytes: number) => void; inMemory?: boolean } = {}): Promise<ZipEntry[]> {
  if (options.inMemory && fitsInMemory(files)) {
    let bytes = 0;
    return files.map((file, index) => {
      const entry = compressInMemory(file);
      bytes += entry.size;
      options.onProgress?.(index + 1, bytes);
      return entry;
    });
  }
  const workers = Math.max(1, Math.min(options.concurrency ?? 4, files.length));
  const entries: ZipEntry[] = new Array(files.length);
  const order = files.map((_, index) => index).sort((a, b) => (files[b]!.size ?? 0) - (files[a]!.size ?? 0));
  let next = 0;
  let done = 0;
  let bytes = 0;
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      const blob = await Blob.create(`${blobPrefix}-${worker}.bin`);
      try {
        while (next < files.length) {
          const index = order[next++]!;
          entries[index] = await blob.add(files[index]!);
          bytes += entries[index]!.size;
          options.onProgress?.(++done, bytes);
        }
      } finally {
        await blob.close();
      }
    }),
  );
  return entries;
}

/** Directory entries for every parent folder of `names`. */
export function directoryEntries(names: string[]): ZipEntry[] {
  const folders = new Set<string>();
  for (const name of names) {
    // Deepest first: once a folder is known, so are its parents.
    for (let end = name.lastIndexOf('/'); end > 0; end = name.lastIndexOf('/', end - 1)) {
      const folder = name.slice(0, end + 1);
      if (folders.has(folder)) break;
      folders.add(folder);
    }
  }
  return [...folders].map((name) => ({ name, executable: true, method: 0, crc: 0, size: 0, compressedSize: 0, offset: 0 }));
}

const SURROGATE = /[\ud800-\udfff]/;

/** Byte order of the UTF-8 names: the same on every machine and locale. */
export function compareNames(a: string, b: string): number {
  // UTF-16 order is UTF-8 byte order unless a string holds a surrogate pair (a character beyond U+FFFF).
  if (!SURROGATE.test(a) && !SURROGATE.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * Buffered output that hashes what it writes, at explicit positions. Synchronous I/O: writing
 * the zip is a tight copy loop over thousands of small entries, where a thread-pool round trip
 * per read would cost more than the copy. A large kept part (copyHashed) is the exception.
 */
class Output {
  private buffer = Buffer.allocUnsafe(1024 * 1024);
  private used = 0;
  /** Bytes written so far, the buffered ones included. */
  position = 0;
  readonly hash = createHash('sha256');
  constructor(private readonly fd: number) {}
  /** Room for `length` bytes in the buffer, to read into directly (then `commit` them); undefined when they do not fit. */
  reserve(length: number): Buffer | undefined {
    if (length > this.buffer.length) return undefined;
    if (this.used + length > this.buffer.length) this.flush();
    return this.buffer.subarray(this.used, this.used + length);
  }
  commit(length: number): void {
    this.used += length;
    this.position += length;
  }
  write(data: Uint8Array): void {
    if (this.used + data.length > this.buffer.length) this.flush();
    if (data.length > this.buffer.length) {
      writeAllAt(this.fd, data, this.position);
      this.hash.update(data);
    } else {
      this.buffer.set(data, this.used);
      this.used += data.length;
    }
    this.position += data.length;
  }
  flush(): void {
    if (this.used === 0) return;
    const chunk = this.buffer.subarray(0, this.used);
    this.hash.update(chunk);
    writeAllAt(this.fd, chunk, this.position - this.used);
    this.used = 0;
  }

  /**
   * Appends `length` bytes of `from` (a kept zip part: tens of MB), hashing them. Each chunk is
   * written on the thread pool while this thread hashes it (both only read the buffer), so the
   * copy costs about the larger of the two rather than their sum; the bytes hashed are the
   * bytes written.
   */
  async copyHashed(from: number, length: number, missing: () => string): Promise<void> {
    this.flush();
    const slots = Array.from({ length: COPY_SLOTS }, () => Buffer.allocUnsafe(Math.min(COPY_CHUNK, length)));
    const writes: Promise<void>[] = [];
    try {
      for (let copied = 0, n = 0; copied < length; n++) {
        if (writes.length === slots.length) await writes.shift(); // the oldest write, whose slot is this one
        const chunk = slots[n % slots.length]!.subarray(0, Math.min(COPY_CHUNK, length - copied));
        for (let filled = 0; filled < chunk.length; ) {
          const bytesRead = readSync(from, chunk, filled, chunk.length - filled, copied + filled);
          if (bytesRead === 0) throw new Error(missing());
          filled += bytesRead;
        }
        writes.push(writeAllAsync(this.fd, chunk, this.position));
        this.hash.update(chunk);
        this.position += chunk.length;
        copied += chunk.length;
      }
      await Promise.all(writes);
    } finally {
      await Promise.allSettled(writes);
    }
  }
}

const COPY_CHUNK = 4 * 1024 * 1024;
const COPY_SLOTS = 3;
const writeAsync = promisify(write);

function writeAllAt(fd: number, data: Uint8Array, position: number): void {
  for (let written = 0; written < data.length; ) written += writeSync(fd, data, written, data.length - written, position + written);
}

async function writeAllAsync(fd: number, data: Uint8Array, position: number): Promise<void> {
  for (let written = 0; written < data.length; ) written += (await writeAsync(fd, data, written, data.length - written, position + written)).bytesWritten;
}

/** Writes the local (or central) header of `entry` into `buffer` at `at`; returns the position after it. */
function writeHeader(buffer: Buffer, at: number, entry: ZipEntry, name: Buffer, central: boolean, localOffset = 0): number {
  const flags = name.length !== entry.name.length || /[^\x20-\x7e]/.test(entry.name) ? 0x0800 : 0; // UTF-8 names
  const directory = entry.name.endsWith('/');
  const mode = directory ? 0o40755 : entry.executable ? 0o100755 : 0o100644;
  at = buffer.writeUInt32LE(central ? 0x02014b50 : 0x04034b50, at);
  if (central) at = buffer.writeUInt16LE((3 << 8) | 20, at); // made by: Unix, spec 2.0
  at = buffer.writeUInt16LE(20, at); // version needed
  at = buffer.writeUInt16LE(flags, at);
  at = buffer.writeUInt16LE(entry.method, at);
  at = buffer.writeUInt16LE(0, at); // time 00:00:00
  at = buffer.writeUInt16LE(DOS_DATE_1980_01_01, at);
  at = buffer.writeUInt32LE(entry.crc >>> 0, at);
  at = buffer.writeUInt32LE(entry.compressedSize, at);
  at = buffer.writeUInt32LE(entry.size, at);
  at = buffer.writeUInt16LE(name.length, at);
  at = buffer.writeUInt16LE(0, at); // extra field length
  if (central) {
    at = buffer.writeUInt16LE(0, at); // comment length
    at = buffer.writeUInt16LE(0, at); // disk number
    at = buffer.writeUInt16LE(0, at); // internal attributes
    at = buffer.writeUInt32LE(((mode << 16) | (directory ? 0x10 : 0)) >>> 0, at);
    at = buffer.writeUInt32LE(localOffset, at);
  }
  return at + name.copy(buffer, at);
}

/**
 * Central directory records (46 bytes + the name each, no extra fields or comments), sorted by
 * name, and where each starts: what a zip part contributes to the zip's central directory.
 */
export interface CentralRecords {
  bytes: Buffer;
  starts: number[];
}

/** The name bytes of record `index`. */
export function recordName(records: CentralRecords, index: number): Buffer {
  const start = records.starts[index]!;
  return records.bytes.subarray(start + 46, start + 46 + records.bytes.readUInt16LE(start + 28));
}

/** The index of the record named `name` (UTF-8 bytes) in `records`, or where it would go (as a negative: -(index + 1)). */
export function findRecord(records: CentralRecords, name: Buffer, from = 0): number {
  let low = from;
  let high = records.starts.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const order = Buffer.compare(recordName(records, middle), name);
    if (order === 0) return middle;
    if (order < 0) low = middle + 1;
    else high = middle;
  }
  return -(low + 1);
}

/**
 * The first local entries of a zip, as bytes written before (a cached block): the `length`
 * bytes at the start of `file` are copied as they are, and their central directory records
 * (local header offsets into those bytes) are merged into the zip's.
 */
export interface ZipPrefix {
  file: string;
  length: number;
  central: CentralRecords;
}

export interface ZipWrittenParts extends ZipWritten {
  /** The first part: its length, central directory records, and the sha256 state after it (to verify a copied prefix, or hash a block made from it). */
  first: { length: number; central: CentralRecords; hash: Hash };
}

/**
 * Writes a zip at `file` in two parts: first `options.first` (entries to write, sorted here, or
 * a prefix copied verbatim), then `entries` (sorted here); the central directory lists all of
 * them sorted by name (each part's records merged, not rebuilt). The first part's bytes depend
 * only on its own entries, so it can be kept and copied into the next zip when only the second
 * part changed. Returns the zip's size and sha256, and the first part's extent and records.
 */
export async function writeZip(file: string, entries: ZipEntry[], options: { first?: ZipEntry[] | ZipPrefix } = {}): Promise<ZipWrittenParts> {
  const first = options.first ?? [];
  const prefix = Array.isArray(first) ? undefined : first;
  const total = entries.length + (prefix ? prefix.central.starts.length : (first as ZipEntry[]).length);
  if (total > MAX_ZIP_ENTRIES) throw new RangeError(`${total} files: more than a zip without zip64 holds (${MAX_ZIP_ENTRIES})`);
  const named = (list: ZipEntry[]) => list.map((entry) => ({ entry, name: Buffer.from(entry.name) })).sort((a, b) => Buffer.compare(a.name, b.name));
  const fd = openSync(file, 'w');
  const blobs = new Map<string, number>();
  try {
    const out = new Output(fd);
    const chunk = Buffer.allocUnsafe(1024 * 1024);
    const copy = (from: number, length: number, position: number, what: () => string) => {
      for (let copied = 0; copied < length; ) {
        const want = Math.min(chunk.length, length - copied);
        // Straight into the output buffer when it fits: one copy from the page cache, not two.
        const into = out.reserve(want) ?? chunk;
        const bytesRead = readSync(from, into, 0, want, position + copied);
        if (bytesRead === 0) throw new Error(what());
        if (into === chunk) out.write(chunk.subarray(0, bytesRead));
        else out.commit(bytesRead);
        copied += bytesRead;
      }
    };
    /** Writes the entries (sorted by name) and returns their central directory records. */
    const writeEntries = (list: { entry: ZipEntry; name: Buffer }[]): CentralRecords => {
      const bytes = Buffer.allocUnsafe(list.reduce((sum, { name }) => sum + 46 + name.length, 0));
      const starts: number[] = new Array(list.length);
      let at = 0;
      list.forEach(({ entry, name }, index) => {
        const headerOffset = out.position;
        if (headerOffset > MAX_OFFSET) throw new RangeError('zip larger than 4 GB (zip64 is not supported)');
        if (index > 0 && Buffer.compare(list[index - 1]!.name, name) === 0) throw new Error(`${entry.name}: two entries of that name`);
        starts[index] = at;
        at = writeHeader(bytes, at, entry, name, true, headerOffset);
        const local = out.reserve(30 + name.length)!;
        out.commit(writeHeader(local, 0, entry, name, false));
        if (entry.data) {
          if (entry.data.length !== entry.compressedSize) throw new Error(`${entry.name}: ${entry.data.length} bytes of data for a compressed size of ${entry.compressedSize}`);
          out.write(entry.data);
          return;
        }
        if (entry.blob === undefined || entry.compressedSize === 0) return;
        const blobPath = entry.blob;
        let blob = blobs.get(blobPath);
        if (blob === undefined) blobs.set(blobPath, (blob = openSync(blobPath, 'r')));
        copy(blob, entry.compressedSize, entry.offset, () => `${path.basename(blobPath)}: compressed data of ${entry.name} is missing`);
      });
      return { bytes, starts };
    };
    let firstCentral: CentralRecords;
    if (prefix) {
      const from = openSync(prefix.file, 'r');
      try {
        await out.copyHashed(from, prefix.length, () => `${path.basename(prefix.file)}: shorter than its ${prefix.length} bytes`);
      } finally {
        closeSync(from);
      }
      firstCentral = prefix.central;
    } else {
      firstCentral = writeEntries(named(first as ZipEntry[]));
    }
    out.flush();
    const firstPart = { length: out.position, central: firstCentral, hash: out.hash.copy() };
    const central = mergeRecords(firstCentral, writeEntries(named(entries)));
    const centralStart = out.position;
    out.write(central);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(total, 8);
    end.writeUInt16LE(total, 10);
    end.writeUInt32LE(out.position - centralStart, 12);
    end.writeUInt32LE(centralStart, 16);
    out.write(end);
    out.flush();
    return { sha256: out.hash.digest('hex'), size: out.position, first: firstPart };
  } finally {
    for (const blob of blobs.values()) closeSync(blob);
    closeSync(fd);
  }
}

/**
 * Two sorted runs of central directory records as one sorted run. The second (src/, usually a
 * few dozen records) is placed into the first (thousands) by binary search, and the first is
 * copied in stretches: no record is parsed or rebuilt.
 */
function mergeRecords(first: CentralRecords, second: CentralRecords): Buffer {
  const merged = Buffer.allocUnsafe(first.bytes.length + second.bytes.length);
  const startOf = (records: CentralRecords, index: number) => (index < records.starts.length ? records.starts[index]! : records.bytes.length);
  let at = 0;
  let from = 0;
  for (let index = 0; index < second.starts.length; index++) {
    const found = findRecord(first, recordName(second, index), from);
    if (found >= 0) throw new Error(`${recordName(second, index).toString()}: in both parts of the zip`);
    const place = -found - 1;
    at += first.bytes.copy(merged, at, startOf(first, from), startOf(first, place));
    at += second.bytes.copy(merged, at, second.starts[index]!, startOf(second, index + 1));
    from = place;
  }
  first.bytes.copy(merged, at, startOf(first, from));
  return merged;
}
