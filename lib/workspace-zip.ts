/**
 * Rewriting a zip lambda-cd built, without inflating anything: members are copied still
 * compressed (the written zip reads them from the original at their offsets). Used to put a
 * layer's packages under python/ (where Lambda looks in /opt) and to leave out of a function's
 * zip the distributions a layer it uses already holds.
 */
import { closeSync, openSync } from 'node:fs';
import { readMember, readZipDirectory, type ZipMember } from './zip-read.js';
import { directoryEntries, writeZip, type ZipEntry, type ZipWritten } from './zip.js';

export interface ZipRewrite {
  /** The new name of a member, or undefined to leave it out. */
  rename(name: string): string | undefined;
}

/** Members of `file` (directories included) and, for `wanted`, their text. */
export async function readZip(file: string, wanted: (name: string) => boolean = () => false): Promise<{ members: ZipMember[]; texts: Map<string, string> }> {
  const fd = openSync(file, 'r');
  try {
    const members = readZipDirectory(fd);
    const texts = new Map<string, string>();
    for (const member of members) if (wanted(member.name)) texts.set(member.name, (await readMember(fd, member)).toString('utf8'));
    return { members, texts };
  } finally {
    closeSync(fd);
  }
}

/** Writes `target` from `source`'s members as `rewrite` renames them; folders are written for every name kept. */
export async function rewriteZip(source: string, target: string, rewrite: ZipRewrite): Promise<ZipWritten & { fileCount: number; unzippedSize: number }> {
  const { members } = await readZip(source);
  const entries: ZipEntry[] = [];
  let unzippedSize = 0;
  for (const member of members) {
    if (member.name.endsWith('/')) continue;
    const name = rewrite.rename(member.name);
    if (name === undefined) continue;
    entries.push({
      name, executable: (member.unixMode & 0o111) !== 0, method: member.method as 0 | 8, crc: member.crc,
      size: member.size, compressedSize: member.compressedSize, blob: source, offset: member.dataOffset,
    });
    unzippedSize += member.size;
  }
  const written = await writeZip(target, [...entries, ...directoryEntries(entries.map((entry) => entry.name))]);
  return { ...written, fileCount: entries.length, unzippedSize };
}
