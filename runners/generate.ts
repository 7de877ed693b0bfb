/** `generate buildspecs` and `generate pipeline`: write what generator/ renders. */
import path from 'node:path';
import { writeFileAtomic } from '../lib/atomic.js';
import { displayPath, note } from '../lib/output.js';

/** CloudFormation takes at most this many bytes of template in a request (more goes through S3). */
const MAX_TEMPLATE_BODY = 51_200;
import { renderBuildspecs } from '../generator/buildspecs.js';
import { renderPipeline, type SourceKind } from '../generator/pipeline.js';
import { validateEmail, validateImage, validateName, validateStages } from '../generator/stages.js';
import { writeAll } from '../generator/write.js';
import type { BuildspecSource } from '../generator/names.js';
import { validateGates, type ReleaseGates } from '../generator/release-gates.js';
import { loadRepository, PROD_STAGE } from '../lib/contract.js';
import { isWorkspace, loadWorkspace } from '../lib/workspace.js';

export interface GenerateBuildspecsOptions {
  outDir: string;
  /** The repository: at a multi-function root (lambda-cd.yaml) the build steps are batch builds, one per function. */
  root?: string;
}
export interface GeneratePipelineOptions {
  stages: string[]; source: SourceKind; image?: string; notify?: string; buildspecs?: BuildspecSource; outFile: string;
  /** Stages whose deploy waits for an approval. */
  approveBefore?: string[];
  /** Pipelines the coordinated stage waits for, and that stage (default PROD). */
  coordinateWith?: string[];
  coordinateStage?: string;
  /** The repository: at a multi-function root (lambda-cd.yaml) the pipeline builds, deploys and tests every function. */
  root?: string;
}

export async function runGenerateBuildspecs(options: GenerateBuildspecsOptions): Promise<{ files: string[] }> {
  const functions = options.root !== undefined && isWorkspace(options.root) ? loadWorkspace(options.root).functions.map((fn) => fn.name) : undefined;
  return { files: await writeAll(options.outDir, renderBuildspecs(functions)) };
}

/** Each function's lambda-cd.yaml name and its config's Name (the pipeline's IAM names Name+Stage). */
function pipelineFunctions(root: string, stages: string[]): { id: string; name: string }[] {
  return loadWorkspace(root).functions.map((fn) => {
    const { name } = loadRepository(fn.folder);
    validateName('generate pipeline', name, stages);
    return { id: fn.name, name };
  });
}

export async function runGeneratePipeline(options: GeneratePipelineOptions): Promise<{ file: string }> {
  validateStages('generate pipeline', options.stages);
  if (options.image !== undefined) validateImage('generate pipeline', options.image);
  if (options.notify !== undefined) validateEmail('generate pipeline', options.notify);
  const gates: ReleaseGates = {
    approveBefore: options.approveBefore ?? [],
    ...(options.coordinateWith ? { coordinate: { stage: options.coordinateStage ?? PROD_STAGE, pipelines: options.coordinateWith } } : {}),
  };
  validateGates('generate pipeline', options.stages, gates);
  const commandLine = ['lambda-cd generate pipeline', `--stages ${options.stages.join(',')}`, `--source ${options.source}`, ...(options.image ? [`--image ${options.image}`] : []),
    ...(options.buildspecs === 'repository' ? ['--buildspecs repository'] : []),
    ...(gates.approveBefore.length ? [`--approve-before ${gates.approveBefore.join(',')}`] : []),
    ...(gates.coordinate ? [`--coordinate-with ${gates.coordinate.pipelines.join(',')} --coordinate-stage ${gates.coordinate.stage}`] : [])].join(' ');
  const file = path.resolve(options.outFile);
  const functions = options.root !== undefined && isWorkspace(options.root) ? pipelineFunctions(options.root, options.stages) : undefined;
  const text = renderPipeline({ stages: options.stages, source: options.source, image: options.image, notify: options.notify, buildspecs: options.buildspecs, gates, functions }, commandLine);
  await writeFileAtomic(file, text);
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_TEMPLATE_BODY) {
    note(`${displayPath(file)}: ${bytes} bytes, more than the ${MAX_TEMPLATE_BODY} CloudFormation takes inline: deploy it with aws cloudformation deploy --s3-bucket BUCKET (it uploads the template first)${options.buildspecs === 'repository' ? '' : ', or generate it with --buildspecs repository'}`);
  }
  return { file: displayPath(file) };
}
