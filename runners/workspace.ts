/**
 * A runner at the root of a multi-function repository (lambda-cd.yaml): the same command, run
 * once per function as a child `lambda-cd` process (so each function is exactly a repository of
 * today's layout, in whatever language its runners speak), up to --jobs at once, with its outputs
 * directed to dist/<Function>/ and its stderr shown line by line under its name. The exit code is
 * the worst of the functions'.
 *
 * Functions that include shared folders or use layers run on a staged copy of their folder in
 * .lambda-cd/functions/<Function>/ (src/ plus each included folder under its last name, the
 * layers' requirements included from requirements.txt), so the unit tests and the handler check
 * see what Lambda will. `package` rebuilds only functions whose inputs changed (lib/workspace-inputs.ts).
 */
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { givenOption, withoutOption } from '../lib/argv-options.js';
import { discardOutputs } from '../lib/atomic.js';
import { loadRepository } from '../lib/contract.js';
import { ConfigError, EXIT } from '../lib/errors.js';
import { runStreamingStderr } from '../lib/exec.js';
import { count, displayPath, progress, style } from '../lib/output.js';
import { escapeControl } from '../lib/redact.js';
import { buildEnvironment, digestFolder, digestInputs, recordFile, whyRebuild, writeBuildRecord } from '../lib/workspace-inputs.js';
import type { Workspace, WorkspaceFunction } from '../lib/workspace.js';
import { attachLayers, buildLayers, publishLayers, withoutLayerPackages } from './workspace-layers.js';
import { mapLimited } from '../lib/map-limited.js';

/** The commands that run per function at the root. */
export const WORKSPACE_COMMANDS = ['check', 'unit-test', 'package', 'create-cf', 'publish', 'deploy', 'integration-test', 'rollback'] as const;
export type WorkspaceCommand = (typeof WORKSPACE_COMMANDS)[number];

export interface WorkspaceRunOptions {
  command: WorkspaceCommand;
  /** The command's own arguments, --path, --function and (for commands without their own) --jobs taken out. */
  args: string[];
  workspace: Workspace;
  functions: WorkspaceFunction[];
  jobs: number;
  json: boolean;
  /** How to start lambda-cd itself: [node, cli/main.js]. */
  self: string[];
}

export interface FunctionOutcome {
  function: string;
  exitCode: number;
  /** package: built (changed) or left as it was (unchanged). */
  changed?: boolean;
  reason?: string;
  stdout: string;
}

export interface WorkspaceResult {
  exitCode: number;
  functions: FunctionOutcome[];
}

/** Options naming an output file: at the root, each function's goes into a folder named after it. */
const FILE_OUTPUTS: Partial<Record<WorkspaceCommand, Record<string, string>>> = {
  'unit-test': { report: '.lambda-cd/reports/{F}/unit-tests.xml' },
  'integration-test': { report: '.lambda-cd/reports/{F}/integration-tests.xml' },
  package: { out: 'dist/{F}/function.zip' },
  'create-cf': { zip: 'dist/{F}/function.zip' },
  publish: { zip: 'dist/{F}/function.zip', out: 'dist/{F}/code-location.json' },
  deploy: { zip: 'dist/{F}/function.zip', 'code-location': 'dist/{F}/code-location.json' },
};
const DIR_OUTPUTS: Partial<Record<WorkspaceCommand, Record<string, string>>> = {
  'create-cf': { 'out-dir': 'dist/{F}' },
};
const USES_CACHE: WorkspaceCommand[] = ['unit-test', 'package', 'create-cf', 'integration-test'];
const USES_STAGED: WorkspaceCommand[] = ['check', 'unit-test', 'package'];
const FUNCTION_STACK: WorkspaceCommand[] = ['deploy', 'integration-test', 'rollback'];

export async function runWorkspace(options: WorkspaceRunOptions): Promise<WorkspaceResult> {
  const { workspace, functions } = options;
  progress(options.command, `${count(functions.length, 'function')} of ${displayPath(workspace.file)} (${functions.map((fn) => fn.name).join(', ')}), up to ${options.jobs} at once`);
  if (options.command === 'package') await buildLayers(options);
  // Layers go to the bucket before the functions whose templates name them (deploy publishes when given a bucket).
  const bucket = givenOption(options.args, 'bucket') ?? process.env.LAMBDA_CD_ARTIFACT_BUCKET;
  const layersPublished = options.command === 'publish' || (options.command === 'deploy' && bucket) ? await publishLayers(options) : EXIT.ok;
  if (layersPublished !== EXIT.ok) return { exitCode: layersPublished, functions: [] };
  const outcomes = await mapLimited(functions, options.jobs, (fn) => runOne(options, fn));
  const exitCode = Math.max(EXIT.ok, ...outcomes.map((outcome) => outcome.exitCode));
  if (options.json) {
    const parsed = outcomes.map((outcome) => ({ function: outcome.function, exitCode: outcome.exitCode, ...(outcome.changed === undefined ? {} : { changed: outcome.changed, reason: outcome.reason }), result: parseJson(outcome.stdout) }));
    process.stdout.write(`${JSON.stringify({ command: options.command, exitCode, ...(options.command === 'package' ? { changed: outcomes.filter((o) => o.changed).map((o) => o.function) } : {}), functions: parsed }, null, 2)}\n`);
  } else {
    for (const outcome of outcomes) for (const line of outcome.stdout.split('\n').filter(Boolean)) process.stdout.write(`${outcome.function}: ${line}\n`);
  }
  const summary = outcomes.map((o) => `${o.function} ${o.exitCode === 0 ? (o.changed === false ? 'unchanged' : 'ok') : `failed (exit ${o.exitCode})`}`).join(', ');
  progress(options.command, summary);
  if (options.command === 'package') {
    const changed = outcomes.filter((o) => o.changed).map((o) => o.function);
    progress('package', changed.length ? `changed: ${changed.join(', ')}` : 'no function changed');
  }
  return { exitCode, functions: outcomes };
}


