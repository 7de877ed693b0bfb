/**
 * What goes into the deployment zip, by name: src/ files, and for each wheel in pip's install
 * order the files `pip install --target` would place (lib/wheel.ts). A later wheel's file
 * replaces an earlier one's, and src/ replaces both, as the install then the copy would; a file
 * and a folder of the same name (src/requests as a file next to an installed requests/) would
 * make a zip nobody can extract, and are refused with both names. Also the figures the limits
 * and the "largest packages" listings use.
 */
import { ConfigError } from './errors.js';
import { count, warn } from './output.js';
import { safeName } from './redact.js';
import type { WheelInstall } from './wheel.js';
import { compareNames, directoryEntries, type FileToZip, type ZipEntry } from './zip.js';

export interface SourceFile extends FileToZip {
  size: number;
}

/** A member's data as it goes into the zip: raw from the wheel, or our compression of it. */
export interface MemberData {
  blob: string;
  offset: number;
  compressedSize: number;
  method: 0 | 8;
}

export interface InstalledWheel {
  install: WheelInstall;
  /** The wheel file (verified). */
  file: string;
  /** Our compression of members the wheel does not deflate, by member name. */
  derived: Map<string, MemberData>;
}

export interface Layout {
  /** Compressed by us now: src/ files and the files pip writes itself. */
  toCompress: SourceFile[];
  /** Ready to copy: wheel members. */
  ready: ZipEntry[];
  unzippedSize: number;
  fileCount: number;
  srcCount: number;
  /** Directory entries for every folder. */
  folders: ZipEntry[];
  /** Size per group ("numpy 2.2.6", "src/ (your code)"), largest first. */
  groups: { label: string; bytes: number }[];
}

interface Placed {
  owner: string;
  size: number;
  crc?: number;
  entry?: ZipEntry;
  file?: SourceFile;
}

export function layOut(src: SourceFile[], wheels: InstalledWheel[]): Layout {
  const placed = new Map<string, Placed>();
  const conflicts: string[] = [];
  for (const wheel of wheels) {
    const owner = `${wheel.install.name} ${wheel.install.version}`;
    for (const { name, executable, member } of wheel.install.members) {
      const derived = wheel.derived.get(member.name);
      if (!derived && member.method !== 8 && !(member.method === 0 && member.size === 0)) throw new Error(`${member.name}: not compressed for the zip (method ${member.method})`);
      const data: MemberData = derived ?? { blob: wheel.file, offset: member.dataOffset, compressedSize: member.compressedSize, method: member.method as 0 | 8 };
      const earlier = placed.get(name);
      if (earlier && earlier.owner !== owner && (earlier.crc !== member.crc || earlier.size !== member.size)) conflicts.push(`${name} (${earlier.owner}, ${owner})`);
      placed.set(name, { owner, size: member.size, crc: member.crc, entry: { name, executable, method: data.method, crc: member.crc, size: member.size, compressedSize: data.compressedSize, blob: data.blob, offset: data.offset } });
    }
    for (const file of wheel.install.generated) {
      placed.set(file.name, { owner, size: file.data.length, file: { name: file.name, path: file.name, executable: false, data: file.data, size: file.data.length } });
    }
  }
  if (conflicts.length > 0) {
    warn(`${count(conflicts.length, 'file')} installed by two distributions with different content; the one pip installs later is kept, as pip would: ${safeName(conflicts.slice(0, 3).join(', '), 300)}${conflicts.length > 3 ? ', ...' : ''}`);
  }
  const shadowed = src.filter((file) => placed.has(file.name)).map((file) => file.name);
  if (shadowed.length > 0) warn(`src/ replaces ${count(shadowed.length, 'installed file')} of the same name (${shadowed.slice(0, 3).map((name) => safeName(name)).join(', ')}${shadowed.length > 3 ? ', ...' : ''})`);
  for (const file of src) placed.set(file.name, { owner: 'src/', size: file.size, file });
  const folders = directoryEntries([...placed.keys()]);
  refuseFileFolderClashes(placed, folders);

  const toCompress: SourceFile[] = [];
  const ready: ZipEntry[] = [];
  const totals = new Map<string, number>();
  let unzippedSize = 0;
  for (const item of placed.values()) {
    if (item.file) toCompress.push(item.file);
    else ready.push(item.entry!);
    unzippedSize += item.size;
    const label = item.owner === 'src/' ? 'src/ (your code)' : item.owner;
    totals.set(label, (totals.get(label) ?? 0) + item.size);
  }
  const groups = [...totals].map(([label, bytes]) => ({ label, bytes })).sort((a, b) => b.bytes - a.bytes || compareNames(a.label, b.label));
  return { toCompress, ready, unzippedSize, fileCount: placed.size, srcCount: src.length, folders, groups };
}

/** A name that is a file for one owner and a folder for another cannot be extracted: exit 2 naming both. */
function refuseFileFolderClashes(placed: Map<string, Placed>, folders: ZipEntry[]): void {
  for (const folder of folders) {
    const name = folder.name.slice(0, -1);
    const file = placed.get(name);
    if (!file) continue;
    const [inside, item] = [...placed].find(([other]) => other.startsWith(folder.name))!;
    const describe = (owner: string, what: string) => (owner === 'src/' ? `src/${what}` : `${what} from ${owner}`);
    throw new ConfigError(
      `${safeName(describe(file.owner, name))} is a file, but ${safeName(describe(item.owner, inside))} needs a folder of that name: a zip holding both cannot be extracted; rename or remove one of them`,
    );
  }
}

/** The ten largest groups, for the limit messages. */
export function largest(groups: Layout['groups'], format: (bytes: number) => string): string {
  return groups.slice(0, 10).map((group) => `${group.label} ${format(group.bytes)}`).join(', ');
}
