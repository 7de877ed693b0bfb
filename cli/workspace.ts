/**
 * The root of a multi-function repository (lambda-cd.yaml, lib/workspace.ts): the runners that
 * work per function are handed to runners/workspace.ts instead of running once. Only
 * --path, --function and --jobs are read here; everything else goes to each function's run.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { givenOption, withoutOption } from '../lib/argv-options.js';
import { UsageError } from '../lib/errors.js';
import { findRepositoryRoot } from './repository.js';

const ROOT_FILE = 'lambda-cd.yaml';
export const WORKSPACE_COMMANDS = ['check', 'unit-test', 'package', 'create-cf', 'publish', 'deploy', 'integration-test', 'rollback'];
/** Commands whose own --jobs runs test files at once: at the root it also bounds the functions at once, and goes on to each. */
const OWN_JOBS = ['unit-test', 'integration-test'];

/** Runs `command` at a multi-function root and returns its exit code, or undefined when this is no such root (or --help). */
export async function runAtWorkspaceRoot(command: string, args: string[]): Promise<number | undefined> {
  if (!WORKSPACE_COMMANDS.includes(command) || args.includes('--help') || args.includes('-h')) return undefined;
  // The same discovery as every command (cli/repository.ts): --path, LAMBDA_CD_PATH, or the nearest marker up from here.
  const givenPath = givenOption(args, 'path') ?? process.env.LAMBDA_CD_PATH;
  const root = givenPath !== undefined ? path.resolve(givenPath) : (findRepositoryRoot(process.cwd()) ?? process.cwd());
  if (!existsSync(path.join(root, ROOT_FILE))) {
    await warnInsideWorkspace(command, root);
    return undefined;
  }
  const { loadWorkspace, selectFunctions } = await import('../lib/workspace.js');
  const { runWorkspace } = await import('../runners/workspace.js');
  const { usableCpus } = await import('../lib/cpus.js');
  const workspace = loadWorkspace(root);
  const given = givenOption(args, 'function');
  const functions = selectFunctions(workspace, given ?? process.env.LAMBDA_CD_FUNCTION, given !== undefined ? '--function' : 'LAMBDA_CD_FUNCTION');
  const jobsText = givenOption(args, 'jobs');
  const jobs = jobsText === undefined ? usableCpus() : Number(jobsText);
  if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError(`--jobs: expected a whole number of at least 1, found ${JSON.stringify(jobsText)}`);
  let rest = withoutOption(withoutOption(args, 'path'), 'function');
  if (!OWN_JOBS.includes(command)) rest = withoutOption(rest, 'jobs');
  const result = await runWorkspace({
    command: command as never, args: rest, workspace, functions, jobs, json: rest.includes('--json'),
    self: [process.execPath, process.argv[1]!],
  });
  return result.exitCode;
}

/**
 * A function folder of a multi-function repository run on its own gets neither its includes nor
 * its layers: say so (the run goes on, as for any function repository).
 */
async function warnInsideWorkspace(command: string, folder: string): Promise<void> {
  for (let dir = path.dirname(folder), depth = 0; depth < 6 && dir !== path.dirname(dir); dir = path.dirname(dir), depth++) {
    if (!existsSync(path.join(dir, ROOT_FILE))) continue;
    try {
      const { loadWorkspace } = await import('../lib/workspace.js');
      const fn = loadWorkspace(dir).functions.find((item) => item.folder === folder);
      if (fn && (fn.include.length > 0 || fn.layers.length > 0)) {
        const { warn, displayPath } = await import('../lib/output.js');
        warn(`${displayPath(folder)} is ${fn.name} of ${displayPath(path.join(dir, ROOT_FILE))}, run here without its ${[...fn.include.map((item) => item.relative), ...fn.layers.map((layer) => `layer ${layer}`)].join(', ')}; run \`lambda-cd ${command} --path ${displayPath(dir) || '.'} --function ${fn.name}\` to include them`);
      }
    } catch {
      // a broken lambda-cd.yaml above is the root's business, not this run's
    }
    return;
  }
}
