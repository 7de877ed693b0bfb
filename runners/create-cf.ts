/**
 * `lambda-cd create-cf`: one CloudFormation template per stage (stack<Stage>.json), from
 * config/config.yaml and each stage's env and iam files. Every stage is read and built
 * before anything is written, and the templates replace the previous ones as one set
 * (lib/atomic.ts), so bad input or a full disk leaves the previous templates untouched.
 */
import path from 'node:path';
import type { RepositoryConfig } from '../lib/contract.js';
import { ConfigError, UsageError } from '../lib/errors.js';
import { writeFileSetAtomic } from '../lib/atomic.js';
import { readBuiltPackage } from '../lib/deploy-inputs.js';
import { BOUNDARY_SUFFIX, MAX_BOUNDARY_NAME } from '../lib/function-boundary.js';
import { count, note, progress, warn } from '../lib/output.js';
import { readStageEnv, type StageEnv } from '../lib/stage-env.js';
import { readStageIam, type StageIam } from '../lib/stage-iam.js';
import { stagePythonTools } from '../languages/python/stage-python-tools.js';
import type { PipOptions } from '../lib/python.js';
import { didYouMean } from '../lib/suggest.js';
import { buildTemplate, serializeTemplate, templateNames } from '../lib/template.js';

export interface CreateCfOptions {
  repository: RepositoryConfig;
  stack: string;
  stage?: string;
  outDir: string;
  format: 'json' | 'yaml';
  python: string;
  /** The pre-production stages the pipeline deploys, in order (PROD implied): must match the repository's. */
  pipelineStages?: string[];
  /** Where troposphere is installed when a 2018 iam.py needs it and --python lacks it. */
  cacheDir: string;
  pip: PipOptions;
  /** The zip lambda-cd package wrote; its manifest (FILE.manifest.json) names the version each template publishes. */
  zipFile: string;
}
/** `files[i]` is the template of `stages[i]`. */
export interface CreateCfResult { files: string[]; stages: string[]; zipSha256: string }

/** CloudFormation stack names; the pipeline deploys each stage as <stack>Functions<Stage>. */
const STACK_PATTERN = /^[A-Za-z][A-Za-z0-9-]*$/;
const MAX_STACK_NAME = 128;
/** Lambda alias names: letters, digits, '-', '_', not all digits, at most 128 characters. */
const ALIAS_PATTERN = /^[A-Za-z0-9_-]+$/;
const MAX_ALIAS_NAME = 128;

export async function runCreateCf(options: CreateCfOptions): Promise<CreateCfResult> {
  const { repository: config, format } = options;
  if (options.pipelineStages) checkPipelineStages(config, options.pipelineStages);
  const rendered = await renderStages({ ...options, stages: selectStages(config, options.stage), step: 'create-cf' });
  // Each template publishes a version named after the zip: without the build's manifest there is
  // nothing to name it after. Read once the stage files are known good, so their errors come first.
  const { sha256: zipSha256 } = await readBuiltPackage({ manifest: `${options.zipFile}.manifest.json`, zip: options.zipFile }, 'create-cf');
  const templates = rendered.map((stage) => ({ ...stage, template: stage.build(zipSha256) }));

  // One set: every template is written, or none replaces its predecessor (lib/atomic.ts).
  const files = templates.map(({ stage }) => path.join(options.outDir, `stack${stage}.${format}`));
  await writeFileSetAtomic(Object.fromEntries(templates.map(({ template }, index) => [files[index]!, serializeTemplate(template, format)])));
  for (const { stage, env, iam } of templates) {
    const sources = [env.source, iam.source].filter(Boolean).join(', ');
    progress('create-cf', `${stage}: ${count(Object.keys(env.variables).length, 'variable')}${sources ? ` from ${sources}` : ''}`);
  }
  return { files, stages: templates.map(({ stage }) => stage), zipSha256 };
}

export interface RenderOptions {
  repository: RepositoryConfig;
  stack: string;
  stages: string[];
  python: string;
  cacheDir: string;
  pip: PipOptions;
  /** Progress label of the command. */
  step: string;
}

/** A stand-in zip sha256: the templates renderStages checks are built with it. */
const UNBUILT_ZIP_SHA256 = '0'.repeat(64);

export interface RenderedStage {
  stage: string;
  env: StageEnv;
  iam: StageIam;
  /** The template for a stand-in zip (what check reports). */
  template: Record<string, unknown>;
  /** The template publishing the version of the zip with this sha256. */
  build(zipSha256: string): Record<string, unknown>;
}

