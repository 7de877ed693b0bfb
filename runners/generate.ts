/** `generate buildspecs` and `generate pipeline`: write what generator/ renders. */
import path from 'node:path';
import { writeFileAtomic } from '../lib/atomic.js';
import { displayPath, note } from '../lib/output.js';

/** The stages of a pipeline generated outside a repository without --stages (init's default too). */
const DEFAULT_STAGES = ['Gamma'];

/** CloudFormation takes at most this many bytes of template in a request (more goes through S3). */
const MAX_TEMPLATE_BODY = 51_200;
import { renderBuildspecs } from '../generator/buildspecs.js';
import { defaultImageUri } from '../generator/constants.js';
import { renderPipeline, type SourceKind } from '../generator/pipeline.js';
import { validateEmail, validateImage, validateName, validateStages } from '../generator/stages.js';
import { writeAll } from '../generator/write.js';
import type { BuildspecSource } from '../generator/names.js';
import { validateGates, type ReleaseGates } from '../generator/release-gates.js';
import { loadRepository, PROD_STAGE, type RepositoryConfig } from '../lib/contract.js';
import { UsageError } from '../lib/errors.js';
import { isWorkspace, loadWorkspace } from '../lib/workspace.js';

export interface GenerateBuildspecsOptions {
  outDir: string;
  /** The repository: at a multi-function root (lambda-cd.yaml) the build steps are batch builds, one per function. */
  root?: string;
}
export interface GeneratePipelineOptions {
  stages: string[]; source: SourceKind;
  /** The FunctionName parameter's default (the repository's Name), and the Runtime that picks the image variant. */
  functionName?: string; runtime?: string;
  /** Shown (stderr) once every option passed its checks. */
  notice?: string; image?: string; notify?: string; buildspecs?: BuildspecSource; outFile: string;
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

export async function runGeneratePipeline(options: GeneratePipelineOptions): Promise<{ file: string; image: string }> {
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
  if (options.functionName !== undefined) validateName('generate pipeline', options.functionName, options.stages);
  if (options.notice) note(options.notice);
  const functions = options.root !== undefined && isWorkspace(options.root) ? pipelineFunctions(options.root, options.stages) : undefined;
  const text = renderPipeline({ stages: options.stages, functionName: options.functionName, runtime: options.runtime, source: options.source, image: options.image, notify: options.notify, buildspecs: options.buildspecs, gates, functions }, commandLine);
  await writeFileAtomic(file, text);
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_TEMPLATE_BODY) {
    note(`${displayPath(file)}: ${bytes} bytes, more than the ${MAX_TEMPLATE_BODY} CloudFormation takes inline: deploy it with aws cloudformation deploy --s3-bucket BUCKET (it uploads the template first)${options.buildspecs === 'repository' ? '' : ', or generate it with --buildspecs repository'}`);
  }
  return { file: displayPath(file), image: options.image ?? defaultImageUri(options.runtime) };
}

export interface PipelineInputs {
  stages: string[]; functionName?: string; runtime?: string;
  /** A note for stderr, shown once the options passed their checks (stages defaulted outside a repository). */
  notice?: string;
}

/**
 * What the pipeline takes from the repository: its stages (PROD left out: the pipeline adds it),
 * Name and Runtime. --stages and --name may be given too, but a pipeline whose stages or function
 * differ from the repository's is broken (the Build step's create-cf stops on other stages; the
 * deploy role may touch only Name+Stage functions), so a difference is exit 2 naming both values.
 * Without a repository, the stages are --stages (default Gamma, with a note saying so) and the
 * template's FunctionName has no default.
 */
export function pipelineInputs(repository: RepositoryConfig | undefined, given: { stages?: string[]; name?: string }, where: string): PipelineInputs {
  if (given.stages !== undefined) validateStages('generate pipeline', given.stages);
  if (repository === undefined) {
    const notice = given.stages === undefined
      ? `generate pipeline: no config/config.yaml in ${where} or any folder above it: stages ${DEFAULT_STAGES.join(',')} and no FunctionName default (run it in the repository, or give --path, to take its Stages, Name and Runtime)`
      : undefined;
    return { stages: given.stages ?? DEFAULT_STAGES, functionName: given.name, notice };
  }
  const stages = repository.stages.filter((stage) => stage !== PROD_STAGE);
  const config = displayPath(repository.configFile);
  if (given.stages !== undefined && given.stages.join(',') !== stages.join(',')) {
    throw new UsageError(`generate pipeline: --stages ${given.stages.join(',') || '""'} differs from the stages of ${config} (${stages.join(',') || 'none before PROD'}): the pipeline's Build step would stop on the difference; leave --stages out, or change Stages in config/config.yaml`);
  }
  if (given.name !== undefined && given.name !== repository.name) {
    throw new UsageError(`generate pipeline: --name ${given.name} differs from Name in ${config} (${repository.name}): the pipeline deploys and may touch only ${repository.name}+Stage functions; leave --name out, or change Name in config/config.yaml`);
  }
  return { stages, functionName: repository.name, runtime: repository.runtime };
}

/**
 * At a multi-function root, the stages and the Runtime (the image variant) come from the functions'
 * configs: one pipeline takes every function through the same stages, so they must agree.
 */
export function workspacePipelineRepository(root: string): RepositoryConfig {
  const configs = loadWorkspace(root).functions.map((fn) => loadRepository(fn.folder));
  const first = configs[0]!;
  for (const other of configs.slice(1)) {
    if (other.stages.join(',') !== first.stages.join(',')) {
      throw new UsageError(`generate pipeline: ${displayPath(other.configFile)} has the stages ${other.stages.join(',')}, ${displayPath(first.configFile)} has ${first.stages.join(',')}: one pipeline takes every function through the same stages; give them the same Stages`);
    }
  }
  return first;
}
