/**
 * The function's own code for the zip: every file below src/, sorted. Symlinks that stay inside
 * the repository are followed (a loop once), others refused; a name that is not UTF-8 (a zip for
 * Lambda cannot hold it) is exit 2 naming it. Tool caches, VCS folders, bytecode and
 * requirements files are left out.
 */
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
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

/**
 * Files below src/, sorted; symlinks inside the repository are followed, others refused; names
 * must be UTF-8. Synchronous, one readdir per folder (its entries' types come with it) and one
 * stat per file: a src/ of a few dozen files is listed in about a millisecond, where a thread-pool
 * round trip per call cost more than the calls.
 */
export async function collectSourceFiles(root: string): Promise<SourceFile[]> {
  const srcRoot = path.join(root, 'src');
  if (!existsSync(srcRoot)) throw new ConfigError(`${displayPath(srcRoot)}: expected the function's code folder (its contents become the root of the zip), found nothing`);
  const realRoot = realpathSync.native(root);
  const files: SourceFile[] = [];
  const visited = new Set<string>();
  // `real` is the folder's real path: its parent's plus its name, unless a symlink led here.
  const walk = (folder: string, real: string, prefix: string): void => {
    visited.add(real);
    const entries = readdirSync(folder, { encoding: 'buffer', withFileTypes: true }).map((entry) => {
      try {
        return { name: UTF8.decode(entry.name as unknown as Buffer), entry };
      } catch {
        const raw = entry.name as unknown as Buffer;
        const shown = escapeControl(raw.toString('latin1')).replace(/[\u0080-\u00ff]/g, (char) => `\\x${char.charCodeAt(0).toString(16)}`);
        throw new ConfigError(`${toPosix(path.relative(root, folder))}/${shown}: a file name that is not UTF-8, which a zip for Lambda cannot hold; rename it`);
      }
    });
    for (const { name, entry } of entries.sort((a, b) => compareNames(a.name, b.name))) {
      if (SRC_EXCLUDED.test(name)) continue;
      const absolute = path.join(folder, name);
      const zipName = `${prefix}${name}`;
      if (entry.isSymbolicLink()) {
        const target = (() => {
          try {
            return realpathSync.native(absolute);
          } catch {
            return undefined;
          }
        })();
        const relative = toPosix(path.relative(root, absolute));
        if (target === undefined) throw new ConfigError(`${safeName(relative)}: a symlink whose target does not exist`);
        if (!isInside(realRoot, target)) throw new ConfigError(`${safeName(relative)}: a symlink that leads outside the repository (to ${safeName(target)}); copy what it points to into src/ instead`);
        const info = statSync(absolute);
        if (info.isDirectory()) {
          if (!visited.has(target)) walk(absolute, target, `${zipName}/`); // else a loop
        } else if (info.isFile()) files.push({ name: zipName, path: absolute, executable: (info.mode & 0o111) !== 0, size: info.size });
      } else if (entry.isDirectory()) walk(absolute, path.join(real, name), `${zipName}/`);
      else if (entry.isFile()) {
        const info = statSync(absolute);
        files.push({ name: zipName, path: absolute, executable: (info.mode & 0o111) !== 0, size: info.size });
      }
    }
  };
  walk(srcRoot, realpathSync.native(srcRoot), '');
  return files;
}