/**
 * Runs every stage's env and iam files and builds the stage templates, as create-cf writes them
 * and as check reports them (so a repository that passes check passes create-cf). Prints the
 * files' warnings, and once what lambda-cd changed in them for every stage.
 */
export async function renderStages(options: RenderOptions): Promise<RenderedStage[]> {
  const { repository: config, stack, stages } = options;
  checkStack(config, stack);
  const pythonPath = await stagePythonTools({ config, stages, python: options.python, cacheDir: options.cacheDir, pip: options.pip, step: options.step });
  const python = { python: options.python, pythonPath };
  const rendered = await Promise.all(stages.map(async (stage) => {
    const refName = templateNames(config.name, stack, stage).roleId;
    const [env, iam] = await Promise.all([
      readStageEnv(config, stage, python),
      readStageIam(config, stage, refName, python),
    ]);
    const build = (zipSha256: string) => buildTemplate({ config, stack, stage, variables: env.variables, envSource: env.source, iam, zipSha256 });
    return { stage, env, iam, template: build(UNBUILT_ZIP_SHA256), build };
  }));
  for (const { env, iam } of rendered) for (const message of [...env.warnings, ...iam.warnings]) warn(message);
  // The same change in every stage's file is one line, naming the files.
  const notices = new Map<string, string[]>();
  for (const { source, message } of rendered.flatMap(({ iam }) => iam.notices)) notices.set(message, [...(notices.get(message) ?? []), source]);
  for (const [message, sources] of notices) note(`${sources.join(', ')}: ${message}`);
  return rendered;
}

function selectStages(config: RepositoryConfig, stage: string | undefined): string[] {
  if (stage === undefined) return config.stages;
  if (!config.stages.includes(stage)) {
    throw new UsageError(`create-cf: --stage expects one of ${config.stages.join(', ')} (the folders in config/), found ${JSON.stringify(stage)}${didYouMean(stage, config.stages)}`);
  }
  return [stage];
}

/** The stack name becomes part of the alias and export names: check it fits them all (deploy checks it the same way). */
export function checkStack(config: RepositoryConfig, stack: string, command = 'create-cf'): void {
  if (!STACK_PATTERN.test(stack)) {
    throw new UsageError(`${command}: --stack expects the pipeline's CloudFormation stack name (a letter, then letters, digits or '-'), found ${JSON.stringify(stack)}`);
  }
  const longestStage = config.stages.reduce((a, b) => (b.length > a.length ? b : a));
  const deployed = `${stack}Functions${longestStage}`;
  if (deployed.length > MAX_STACK_NAME) {
    throw new UsageError(`${command}: --stack is too long: the stage stack ${deployed} would have ${deployed.length} characters, CloudFormation allows ${MAX_STACK_NAME}`);
  }
  if (stack.length + BOUNDARY_SUFFIX.length > MAX_BOUNDARY_NAME) {
    throw new UsageError(`${command}: --stack is too long: the pipeline's permissions boundary ${stack}${BOUNDARY_SUFFIX} would have ${stack.length + BOUNDARY_SUFFIX.length} characters, IAM allows ${MAX_BOUNDARY_NAME}`);
  }
  for (const stage of config.stages) {
    const alias = templateNames(config.name, stack, stage).aliasName;
    if (!ALIAS_PATTERN.test(alias) || /^[0-9]+$/.test(alias) || alias.length > MAX_ALIAS_NAME) {
      throw new UsageError(`${command}: --stack ${JSON.stringify(stack)} makes the alias and export name ${alias} (Name+Stack+Stage) ${alias.length > MAX_ALIAS_NAME ? `${alias.length} characters long; Lambda allows ${MAX_ALIAS_NAME}` : "invalid for Lambda (letters, digits, '-', '_')"}; use a shorter --stack`);
    }
  }
}

/**
 * The pipeline was generated for a list of stages (`generate pipeline --stages`); a repository
 * whose config/ says otherwise would fail later, at a deploy action, for want of a template.
 */
function checkPipelineStages(config: RepositoryConfig, pipelineStages: string[]): void {
  const expected = [...pipelineStages.filter((stage) => stage !== 'PROD'), 'PROD'];
  if (expected.join(',') === config.stages.join(',')) return;
  throw new ConfigError(
    `config/: the pipeline deploys the stages ${expected.join(', ')} but the repository's stages are ${config.stages.join(', ')}; ` +
      'make the config/<Stage>/ folders and Stages in config/config.yaml match, or regenerate the pipeline with lambda-cd generate pipeline --stages',
  );
}