function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text.trim() === '' ? null : text.trim();
  }
}

// ---------------------------------------------------------------------------------------
// One function
// ---------------------------------------------------------------------------------------

async function runOne(options: WorkspaceRunOptions, fn: WorkspaceFunction): Promise<FunctionOutcome> {
  const { command, workspace } = options;
  try {
    // The folder's own config first, so its errors name the real file (not the staged copy).
    const repository = loadRepository(fn.folder);
    const layered = fn.layers.length > 0;
    const staged = USES_STAGED.includes(command) && (fn.include.length > 0 || layered);
    const args = functionArgs(options, fn, staged);
    let inputs: string | undefined;
    const finalZip = path.join(workspace.root, 'dist', fn.name, 'function.zip');
    if (command === 'package') {
      inputs = functionInputs(options, fn, repository.runtime, repository.architecture);
      const reason = givenOption(options.args, 'out') === undefined ? whyRebuild(finalZip, inputs) : 'an --out was given';
      if (reason === undefined) {
        progress(`package ${fn.name}`, `unchanged since the last build: ${displayPath(finalZip)}`);
        return { function: fn.name, exitCode: 0, changed: false, stdout: await unchangedOutput(finalZip, options.args) };
      }
      progress(`package ${fn.name}`, `building (${reason})`);
      // The earlier outputs no longer describe the sources, whatever happens next (as package itself does).
      if (givenOption(options.args, 'out') === undefined) await discardOutputs([finalZip, `${finalZip}.manifest.json`, recordFile(finalZip)]);
    }
    const folder = staged ? await stageFunction(workspace, fn) : fn.folder;
    const buildZip = layered && command === 'package' ? path.join(workspace.root, '.lambda-cd', 'function-builds', fn.name, 'function.zip') : undefined;
    const childArgs = [...(buildZip ? [...withoutOption(args, 'out'), '--out', buildZip] : args), '--path', folder];
    const result = await runStreamingStderr(options.self[0]!, [...options.self.slice(1), ...command.split(' '), ...childArgs], {
      cwd: process.cwd(),
      env: { ...process.env, LAMBDA_CD_FUNCTION: undefined, LAMBDA_CD_PATH: undefined },
      // Messages name the function's own folder, not the staged copy they came from.
      onStderrLine: (line) => process.stderr.write(`${style.dim(`[${fn.name}]`)} ${staged ? line.split(folder).join(fn.folder).split(displayPath(folder)).join(displayPath(fn.folder)) : line}\n`),
    });
    if (command === 'package' && result.exitCode === 0 && inputs !== undefined) {
      if (buildZip) await withoutLayerPackages(workspace, fn, buildZip, finalZip);
      // Sources edited while the build ran: record nothing, the next build starts again.
      if (inputs === functionInputs(options, fn, repository.runtime, repository.architecture) && givenOption(options.args, 'out') === undefined) await writeBuildRecord(finalZip, inputs);
      return { function: fn.name, exitCode: 0, changed: true, stdout: buildZip ? await unchangedOutput(finalZip, options.args) : result.stdout };
    }
    if (command === 'create-cf' && result.exitCode === 0) await attachLayers(workspace, fn, givenOption(childArgs, 'out-dir')!);
    return { function: fn.name, exitCode: result.exitCode, ...(command === 'package' ? { changed: true } : {}), stdout: result.stdout };
  } catch (error) {
    const exitCode = (error as { exitCode?: number }).exitCode ?? EXIT.environment;
    process.stderr.write(`${style.dim(`[${fn.name}]`)} ${style.red('lambda-cd: error:')} ${(error as Error).message}\n`);
    return { function: fn.name, exitCode, stdout: '' };
  }
}

/** What package prints for a zip it did not build again: the same as a build would. */
async function unchangedOutput(zip: string, args: string[]): Promise<string> {
  const manifest = await readFile(`${zip}.manifest.json`, 'utf8');
  return args.includes('--json') ? manifest : `${zip}\nsha256 ${(JSON.parse(manifest) as { sha256: string }).sha256}\n`;
}

