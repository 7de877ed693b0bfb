/** `generate buildspecs` and `generate pipeline`: write what generator/ renders. */
import path from 'node:path';
import { writeFileAtomic } from '../lib/atomic.js';
import { displayPath } from '../lib/output.js';
import { renderBuildspecs } from '../generator/buildspecs.js';
import { renderPipeline, type SourceKind } from '../generator/pipeline.js';
import { validateEmail, validateImage, validateStages } from '../generator/stages.js';
import { writeAll } from '../generator/write.js';
import type { BuildspecSource } from '../generator/names.js';

export interface GenerateBuildspecsOptions { outDir: string }
export interface GeneratePipelineOptions { stages: string[]; source: SourceKind; image?: string; notify?: string; buildspecs?: BuildspecSource; outFile: string }

export async function runGenerateBuildspecs(options: GenerateBuildspecsOptions): Promise<{ files: string[] }> {
  return { files: await writeAll(options.outDir, renderBuildspecs()) };
}

export async function runGeneratePipeline(options: GeneratePipelineOptions): Promise<{ file: string }> {
  validateStages('generate pipeline', options.stages);
  if (options.image !== undefined) validateImage('generate pipeline', options.image);
  if (options.notify !== undefined) validateEmail('generate pipeline', options.notify);
  const commandLine = ['lambda-cd generate pipeline', `--stages ${options.stages.join(',')}`, `--source ${options.source}`, ...(options.image ? [`--image ${options.image}`] : []),
    ...(options.buildspecs === 'repository' ? ['--buildspecs repository'] : [])].join(' ');
  const file = path.resolve(options.outFile);
  await writeFileAtomic(file, renderPipeline({ stages: options.stages, source: options.source, image: options.image, notify: options.notify, buildspecs: options.buildspecs }, commandLine));
  return { file: displayPath(file) };
}
