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

/**
 * The zip is written in two parts (lib/zip.ts): first what the wheels place ("deps"), then
 * what src/ adds. The deps part depends only on the wheels, unless a src/ file replaces one of
 * their files (`shadowed`), so it can be kept and copied into the next zip when only src/ changed.
 */
export interface Layout {
  /** Compressed by us now, of the deps part: the files pip writes itself. */
  depsToCompress: SourceFile[];
  /** Ready to copy: wheel members. */
  ready: ZipEntry[];
  /** Directory entries for every folder holding an installed file. */
  depsFolders: ZipEntry[];
  /** src/ files, compressed now. */
  srcToCompress: SourceFile[];
  /** Directory entries for the folders only src/ has. */
  srcFolders: ZipEntry[];
  /** How many installed files src/ replaces (then the deps part is not the wheels' alone). */
  shadowed: number;
  /** The warnings the layout printed (to repeat when a kept deps part is reused). */
  warnings: string[];
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
  const warnings: string[] = [];
  if (conflicts.length > 0) {
    warnings.push(`${count(conflicts.length, 'file')} installed by two distributions with different content; the one pip installs later is kept, as pip would: ${safeName(conflicts.slice(0, 3).join(', '), 300)}${conflicts.length > 3 ? ', ...' : ''}`);
    warn(warnings[0]!);
  }
  const shadowed = src.filter((file) => placed.has(file.name)).map((file) => file.name);
  if (shadowed.length > 0) warn(`src/ replaces ${count(shadowed.length, 'installed file')} of the same name (${shadowed.slice(0, 3).map((name) => safeName(name)).join(', ')}${shadowed.length > 3 ? ', ...' : ''})`);
  for (const file of src) placed.set(file.name, { owner: 'src/', size: file.size, file });
  const folders = directoryEntries([...placed.keys()]);
  refuseFileFolderClashes(placed, folders);

  const depsToCompress: SourceFile[] = [];
  const srcToCompress: SourceFile[] = [];
  const ready: ZipEntry[] = [];
  const installedNames: string[] = [];
  const totals = new Map<string, number>();
  let unzippedSize = 0;
  for (const item of placed.values()) {
    if (item.owner === 'src/') srcToCompress.push(item.file!);
    else {
      installedNames.push(item.file?.name ?? item.entry!.name);
      if (item.file) depsToCompress.push(item.file);
      else ready.push(item.entry!);
    }
    unzippedSize += item.size;
    const label = item.owner === 'src/' ? 'src/ (your code)' : item.owner;
    totals.set(label, (totals.get(label) ?? 0) + item.size);
  }
  const groups = [...totals].map(([label, bytes]) => ({ label, bytes })).sort((a, b) => b.bytes - a.bytes || compareNames(a.label, b.label));
  const depsFolders = directoryEntries(installedNames);
  const installedFolders = new Set(depsFolders.map((folder) => folder.name));
  const srcFolders = folders.filter((folder) => !installedFolders.has(folder.name));
  return {
    depsToCompress, ready, depsFolders, srcToCompress, srcFolders, shadowed: shadowed.length, warnings,
    unzippedSize, fileCount: placed.size, srcCount: src.length, folders, groups,
  };
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
