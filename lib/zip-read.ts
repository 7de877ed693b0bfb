/**
 * Reading zip archives we did not write (wheels): the central directory, where each member's
 * data starts, and the members' bytes. Only what lambda-cd needs to copy a wheel's already
 * deflated members into the deployment zip unchanged (lib/zip.ts writes them) and to check them:
 *  - `readZipDirectory`: members with method, CRC, sizes, Unix mode and data offset; the local
 *    header of every member is checked against the central directory (signature, name, range),
 *    as Python's zipfile does when it opens a member;
 *  - `readMember`: one (small) member inflated, its CRC and size checked;
 *  - `verifyMembers`: every member inflated on the thread pool and its CRC and size checked,
 *    streaming, so memory stays flat for a 100 MB shared library.
 * Anything malformed is a ZipFormatError saying what is wrong; the caller names the file.
 */
import { createReadStream, fstatSync, readSync } from 'node:fs';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { crc32 } from './zip.js';

export class ZipFormatError extends Error {}

export interface ZipMember {
  /** Decoded as Python's zipfile does: UTF-8 when flagged, else code page 437. */
  name: string;
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  /** The high 16 bits of the external attributes: the Unix mode when made on Unix (pip reads them whatever the system). */
  unixMode: number;
  /** Where the member's (compressed) data starts. */
  dataOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX_COMMENT = 0xffff;
const inflateRaw = promisify(zlib.inflateRaw);

/** Code page 437's upper half, the zip default for names without the UTF-8 flag. */
const CP437_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

/** The name at `start..end` of `data`, decoded as Python's zipfile does. */
function decodeName(data: Buffer, start: number, end: number, flags: number): string {
  if (flags & 0x0800) {
    try {
      return UTF8.decode(data.subarray(start, end));
    } catch {
      throw new ZipFormatError('a member name flagged as UTF-8 is not valid UTF-8');
    }
  }
  let ascii = true;
  for (let i = start; i < end && ascii; i++) ascii = data[i]! < 0x80;
  if (ascii) return data.toString('latin1', start, end); // nearly every name
  let name = '';
  for (let i = start; i < end; i++) name += data[i]! < 0x80 ? String.fromCharCode(data[i]!) : CP437_HIGH[data[i]! - 0x80]!;
  return name;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Where a zip's bytes come from: an open file, or the whole file already in memory (no copies then). */
export type ZipSource = number | Buffer;

function readAt(source: ZipSource, position: number, length: number): Buffer {
  if (typeof source !== 'number') {
    if (position + length > source.length) throw new ZipFormatError('the file ends early (truncated)');
    return source.subarray(position, position + length);
  }
  const fd = source;
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const read = readSync(fd, buffer, filled, length - filled, position + filled);
    if (read === 0) throw new ZipFormatError('the file ends early (truncated)');
    filled += read;
  }
  return buffer;
}

/** The end-of-central-directory record: where the directory is and how many members it has. */
function findDirectory(fd: ZipSource, fileSize: number): { offset: number; size: number; count: number } {
  if (fileSize < 22) throw new ZipFormatError('too short to be a zip archive');
  const tailLength = Math.min(fileSize, 22 + MAX_COMMENT);
  const tail = readAt(fd, fileSize - tailLength, tailLength);
  let at = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD && i + 22 + tail.readUInt16LE(i + 20) === tail.length) {
      at = i;
      break;
    }
  }
  if (at < 0) throw new ZipFormatError('no end of central directory record (not a zip archive, or truncated)');
  if (tail.readUInt16LE(at + 4) !== 0 || tail.readUInt16LE(at + 6) !== 0) throw new ZipFormatError('a multi-disk archive');
  let count = tail.readUInt16LE(at + 10);
  let size = tail.readUInt32LE(at + 12);
  let offset = tail.readUInt32LE(at + 16);
  const eocdPosition = fileSize - tailLength + at;
  if ((count === 0xffff || size === 0xffffffff || offset === 0xffffffff) && eocdPosition >= 20) {
    const locator = readAt(fd, eocdPosition - 20, 20);
    if (locator.readUInt32LE(0) === ZIP64_LOCATOR) {
      const recordAt = Number(locator.readBigUInt64LE(8));
      if (recordAt + 56 > eocdPosition) throw new ZipFormatError('a zip64 directory record outside the file');
      const record = readAt(fd, recordAt, 56);
      if (record.readUInt32LE(0) !== ZIP64_EOCD) throw new ZipFormatError('a broken zip64 directory record');
      count = Number(record.readBigUInt64LE(32));
      size = Number(record.readBigUInt64LE(40));
      offset = Number(record.readBigUInt64LE(48));
    }
  }
  if (offset + size > eocdPosition) throw new ZipFormatError('the central directory lies outside the file');
  return { offset, size, count };
}

