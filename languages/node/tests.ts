/**
 * Node.js tests: every dependency of package-lock.json (dev ones too) installed with `npm ci` into
 * a cached folder of ours (never the repository's node_modules/, never the zip's), keyed on the
 * lock file and verified before reuse; then each file runs with `node --test FILE` (node's spec
 * output, and its junit reporter for the report), `node FILE ARGS` (Runner: script) or the
 * package's test script once (Runner: npm). Imports find the installed packages through a resolve
 * hook (ESM) and NODE_PATH (CommonJS), and @aws-sdk/* falls back to lambda-cd's own copy, as
 * Lambda's runtime provides the SDK to functions that do not install it.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cacheFailure, removeDeadTemporaries, removeOnInterrupt, temporaryName } from '../../lib/atomic.js';
import type { TestRunner } from '../../lib/contract.js';
import { ConfigError } from '../../lib/errors.js';
import { recordFolder, verifyFolder, type FolderRecord } from '../../lib/folder-record.js';
import { displayPath, progress, warn } from '../../lib/output.js';
import { NODE_RUNTIMES } from '../../lib/runtimes.js';
import { judgeExit, type TestLauncher } from '../../lib/test-execution.js';
import type { TestPreparation } from '../types.js';
import { dependencyKey, stageProject } from './dependencies.js';
import { readNpmProject } from './lockfile.js';
import { NPM, npmCi, requireNpm } from './npm.js';
import { resolveEnvironment } from './resolve-hook.js';

/** The one "file" of Runner: npm. */
export const NPM_TEST = 'npm test';

/** The Node.js that runs the tests: LAMBDA_CD_NODE, else the one running lambda-cd. */
export function nodeProgram(): string {
  return process.env.LAMBDA_CD_NODE || process.execPath;
}

export async function prepareNodeTests({ repository, suite, options, step }: TestPreparation): Promise<TestLauncher> {
  const project = readNpmProject(repository.root);
  if (suite.runner === 'npm' && !project?.testScript) throw new ConfigError(`${displayPath(path.join(repository.root, 'package.json'))}: Runner npm runs the package's test script, and package.json has no scripts.test`);
  const nodeModules = project?.lockFile ? await testDependencies(project, options.cacheDir, step) : undefined;
  warnNodeVersion(repository.runtime);
  const resolve = await resolveEnvironment({ cacheDir: options.cacheDir, first: nodeModules ? [nodeModules] : [] });
  return nodeLauncher(suite.runner, resolve);
}

function nodeLauncher(runner: TestRunner, resolve: Record<string, string>): TestLauncher {
  return {
    runner: runner === 'node' ? 'node --test' : runner === 'npm' ? 'npm test' : 'node FILE',
    program: runner === 'npm' ? NPM : nodeProgram(),
    environment: (extra) => ({ ...process.env, ...extra, ...resolve, NODE_OPTIONS: [resolve.NODE_OPTIONS, process.env.NODE_OPTIONS].filter(Boolean).join(' '), npm_config_update_notifier: 'false' }),
    invocation(file, extraArgs, scratch, index) {
      if (runner === 'npm') return { args: ['test', ...(extraArgs.length ? ['--', ...extraArgs] : [])] };
      if (runner === 'script') return { args: [file, ...extraArgs] };
      // node --test takes no arguments for the file: integration tests read FUNCTION_ARN from the environment.
      const junitFile = path.join(scratch, `${index}.xml`);
      return { args: ['--test', '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=junit', `--test-reporter-destination=${junitFile}`, file], junitFile };
    },
    judge: judgeExit,
  };
}

/** Dev and production dependencies for this machine, cached by the lock's content. */
async function testDependencies(project: NonNullable<ReturnType<typeof readNpmProject>>, cacheDir: string, step: string): Promise<string> {
  const base = path.join(cacheDir, 'npm-test');
  const entry = path.join(base, dependencyKey(project, `${process.platform}-${process.arch}-node${process.versions.node.split('.')[0]}`, 'tests'));
  const shownLock = displayPath(project.lockFile!);
  const recordFile = path.join(entry, 'record.json');
  if (existsSync(recordFile)) {
    const record = await readFile(recordFile, 'utf8').then((text) => JSON.parse(text) as FolderRecord, () => undefined);
    const problem = record ? verifyFolder(path.join(entry, 'node_modules'), '.bin', record) : 'its record cannot be read';
    if (problem === undefined) {
      progress(step, `dev and production dependencies from the cache (${shownLock} unchanged)`);
      return path.join(entry, 'node_modules');
    }
    warn(`${displayPath(entry)}: cached test dependencies discarded (${problem}); installing again`);
    await rm(entry, { recursive: true, force: true });
  }
  await mkdir(base, { recursive: true }).catch((error: unknown) => Promise.reject(cacheFailure(cacheDir, error)));
  await removeDeadTemporaries(base);
  await requireNpm(step);
  const stage = path.join(base, temporaryName('work'));
  const release = removeOnInterrupt(stage);
  try {
    await stageProject(project, stage);
    progress(step, `npm ci (dev dependencies included) from ${shownLock}`);
    await npmCi({ prefix: stage, args: ['--include=dev'], cacheDir: path.join(cacheDir, 'npm'), shown: shownLock, step, what: `npm ci (${shownLock})` });
    await mkdir(path.join(stage, 'node_modules'), { recursive: true }); // npm ci of a lock without packages creates none
    const record = recordFolder(path.join(stage, 'node_modules'), '.bin');
    await writeFile(path.join(stage, 'record.json'), JSON.stringify(record));
    await rm(entry, { recursive: true, force: true });
    await rename(stage, entry);
    return path.join(entry, 'node_modules');
  } finally {
    release();
    await rm(stage, { recursive: true, force: true });
  }
}

function warnNodeVersion(runtime: string): void {
  const wanted = NODE_RUNTIMES[runtime]?.nodeVersion;
  const program = nodeProgram();
  const running = program === process.execPath ? process.versions.node : undefined;
  if (wanted && running && running.split('.')[0] !== wanted) {
    warn(`the tests run on Node.js ${running} (${program}), but Runtime ${runtime} is Node.js ${wanted}: results may differ on Lambda; run them on Node.js ${wanted} (LAMBDA_CD_NODE, or lambda-cd's image for ${runtime})`);
  }
}
