/**
 * `lambda-cd integration-test`: finds the deployed function of a stage, checks it is ready,
 * optionally smoke-invokes it, then runs the integration test files against it (each gets
 * the ARN as sys.argv[1], as in 2018, and the details in its environment).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { RepositoryConfig } from '../lib/contract.js';
import { resolveDeployedFunction, invokeFunction, waitForFunction } from '../lib/deployed-function.js';
import { parseJson } from '../lib/data-files.js';
import { UsageError } from '../lib/errors.js';
import { outputTail } from '../lib/junit.js';
import { displayPath, progress, warn } from '../lib/output.js';
import { safeName } from '../lib/redact.js';
import { discoverTestFiles, formatOutcome, nothingToRun, nothingToRunReason, runSuite, type SuiteRun, type TestOutcome, type TestRunOptions } from '../lib/test-execution.js';
import { installTestRequirements } from '../lib/test-requirements.js';

export interface IntegrationTestOptions extends TestRunOptions {
  repository: RepositoryConfig;
  stack: string;
  stage: string;
  functionStack?: string;
  invokeEvents: string[];
  waitSeconds: number;
}
export interface IntegrationTestResult extends SuiteRun {
  /** Undefined when nothing ran, so nothing was looked up. */
  functionArn?: string;
}

const STEP = 'integration-test';

/** Variables a stack output must not replace: the test process needs them as they are. */
const RESERVED_VARIABLES = /^(PATH|HOME|PYTHONPATH|PYTHONHOME|LD_\w*|AWS_\w*)$/;

function outputVariables(outputs: Record<string, string>): Record<string, string> {
  const usable = Object.entries(outputs).filter(([key]) => {
    if (!RESERVED_VARIABLES.test(key)) return true;
    warn(`stack output ${key} is not passed to the tests as a variable: it would replace ${key} of the environment`);
    return false;
  });
  return Object.fromEntries(usable);
}

/** Reads the --invoke events up front, so a typo fails before anything is called; no message quotes an event. */
function readEvents(files: string[]): { file: string; body: Buffer }[] {
  return files.map((file) => {
    const shown = `integration-test: --invoke ${safeName(file, 200)}`;
    let body: Buffer;
    try {
      body = readFileSync(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const found = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a folder' : code === 'EACCES' || code === 'EPERM' ? 'a file it may not read (permission denied)' : `a file it cannot read (${code})`;
      throw new UsageError(`${shown}: expected a JSON event file, found ${found}`);
    }
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(body);
    } catch {
      throw new UsageError(`${shown}: expected a JSON event in UTF-8 (what Lambda accepts), found bytes that are not UTF-8`);
    }
    // The place and the kind of error, never the text around it: an event may hold a token.
    parseJson(text, { shown, bounded: false });
    return { file, body };
  });
}

async function smokeTest(arn: string, event: { file: string; body: Buffer }, functionTimeoutSeconds?: number): Promise<TestOutcome> {
  const result = await invokeFunction(arn, event.body, functionTimeoutSeconds);
  const lines = [`status ${result.statusCode ?? '?'}${result.functionError ? `, function error ${result.functionError}` : ''}`, `response: ${outputTail(result.payload, 40)}`];
  if (result.logTail !== undefined) lines.push('log tail:', outputTail(result.logTail, 40));
  else if (!result.ok) lines.push('(Lambda returned no log tail)');
  return {
    name: `invoke ${displayPath(path.resolve(event.file))}`,
    kind: 'invoke',
    status: result.ok ? 'passed' : 'failed',
    detail: result.ok ? 'invoked' : `function error ${result.functionError}`,
    durationMs: result.durationMs,
    output: `${lines.join('\n')}\n`,
  };
}

export async function runIntegrationTest(options: IntegrationTestOptions): Promise<IntegrationTestResult> {
  const { repository } = options;
  const suite = repository.integrationtests;
  const files = suite ? discoverTestFiles(repository.root, suite) : [];
  const events = readEvents(options.invokeEvents);
  const nothing = nothingToRunReason(suite, files, 'integration');
  // Nothing to test and nothing to invoke: no reason to look the function up.
  if (nothing !== undefined && events.length === 0) return nothingToRun('integration-tests', options.reportPath, nothing);
  const blocks = options.blocks ?? process.stdout;

  const exportName = `${repository.name}${options.stack}${options.stage}`;
  progress(STEP, options.functionStack ? `reading the outputs of stack ${options.functionStack}` : `looking up export ${exportName}`);
  const deployed = await resolveDeployedFunction(exportName, options.functionStack);
  progress(STEP, `function ${deployed.arn} (from ${deployed.source})`);
  const config = await waitForFunction(deployed.arn, { waitSeconds: options.waitSeconds, step: STEP });
  const functionName = config.FunctionName ?? deployed.arn.split(':')[6]!;

  const invoked: TestOutcome[] = [];
  for (const event of events) {
    const outcome = await smokeTest(deployed.arn, event, config.Timeout);
    blocks.write(formatOutcome(outcome, blocks));
    invoked.push(outcome);
  }

  if (nothing !== undefined || !suite) {
    const result = await nothingToRun('integration-tests', options.reportPath, nothing!.replace(/: nothing to run$/, ': only the --invoke events ran'), invoked);
    return { ...result, functionArn: deployed.arn };
  }
  const requirements = await installTestRequirements({
    python: options.python,
    requirementFiles: [path.join(suite.absoluteFolder, 'requirements.txt')],
    cacheDir: options.cacheDir,
    pip: options.pip,
    cwd: repository.root,
    step: STEP,
    lambda: { runtime: repository.runtime, functionFirst: false },
  });
  const result = await runSuite({
    suiteName: 'integration-tests',
    step: STEP,
    root: repository.root,
    files,
    runner: suite.runner,
    python: options.python,
    args: [deployed.arn],
    // Stack outputs first: the names we set must not be shadowed by an output of the same name.
    env: {
      ...outputVariables(deployed.outputs),
      FUNCTION_ARN: deployed.arn,
      FUNCTION_NAME: functionName,
      STAGE: options.stage,
      STACK_NAME: options.stack,
      AWS_REGION: deployed.region,
      AWS_DEFAULT_REGION: process.env.AWS_DEFAULT_REGION ?? deployed.region,
    },
    pythonPath: [path.join(repository.root, 'src'), ...requirements.dirs],
    jobs: options.jobs,
    timeoutSeconds: options.timeoutSeconds,
    reportPath: options.reportPath,
    earlier: invoked,
    blocks,
  });
  return { ...result, functionArn: deployed.arn };
}
