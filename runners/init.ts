/** `lambda-cd init`: writes a new function repository (generator/skeleton.ts). */
import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../lib/errors.js';
import { displayPath, progress } from '../lib/output.js';
import { escapeControl } from '../lib/redact.js';
import { NODE_RUNTIMES, RUNTIMES, runtimeLanguage } from '../lib/runtimes.js';
import { didYouMean } from '../lib/suggest.js';
import { skeletonFiles } from '../generator/skeleton.js';
import { nameFromFolder, validateName, validateStages } from '../generator/stages.js';
import { writeAll } from '../generator/write.js';

export interface InitOptions { dir: string; name?: string; stages: string[]; force: boolean; runtime?: string }
export interface InitResult { name: string; root: string; files: string[] }

export async function runInit(options: InitOptions): Promise<InitResult> {
  validateStages('init', options.stages);
  const root = path.resolve(options.dir);
  const name = options.name ?? nameFromFolder(path.basename(root), options.stages);
  validateName('init', name, options.stages);

  if (options.runtime !== undefined && runtimeLanguage(options.runtime) === undefined) {
    const known = [...Object.keys(RUNTIMES), ...Object.keys(NODE_RUNTIMES)];
    throw new UsageError(`init: --runtime: expected one of ${known.join(', ')}, found ${JSON.stringify(escapeControl(options.runtime))}${didYouMean(options.runtime, known)}`);
  }
  const files = skeletonFiles({ name, stages: options.stages, runtime: options.runtime });
  refuseSymlinks(root, Object.keys(files));
  if (!options.force) {
    const existing = Object.keys(files).find((file) => existsSync(path.join(root, file)));
    if (existing) {
      throw new UsageError(`init: ${displayPath(path.join(root, existing))} already exists; not overwriting anything (--force overwrites the files init writes)`);
    }
  }
  const written = await writeAll(root, files);
  progress('init', `created function ${name} (stages ${[...options.stages, 'PROD'].join(' -> ')}) in ${displayPath(root)}; next: lambda-cd unit-test, lambda-cd package, lambda-cd create-cf --stack NAME`);
  return { name, root, files: written };
}

/**
 * init writes only inside DIR: a symlink among the paths it writes (DIR/config pointing at
 * another repository, a linked .gitignore) would make it write somewhere else, so any such
 * link is refused before anything is written. DIR itself may be a link: the user named it.
 */
function refuseSymlinks(root: string, files: string[]): void {
  const checked = new Set<string>();
  for (const file of files) {
    const parts = file.split('/');
    for (let depth = 1; depth <= parts.length; depth++) {
      const relative = parts.slice(0, depth).join('/');
      if (checked.has(relative)) continue;
      checked.add(relative);
      const entry = path.join(root, relative);
      const info = lstatSync(entry, { throwIfNoEntry: false });
      if (info === undefined) break;
      if (info.isSymbolicLink()) {
        throw new UsageError(`init: ${displayPath(entry)} is a symlink (to ${escapeControl(readlinkSync(entry))}); init writes only inside ${displayPath(root)} and does not follow links: remove it, or init another folder`);
      }
    }
  }
}
