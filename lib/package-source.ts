/**
 * The function's own code for the zip: every file below src/, sorted. Symlinks that stay inside
 * the repository are followed (a loop once), others refused; a name that is not UTF-8 (a zip for
 * Lambda cannot hold it) is exit 2 naming it. Tool caches, VCS folders, bytecode and
 * requirements files are left out.
 */
import { existsSync } from 'node:fs';
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from './errors.js';
import { displayPath } from './output.js';
import type { SourceFile } from './package-layout.js';
import { isInside, toPosix } from './paths.js';
import { escapeControl, safeName } from './redact.js';
import { compareNames } from './zip.js';

/** Files and folders never packed from src/ (anywhere below it). */
const SRC_EXCLUDED = /^(__pycache__|\.git|\.hg|\.svn|\.pytest_cache|\.mypy_cache|\.ruff_cache|\.DS_Store|.*\.py[co]|requirements.*\.txt)$/;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Files below src/, sorted; symlinks inside the repository are followed, others refused; names must be UTF-8. */
export async function collectSourceFiles(root: string): Promise<SourceFile[]> {
  const srcRoot = path.join(root, 'src');
  if (!existsSync(srcRoot)) throw new ConfigError(`${displayPath(srcRoot)}: expected the function's code folder (its contents become the root of the zip), found nothing`);
  const realRoot = await realpath(root);
  const files: SourceFile[] = [];
  const visited = new Set<string>();
  const walk = async (folder: string, prefix: string): Promise<void> => {
    visited.add(await realpath(folder));
    const names = (await readdir(folder, { encoding: 'buffer' })).map((raw) => {
      try {
        return UTF8.decode(raw);
      } catch {
        const shown = escapeControl(raw.toString('latin1')).replace(/[\u0080-\u00ff]/g, (char) => `\\x${char.charCodeAt(0).toString(16)}`);
        throw new ConfigError(`${toPosix(path.relative(root, folder))}/${shown}: a file name that is not UTF-8, which a zip for Lambda cannot hold; rename it`);
      }
    });
    for (const name of names.sort(compareNames)) {
      if (SRC_EXCLUDED.test(name)) continue;
      const absolute = path.join(folder, name);
      const zipName = `${prefix}${name}`;
      let info = await lstat(absolute);
      if (info.isSymbolicLink()) {
        const real = await realpath(absolute).catch(() => undefined);
        const relative = toPosix(path.relative(root, absolute));
        if (real === undefined) throw new ConfigError(`${safeName(relative)}: a symlink whose target does not exist`);
        if (!isInside(realRoot, real)) throw new ConfigError(`${safeName(relative)}: a symlink that leads outside the repository (to ${safeName(real)}); copy what it points to into src/ instead`);
        info = await stat(absolute);
        if (info.isDirectory() && visited.has(real)) continue; // a loop
      }
      if (info.isDirectory()) await walk(absolute, `${zipName}/`);
      else if (info.isFile()) files.push({ name: zipName, path: absolute, executable: (info.mode & 0o111) !== 0, size: info.size });
    }
  };
  await walk(srcRoot, '');
  return files;
}

