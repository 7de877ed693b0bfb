/** `lambda-cd init`: writes a new function repository (generator/skeleton.ts). */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../lib/errors.js';
import { displayPath, progress } from '../lib/output.js';
import { skeletonFiles } from '../generator/skeleton.js';
import { nameFromFolder, validateName, validateStages } from '../generator/stages.js';
import { writeAll } from '../generator/write.js';

export interface InitOptions { dir: string; name?: string; stages: string[]; force: boolean }
export interface InitResult { name: string; root: string; files: string[] }

export async function runInit(options: InitOptions): Promise<InitResult> {
  validateStages('init', options.stages);
  const root = path.resolve(options.dir);
  const name = options.name ?? nameFromFolder(path.basename(root), options.stages);
  validateName('init', name, options.stages);

  const files = skeletonFiles({ name, stages: options.stages });
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
