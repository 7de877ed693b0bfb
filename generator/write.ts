import path from 'node:path';
import { writeFileAtomic } from '../lib/atomic.js';
import { displayPath } from '../lib/output.js';

/** Writes `files` (name -> content) into `dir`, each atomically; returns the paths as shown to the user. */
export async function writeAll(dir: string, files: Record<string, string>): Promise<string[]> {
  const written: string[] = [];
  for (const [name, content] of Object.entries(files)) {
    const file = path.resolve(dir, name);
    await writeFileAtomic(file, content);
    written.push(displayPath(file));
  }
  return written;
}