/** Every member of the archive (open as `fd`, or in memory), in directory order, with its data offset checked. */
export function readZipDirectory(fd: ZipSource, fileSize = typeof fd === 'number' ? fstatSync(fd).size : fd.length): ZipMember[] {
  const directory = findDirectory(fd, fileSize);
  const data = readAt(fd, directory.offset, directory.size);
  const members: ZipMember[] = [];
  let at = 0;
  for (let index = 0; index < directory.count; index++) {
    if (at + 46 > data.length || data.readUInt32LE(at) !== CENTRAL) throw new ZipFormatError(`central directory record ${index + 1} is broken`);
    const flags = data.readUInt16LE(at + 8);
    const method = data.readUInt16LE(at + 10);
    const crc = data.readUInt32LE(at + 16);
    let compressedSize = data.readUInt32LE(at + 20);
    let size = data.readUInt32LE(at + 24);
    const nameLength = data.readUInt16LE(at + 28);
    const extraLength = data.readUInt16LE(at + 30);
    const commentLength = data.readUInt16LE(at + 32);
    const external = data.readUInt32LE(at + 38);
    let headerOffset = data.readUInt32LE(at + 42);
    const end = at + 46 + nameLength + extraLength + commentLength;
    if (end > data.length) throw new ZipFormatError(`central directory record ${index + 1} is broken`);
    const nameStart = at + 46;
    const nameEnd = nameStart + nameLength;
    // zip64: the values stored as 0xffffffff follow in the extra field, in this order.
    for (let e = nameEnd; e + 4 <= nameEnd + extraLength; ) {
      const id = data.readUInt16LE(e);
      const length = data.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let field = e + 4;
        const next = () => {
          if (field + 8 > Math.min(e + 4 + length, nameEnd + extraLength)) throw new ZipFormatError('a broken zip64 extra field');
          const value = Number(data.readBigUInt64LE(field));
          field += 8;
          return value;
        };
        if (size === 0xffffffff) size = next();
        if (compressedSize === 0xffffffff) compressedSize = next();
        if (headerOffset === 0xffffffff) headerOffset = next();
      }
      e += 4 + length;
    }
    const name = decodeName(data, nameStart, nameEnd, flags);
    if (flags & 0x0001) throw new ZipFormatError(`${printable(name)}: encrypted`);
    const dataOffset = localDataOffset(fd, headerOffset, data, nameStart, nameLength, compressedSize, directory.offset, name);
    members.push({ name, method, flags, crc, compressedSize, size, unixMode: external >>> 16, dataOffset });
    at = end;
  }
  return members;
}

/** Checks the member's local header (signature, the same name, data inside the archive) and returns where its data starts. */
function localDataOffset(fd: ZipSource, headerOffset: number, central: Buffer, nameStart: number, nameLength: number, compressedSize: number, directoryOffset: number, name: string): number {
  if (headerOffset + 30 + nameLength > directoryOffset) throw new ZipFormatError(`${printable(name)}: local header outside the archive`);
  // In memory, compare in place; from a file, read the header and name once.
  const local = typeof fd === 'number' ? readAt(fd, headerOffset, 30 + nameLength) : fd;
  const base = typeof fd === 'number' ? 0 : headerOffset;
  if (local.readUInt32LE(base) !== LOCAL) throw new ZipFormatError(`${printable(name)}: bad local header`);
  const localNameLength = local.readUInt16LE(base + 26);
  const extraLength = local.readUInt16LE(base + 28);
  if (localNameLength !== nameLength || local.compare(central, nameStart, nameStart + nameLength, base + 30, base + 30 + nameLength) !== 0) {
    throw new ZipFormatError(`${printable(name)}: the name in its local header differs from the central directory`);
  }
  const dataOffset = headerOffset + 30 + nameLength + extraLength;
  if (dataOffset + compressedSize > directoryOffset) throw new ZipFormatError(`${printable(name)}: data runs past the end of the archive`);
  return dataOffset;
}

