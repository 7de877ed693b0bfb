/**
 * What `pip install --target DIR` places for one wheel, worked out from the wheel's members
 * without unpacking it (pip's operations/install/wheel.py, followed rule by rule):
 *  - members at the root and in `*.data/purelib|platlib/` go to the root of DIR (normalized, and
 *    refused when they would land outside it); a later member of the same name replaces an
 *    earlier one, as pip's second write would;
 *  - `*.data/scripts|headers|data/` would go outside the import path (bin/, include/, share/):
 *    left out, as are a top-level bin/ and bytecode caches (`__pycache__/`, `*.pyc`);
 *  - dist-info gains INSTALLER, REQUESTED (for a requirement the user named) and a RECORD
 *    rewritten as pip writes it (its rows, with the paths it installed, sorted, CRLF), less the
 *    rows of files left out, so `importlib.metadata` lists exactly what the zip holds;
 *  - a file is executable when its zip mode is a regular file with an execute bit.
 * Problems are WheelError with a message that names the member; the caller names the wheel.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { expandTags, formatTags, normalizeProjectName, type WheelTag } from './wheel-tags.js';
import { readMember, type ZipMember, type ZipSource } from './zip-read.js';

export class WheelError extends Error {}

/** A member copied into the zip under `name`. */
export interface PlacedMember {
  name: string;
  executable: boolean;
  member: ZipMember;
}

/** A file pip writes itself (INSTALLER, REQUESTED, RECORD). */
export interface GeneratedFile {
  name: string;
  data: Buffer;
}

export interface WheelInstall {
  /** From METADATA. */
  name: string;
  version: string;
  distInfo: string;
  tags: WheelTag[];
  wheelTag: string;
  members: PlacedMember[];
  generated: GeneratedFile[];
}

const SCHEME_KEYS = new Set(['platlib', 'purelib', 'headers', 'scripts', 'data']);
/** Never packed (anywhere below the root): bytecode caches. A top-level bin/ holds scripts. */
export const BYTECODE = /^(__pycache__|.*\.py[co])$/;
const BYTECODE_ANYWHERE = /(^|\/)__pycache__(\/|$)|\.py[co](\/|$)/;

/** `Key: value` lines of METADATA/WHEEL (RFC 822 headers, up to the first blank line). */
export function headers(text: string, field: string): string[] {
  const head = text.split(/\r?\n\r?\n/)[0]!;
  return head.split(/\r?\n/).filter((line) => line.slice(0, field.length + 1).toLowerCase() === `${field.toLowerCase()}:`).map((line) => line.slice(field.length + 1).trim());
}

/** Rows of a RECORD file as Python's csv module reads them. */
export function parseCsv(text: string): string[][] {
  // Almost every RECORD has no quoted field and plain line ends: split it directly.
  if (!text.includes('"') && !/\r(?!\n)/.test(text)) {
    const rows: string[][] = [];
    for (const line of text.split('\n')) {
      const row = line.endsWith('\r') ? line.slice(0, -1) : line;
      if (row !== '') rows.push(row.split(','));
    }
    return rows;
  }
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let fieldStarted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') quoted = false;
      else field += char;
      continue;
    }
    if (char === '"' && field === '') {
      quoted = true;
      fieldStarted = true;
    } else if (char === ',') {
      row.push(field);
      field = '';
      fieldStarted = true;
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && text[i + 1] === '\n') i++;
      if (fieldStarted || field !== '' || row.length > 0) rows.push([...row, field]);
      row = [];
      field = '';
      fieldStarted = false;
    } else {
      field += char;
      fieldStarted = true;
    }
  }
  if (fieldStarted || field !== '' || row.length > 0) rows.push([...row, field]);
  return rows;
}

