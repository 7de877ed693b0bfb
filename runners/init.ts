/** `lambda-cd init`: writes a new function repository (generator/skeleton.ts). */
import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../lib/errors.js';
import { displayPath, progress } from '../lib/output.js';
import { escapeControl } from '../lib/redact.js';
import { NODE_RUNTIMES, RUNTIMES, runtimeLanguage } from '../lib/runtimes.js';
import { didYouMean } from '../lib/suggest.js';
import { skeletonFiles, workspaceSkeletonFiles } from '../generator/skeleton.js';
import { MAX_NAME, NAME_PATTERN } from '../lib/workspace.js';
import { nameFromFolder, validateName, validateStages } from '../generator/stages.js';
import { writeAll } from '../generator/write.js';

export interface InitOptions {
  dir: string; name?: string; stages: string[]; force: boolean;
  /** A multi-function repository with these functions (lambda-cd.yaml at DIR). */
  functions?: string[];
  /** The Lambda runtime (python3.x or nodejsNN.x); the skeleton follows its language. */
  runtime?: string;
}
export interface InitResult { name: string; root: string; files: string[] }

export async function runInit(options: InitOptions): Promise<InitResult> {
  validateStages('init', options.stages);
  const root = path.resolve(options.dir);
  if (options.functions && options.name !== undefined) throw new UsageError('init: --name and --functions: give one (with --functions each function is named by its entry)');
  for (const fn of options.functions ?? []) {
    validateName('init', fn, options.stages);
    if (!NAME_PATTERN.test(fn) || fn.length > MAX_NAME) throw new UsageError(`init: --functions: ${escapeControl(JSON.stringify(fn))}: expected letters and digits starting with a letter, at most ${MAX_NAME} characters (the name also names stacks and dist/ folders)`);
  }
  if (options.functions && new Set(options.functions).size !== options.functions.length) throw new UsageError('init: --functions: expected each name once');
  if (options.functions?.length === 0) throw new UsageError('init: --functions: expected at least one name');
  const name = options.functions ? options.functions.join(', ') : options.name ?? nameFromFolder(path.basename(root), options.stages);
  if (!options.functions) validateName('init', name, options.stages);

  if (options.runtime !== undefined && runtimeLanguage(options.runtime) === undefined) {
    const known = [...Object.keys(RUNTIMES), ...Object.keys(NODE_RUNTIMES)];
    throw new UsageError(`init: --runtime: expected one of ${known.join(', ')}, found ${JSON.stringify(escapeControl(options.runtime))}${didYouMean(options.runtime, known)}`);
  }
  const files = options.functions ? workspaceSkeletonFiles(options.functions, options.stages, options.runtime) : skeletonFiles({ name, stages: options.stages, runtime: options.runtime });
  refuseSymlinks(root, Object.keys(files));
  if (!options.force) {
    const existing = Object.keys(files).find((file) => existsSync(path.join(root, file)));
    if (existing) {
      throw new UsageError(`init: ${displayPath(path.join(root, existing))} already exists; not overwriting anything (--force overwrites the files init writes)`);
    }
  }
  const written = await writeAll(root, files);
  progress('init', `created ${options.functions ? 'functions' : 'function'} ${name} (stages ${[...options.stages, 'PROD'].join(' -> ')}) in ${displayPath(root)}; next (in it or any folder below): lambda-cd unit-test, lambda-cd package, lambda-cd create-cf --stack NAME, lambda-cd generate pipeline`);
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
