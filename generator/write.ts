import path from 'node:path';
import { writeFileSetAtomic } from '../lib/atomic.js';
import { displayPath } from '../lib/output.js';

/** Writes `files` (name -> content) into `dir` as one set (all or none); returns the paths as shown to the user. */
export async function writeAll(dir: string, files: Record<string, string>): Promise<string[]> {
  const absolute = Object.fromEntries(Object.entries(files).map(([name, content]) => [path.resolve(dir, name), content]));
  await writeFileSetAtomic(absolute);
  return Object.keys(absolute).map((file) => displayPath(file));
}