/** The child's arguments: the user's, with each output option pointed into the function's own folder under dist/ (or the user's folder). */
function functionArgs(options: WorkspaceRunOptions, fn: WorkspaceFunction, staged: boolean): string[] {
  const { command, workspace } = options;
  let args = [...options.args];
  const place = (template: string) => path.join(workspace.root, template.replace('{F}', fn.name));
  for (const [option, template] of Object.entries(FILE_OUTPUTS[command] ?? {})) {
    const given = givenOption(args, option);
    args = withoutOption(args, option);
    args.push(`--${option}`, given === undefined ? place(template) : path.join(path.dirname(path.resolve(given)), fn.name, path.basename(given)));
  }
  for (const [option, template] of Object.entries(DIR_OUTPUTS[command] ?? {})) {
    const given = givenOption(args, option);
    args = withoutOption(args, option);
    args.push(`--${option}`, given === undefined ? place(template) : path.join(path.resolve(given), fn.name));
  }
  if (USES_CACHE.includes(command) && givenOption(args, 'cache-dir') === undefined && !process.env.LAMBDA_CD_CACHE_DIR) {
    // One cache for the repository: functions share their wheels and test requirements.
    args.push('--cache-dir', path.join(workspace.root, '.lambda-cd', 'cache'));
  }
  if (FUNCTION_STACK.includes(command)) {
    const stack = givenOption(args, 'stack') ?? process.env.LAMBDA_CD_STACK;
    const stage = givenOption(args, 'stage') ?? process.env.LAMBDA_CD_STAGE;
    const given = givenOption(args, 'function-stack') ?? (process.env.LAMBDA_CD_FUNCTION_STACK || undefined);
    args = withoutOption(args, 'function-stack');
    if (given !== undefined || (stack !== undefined && stage !== undefined)) args.push('--function-stack', functionStackName(given ?? `${stack}Functions${stage}`, fn.name));
    if (command === 'deploy' && givenOption(args, 'template') === undefined && stage !== undefined) {
      const json = path.join(workspace.root, 'dist', fn.name, `stack${stage}.json`);
      const yaml = path.join(workspace.root, 'dist', fn.name, `stack${stage}.yaml`);
      args.push('--template', existsSync(json) || !existsSync(yaml) ? json : yaml);
    }
  }
  return args;
}

/** One stack per function and stage: the stage's stack name (the 2018 <Stack>Functions<Stage>) and the function's. */
export function functionStackName(stageStack: string, fn: string): string {
  return `${stageStack}-${fn}`;
}

// ---------------------------------------------------------------------------------------
// Inputs, staging
// ---------------------------------------------------------------------------------------

function functionInputs(options: WorkspaceRunOptions, fn: WorkspaceFunction, runtime: string, architecture: string): string {
  const layers = options.workspace.layers.filter((layer) => fn.layers.includes(layer.name));
  return digestInputs({
    function: fn.name, folder: digestFolder(fn.folder),
    include: fn.include.map((item) => [item.relative, item.as, digestFolder(item.absolute)]),
    layers: layers.map((layer) => [layer.name, layer.relative, digestFolder(layer.folder)]),
    runtime, architecture, args: options.args.filter((arg) => arg !== '--json'), env: buildEnvironment(),
  });
}

/** Copies the function folder to .lambda-cd/functions/<F>/ with its includes in src/ and its layers' requirements. */
async function stageFunction(workspace: Workspace, fn: WorkspaceFunction): Promise<string> {
  const stage = path.join(workspace.root, '.lambda-cd', 'functions', fn.name);
  await rm(stage, { recursive: true, force: true });
  await mkdir(stage, { recursive: true });
  const skip = new Set(['.lambda-cd', 'dist', '.git']);
  await cp(fn.folder, stage, { recursive: true, verbatimSymlinks: true, filter: (source) => !skip.has(path.relative(fn.folder, source).split(path.sep)[0]!) });
  for (const item of fn.include) {
    const target = path.join(stage, 'src', item.as);
    if (existsSync(target)) {
      throw new ConfigError(`${displayPath(workspace.file)}: Functions.${fn.name}.Include: ${escapeControl(item.relative)} would land in src/${escapeControl(item.as)}, which ${escapeControl(fn.relative)}/src already has; expected a folder whose last name the function's src/ does not use`);
    }
    await cp(item.absolute, target, { recursive: true, verbatimSymlinks: true, filter: (source) => !source.split(path.sep).includes('__pycache__') });
  }
  if (fn.layers.length > 0) {
    const lines: string[] = [];
    for (const name of fn.layers) {
      const layer = workspace.layers.find((l) => l.name === name)!;
      const into = path.join(stage, '.lambda-cd-layers', name);
      await cp(layer.folder, into, { recursive: true, verbatimSymlinks: true });
      lines.push(`-r .lambda-cd-layers/${name}/requirements.txt`);
    }
    const own = path.join(stage, 'requirements.txt');
    const text = existsSync(own) ? await readFile(own, 'utf8') : '';
    // The layers' packages resolve together with the function's (as Lambda will load them side by side); package leaves them out of the zip afterwards.
    await writeFile(own, `${lines.join('\n')}\n${text}`);
  }
  return stage;
}