/** Rows as Python's csv.writer writes them (QUOTE_MINIMAL, CRLF), the way pip writes RECORD. */
function writeCsv(rows: string[][]): string {
  const quote = (field: string) => (/[",\r\n]/.test(field) ? `"${field.replace(/"/g, '""')}"` : field);
  let text = '';
  for (const row of rows) text += /[",\r\n]/.test(row.join('')) ? `${row.map(quote).join(',')}\r\n` : `${row.join(',')}\r\n`;
  return text;
}

/** Python's string order (code points), which pip's sorted() uses for RECORD rows. */
const SURROGATE = /[\ud800-\udfff]/;
/** (UTF-16 order, which `<` gives, is code point order unless a string holds a surrogate pair.) */
function compareCodePoints(a: string, b: string): number {
  const left = [...a];
  const right = [...b];
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const difference = left[i]!.codePointAt(0)! - right[i]!.codePointAt(0)!;
    if (difference !== 0) return difference;
  }
  return left.length - right.length;
}

function recordHash(data: Buffer): string {
  return `sha256=${createHash('sha256').update(data).digest('base64url')}`;
}

/** A member name made relative to the install root as os.path.normpath would; undefined when it leaves the root. */
function normalizeInside(name: string): string | undefined {
  if (name.startsWith('/') || name.includes('\0')) return undefined;
  if (!/(^|\/)\.{1,2}(\/|$)|\/\/|\/$/.test(name) && name !== '') return name; // already normal: most names
  const normalized = path.posix.normalize(name);
  if (normalized === '..' || normalized.startsWith('../') || normalized === '.' || normalized === '') return undefined;
  return normalized.replace(/\/$/, '');
}

function isExecutable(member: ZipMember): boolean {
  const mode = member.unixMode;
  return mode !== 0 && (mode & 0o170000) === 0o100000 && (mode & 0o111) !== 0;
}

/** The install of one wheel whose members (from readZipDirectory) are `members`. */
export async function planWheelInstall(fd: ZipSource, members: ZipMember[], options: { requested: boolean }): Promise<WheelInstall> {
  const files = members.filter((member) => !member.name.endsWith('/'));
  const topOf = (name: string) => {
    const slash = name.indexOf('/');
    return slash === -1 ? name : name.slice(0, slash);
  };
  const infoDirs = [...new Set(files.map((member) => topOf(member.name)).filter((dir) => dir.endsWith('.dist-info')))];
  if (infoDirs.length === 0) throw new WheelError('contains no .dist-info folder');
  if (infoDirs.length > 1) throw new WheelError(`contains more than one .dist-info folder (${infoDirs.sort().join(', ')})`);
  const distInfo = infoDirs[0]!;
  const byName = new Map(files.map((member) => [member.name, member]));
  const text = async (file: string, required: boolean) => {
    const member = byName.get(`${distInfo}/${file}`);
    if (!member) {
      if (required) throw new WheelError(`${distInfo}/${file} is missing`);
      return '';
    }
    if (member.size > 64 * 1024 * 1024) throw new WheelError(`${distInfo}/${file} is implausibly large (${member.size} bytes)`);
    return (await readMember(fd, member)).toString('utf8');
  };
  const [wheelText, metadata, recordText] = await Promise.all([text('WHEEL', true), text('METADATA', true), text('RECORD', false)]);
  const wheelVersion = headers(wheelText, 'Wheel-Version')[0];
  if (!wheelVersion) throw new WheelError(`${distInfo}/WHEEL has no Wheel-Version`);
  if (Number(wheelVersion.split('.')[0]) !== 1) throw new WheelError(`Wheel-Version ${wheelVersion} is not supported (pip installs 1.x)`);
  const tags = headers(wheelText, 'Tag').flatMap(expandTags);
  const name = headers(metadata, 'Name')[0] ?? distInfo.replace(/-[^-]*\.dist-info$/, '');
  const version = headers(metadata, 'Version')[0] ?? distInfo.replace(/^.*-|\.dist-info$/g, '');
  if (!normalizeProjectName(distInfo.replace(/\.dist-info$/, '')).startsWith(normalizeProjectName(name))) {
    throw new WheelError(`its metadata names ${name}, but its .dist-info folder is ${distInfo}`);
  }

  // Root members first, then .data members: pip writes them in that order, so a .data member wins.
  const placed = new Map<string, PlacedMember>();
  const installedPath = new Map<string, string>(); // member name -> installed path (pip's RECORD path)
  const leftOut = new Set<string>();
  const isData = (member: ZipMember) => topOf(member.name).endsWith('.data');
  for (const member of [...files.filter((m) => !isData(m)), ...files.filter(isData)]) {
    let destination = member.name;
    if (isData(member)) {
      const parts = member.name.split('/');
      if (parts.length < 3 || parts[2] === '') throw new WheelError(`${member.name}: a .data member must be named <scheme>/<path>`);
      if (!SCHEME_KEYS.has(parts[1]!)) throw new WheelError(`${member.name}: unknown .data scheme "${parts[1]}" (expected one of ${[...SCHEME_KEYS].sort().join(', ')})`);
      if (parts[1] !== 'purelib' && parts[1] !== 'platlib') {
        leftOut.add(member.name); // scripts, headers, data: outside the import path
        continue;
      }
      destination = parts.slice(2).join('/');
    }
    const normalized = normalizeInside(destination);
    if (normalized === undefined) throw new WheelError(`${member.name}: would be installed outside the target folder`);
    if (topOf(normalized) === 'bin' || BYTECODE_ANYWHERE.test(normalized)) {
      leftOut.add(member.name);
      continue;
    }
    placed.set(normalized, { name: normalized, executable: isExecutable(member), member });
    installedPath.set(member.name, normalized);
  }

  const generated: GeneratedFile[] = [{ name: `${distInfo}/INSTALLER`, data: Buffer.from('pip\n') }];
  if (options.requested) generated.push({ name: `${distInfo}/REQUESTED`, data: Buffer.alloc(0) });
  const recordName = `${distInfo}/RECORD`;
  const rows: [string, string, string][] = [];
  for (const [oldPath = '', digest = '', length = ''] of parseCsv(recordText)) {
    // pip keeps every row, with the path it installed the member at; rows of what we leave out
    // (and rows pointing outside the root, such as ../../bin/x) describe nothing in the zip.
    if (leftOut.has(oldPath)) continue;
    const newPath = installedPath.get(oldPath) ?? oldPath;
    installedPath.delete(oldPath);
    if (normalizeInside(newPath) === undefined) continue;
    rows.push([newPath, digest, length]);
  }
  for (const file of generated) rows.push([file.name, recordHash(file.data), String(file.data.length)]);
  for (const remaining of installedPath.values()) rows.push([remaining, '', '']);
  const plain = !rows.some((row) => SURROGATE.test(row[0]) || SURROGATE.test(row[1]) || SURROGATE.test(row[2]));
  const compare = plain ? (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0) : compareCodePoints;
  rows.sort((a, b) => compare(a[0], b[0]) || compare(a[1], b[1]) || compare(a[2], b[2]));
  generated.push({ name: recordName, data: Buffer.from(writeCsv(rows)) });

  for (const file of generated) placed.delete(file.name);
  return { name, version, distInfo, tags, wheelTag: tags.length > 0 ? formatTags(tags) : 'unknown', members: [...placed.values()], generated };
}