function printable(name: string): string {
  return JSON.stringify(name).slice(0, 120);
}


/** One member's content, inflated, with its CRC and size checked. For small members (metadata). */
export async function readMember(fd: ZipSource, member: ZipMember): Promise<Buffer> {
  const raw = readAt(fd, member.dataOffset, member.compressedSize);
  let content: Buffer;
  if (member.method === 0) content = raw;
  else if (member.method === 8) content = raw.length < 64 * 1024 ? inflateSync(raw, member) : await inflateRaw(raw, { maxOutputLength: member.size + 1 }).catch(() => Promise.reject(corrupt(member)));
  else throw new ZipFormatError(`${member.name}: compression method ${member.method} is not supported here`);
  if (content.length !== member.size || crc32(content) !== member.crc) throw new ZipFormatError(`${member.name}: CRC or size mismatch (corrupt data)`);
  return content;
}

/** Members below this compressed size are read whole; larger ones stream through inflate. */
const WHOLE_MEMBER_LIMIT = 1024 * 1024;

/**
 * Inflates every stored or deflated member of `file` and checks its CRC and size, `concurrency`
 * at a time on the thread pool. Other methods are skipped (the caller decompresses them
 * otherwise). Throws ZipFormatError naming the first bad member.
 */
export async function verifyMembers(file: string, fd: number, members: ZipMember[], concurrency = 4): Promise<void> {
  const queue = members.filter((member) => member.method === 0 || member.method === 8).sort((a, b) => b.compressedSize - a.compressedSize);
  let next = 0;
  const worker = async () => {
    while (next < queue.length) {
      const member = queue[next++]!;
      const { crc, size } = member.compressedSize <= WHOLE_MEMBER_LIMIT ? await checkWhole(fd, member) : await checkStreaming(file, member);
      if (size !== member.size || crc !== member.crc) throw new ZipFormatError(`${member.name}: CRC or size mismatch (corrupt data)`);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, queue.length)) }, worker));
}

async function checkWhole(fd: number, member: ZipMember): Promise<{ crc: number; size: number }> {
  const raw = readAt(fd, member.dataOffset, member.compressedSize);
  if (member.method === 0) return { crc: crc32(raw), size: raw.length };
  // Tiny members inflate faster here than through a thread-pool round trip.
  const content = raw.length < 16 * 1024 ? inflateSync(raw, member) : await inflateRaw(raw, { maxOutputLength: member.size + 1 }).catch(() => Promise.reject(corrupt(member)));
  return { crc: crc32(content), size: content.length };
}

function inflateSync(raw: Buffer, member: ZipMember): Buffer {
  try {
    return zlib.inflateRawSync(raw, { maxOutputLength: member.size + 1 });
  } catch {
    throw corrupt(member);
  }
}

function corrupt(member: ZipMember): ZipFormatError {
  return new ZipFormatError(`${member.name}: corrupt compressed data`);
}

function checkStreaming(file: string, member: ZipMember): Promise<{ crc: number; size: number }> {
  return new Promise((resolve, reject) => {
    let crc = 0;
    let size = 0;
    const input = createReadStream(file, { start: member.dataOffset, end: member.dataOffset + member.compressedSize - 1, highWaterMark: 1024 * 1024 });
    const fail = () => {
      input.destroy();
      reject(corrupt(member));
    };
    const count = (chunk: Buffer) => {
      crc = crc32(chunk, crc);
      size += chunk.length;
      if (size > member.size) fail();
    };
    if (member.method === 0) {
      input.on('data', (chunk) => count(chunk as Buffer)).on('error', fail).on('end', () => resolve({ crc, size }));
      return;
    }
    const inflate = zlib.createInflateRaw();
    inflate.on('data', count).on('error', fail).on('end', () => resolve({ crc, size }));
    input.on('error', fail).pipe(inflate);
  });
}
