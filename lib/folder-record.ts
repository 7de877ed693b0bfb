/**
 * A record of a folder's files (relative name, size, sha256), written when lambda-cd fills a
 * cache folder and checked before the folder is used again. Caches are restored from CI
 * storage and shared between builds: a folder left half-written by a killed run, one missing
 * its record (an older lambda-cd, a truncated restore) or one whose files were changed or
 * added to (an extra `json.py` on PYTHONPATH shadows the standard library) is not used.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readdirSync, readSync, type Dirent } from 'node:fs';
import path from 'node:path';
import { toPosix } from './paths.js';
import { safeName } from './redact.js';

/** Relative POSIX name -> [size, sha256 hex]. */
export type FolderRecord = Record<string, [number, string]>;

/** One read buffer for large files; small ones (most installed files) are read whole. */
const chunk = Buffer.allocUnsafe(1 << 20);

/** [size, sha256 hex] of a file. */
function digestFile(file: string): [number, string] {
  const fd = openSync(file, 'r');
  try {
    const hash = createHash('sha256');
    let size = 0;
    for (let read = readSync(fd, chunk, 0, chunk.length, null); read > 0; read = readSync(fd, chunk, 0, chunk.length, null)) {
      hash.update(chunk.subarray(0, read));
      size += read;
    }
    return [size, hash.digest('hex')];
  } finally {
    closeSync(fd);
  }
}

/** Every plain file below `root` except `skip` (the record's own file), or the first entry that is not a plain file or folder. */
function walk(root: string, skip: string, visit: (relative: string, absolute: string) => string | undefined): string | undefined {
  const pending = [''];
  while (pending.length > 0) {
    const relative = pending.pop()!;
    let entries: Dirent[];
    try {
      entries = readdirSync(path.join(root, relative), { withFileTypes: true });
    } catch (error) {
      return `${safeName(relative || '.')} cannot be read (${(error as NodeJS.ErrnoException).code})`;
    }
    for (const entry of entries) {
      const child = relative ? `${relative}/${entry.name}` : entry.name;
      if (child === skip) continue;
      if (entry.isDirectory()) pending.push(child);
      else if (entry.isFile()) {
        const problem = visit(toPosix(child), path.join(root, child));
        if (problem) return problem;
      } else return `${safeName(toPosix(child))} is ${entry.isSymbolicLink() ? 'a symlink' : 'a special file'}, which lambda-cd never writes there`;
    }
  }
  return undefined;
}

/** The record of everything below `root` (but `skip`). */
export function recordFolder(root: string, skip: string): FolderRecord {
  const record: FolderRecord = {};
  const problem = walk(root, skip, (relative, absolute) => {
    record[relative] = digestFile(absolute);
    return undefined;
  });
  if (problem) throw new Error(`${root}: ${problem}`);
  return record;
}

/** Why `root` no longer matches `record` (the first difference found), or undefined when it does. */
export function verifyFolder(root: string, skip: string, record: FolderRecord): string | undefined {
  const seen = new Set<string>();
  const problem = walk(root, skip, (relative, absolute) => {
    const expected = record[relative];
    if (!expected) return `${safeName(relative)} was added`;
    seen.add(relative);
    const [size, digest] = digestFile(absolute);
    if (expected[0] !== size) return `${safeName(relative)} has ${size} bytes instead of ${expected[0]}`;
    if (digest !== expected[1]) return `${safeName(relative)} was changed`;
    return undefined;
  });
  if (problem) return problem;
  const lost = Object.keys(record).find((relative) => !seen.has(relative));
  return lost === undefined ? undefined : `${safeName(lost)} is missing`;
}
