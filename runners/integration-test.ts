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
import { releaseUnderTest } from '../lib/function-versions.js';
import { UsageError } from '../lib/errors.js';
import { outputTail } from '../lib/junit.js';
import { displayPath, progress, warn } from '../lib/output.js';
import { safeName } from '../lib/redact.js';
import { formatOutcome, nothingToRun, nothingToRunReason, runSuite, suiteFiles, type SuiteRun, type TestOutcome, type TestRunOptions } from '../lib/test-execution.js';
import { languageOf } from '../languages/index.js';

export interface IntegrationTestOptions extends TestRunOptions {
  repository: RepositoryConfig;
  stack: string;
  stage: string;
  functionStack?: string;
  invokeEvents: string[];
  waitSeconds: number;
  /** The build's package manifest: when it is there, the alias must serve this build's zip. */
  manifestFile?: string;
}
export interface IntegrationTestResult extends SuiteRun {
  /** Undefined when nothing ran, so nothing was looked up. */
  functionArn?: string;
  /** The alias the tests ran against and its version (stacks from templates that publish versions). */
  aliasArn?: string;
  functionVersion?: string;
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
  const language = languageOf(repository);
  const suite = repository.integrationtests;
  const files = suite ? suiteFiles(repository.root, suite, language.testFiles) : [];
  const events = readEvents(options.invokeEvents);
  const nothing = nothingToRunReason(suite, files, 'integration', language.testFiles);
  // Nothing to test and nothing to invoke: no reason to look the function up.
  if (nothing !== undefined && events.length === 0) return nothingToRun('integration-tests', options.reportPath, nothing);
  const blocks = options.blocks ?? process.stdout;

  const exportName = `${repository.name}${options.stack}${options.stage}`;
  progress(STEP, options.functionStack ? `reading the outputs of stack ${options.functionStack}` : `looking up export ${exportName}`);
  const deployed = await resolveDeployedFunction(exportName, options.functionStack);
  progress(STEP, `function ${deployed.arn} (from ${deployed.source})`);
  const config = await waitForFunction(deployed.arn, { waitSeconds: options.waitSeconds, step: STEP });
  const functionName = config.FunctionName ?? deployed.arn.split(':')[6]!;
  // Refuses (exit 3) when the alias does not serve the version this build's deploy published.
  const release = await releaseUnderTest(deployed.outputs, `the stack of ${deployed.source}`, options.manifestFile, STEP);

  const invoked: TestOutcome[] = [];
  for (const event of events) {
    const outcome = await smokeTest(release?.aliasArn ?? deployed.arn, event, config.Timeout);
    blocks.write(formatOutcome(outcome, blocks));
    invoked.push(outcome);
  }

  if (nothing !== undefined || !suite) {
    const result = await nothingToRun('integration-tests', options.reportPath, nothing!.replace(/: nothing to run$/, ': only the --invoke events ran'), invoked);
    return { ...result, functionArn: deployed.arn, ...(release ? { aliasArn: release.aliasArn, functionVersion: release.version } : {}) };
  }
  const launcher = await language.prepareTests({ repository, suite, kind: 'integration', options, step: STEP });
  const result = await runSuite({
    suiteName: 'integration-tests',
    step: STEP,
    root: repository.root,
    files,
    launcher,
    args: [deployed.arn],
    // Stack outputs first: the names we set must not be shadowed by an output of the same name.
    env: {
      ...outputVariables(deployed.outputs),
      FUNCTION_ARN: deployed.arn,
      ...(release ? { FUNCTION_ALIAS_ARN: release.aliasArn, FUNCTION_VERSION: release.version } : {}),
      FUNCTION_NAME: functionName,
      STAGE: options.stage,
      STACK_NAME: options.stack,
      AWS_REGION: deployed.region,
      AWS_DEFAULT_REGION: process.env.AWS_DEFAULT_REGION ?? deployed.region,
    },
    jobs: options.jobs,
    timeoutSeconds: options.timeoutSeconds,
    reportPath: options.reportPath,
    earlier: invoked,
    blocks,
  });
  return { ...result, functionArn: deployed.arn, ...(release ? { aliasArn: release.aliasArn, functionVersion: release.version } : {}) };
}
