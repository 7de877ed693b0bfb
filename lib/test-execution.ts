/**
 * Running a suite of test files: shared by `unit-test` and `integration-test`, and by every
 * language. Finds the files, runs them in parallel (each in its own process group, stopped with
 * its whole tree at the timeout), prints each file's output as one block under a header, and
 * writes the JUnit report. A suite with no test files runs nothing and passes, as in 2018. How
 * one file runs and what its exit means is the language's TestLauncher (languages/<id>/tests.ts).
 */
import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestSuite } from './contract.js';
import { EXIT } from './errors.js';
import { killRunningGroups, runInProcessGroup, type GroupRunResult } from './exec.js';
import { readFrameworkCases, writeJUnit, type CaseStatus, type JUnitCase } from './junit.js';
import { count, displayPath, formatDuration, progress, style } from './output.js';
import { toPosix } from './paths.js';
import type { PipOptions } from './python.js';

/** Which files of a test folder are test files, per language. */
export interface TestFileKind {
  extensions: string[];
  /** Names that are never test files although their extension says so (conftest.py). */
  exclude: string[];
  /** For messages: `*.py files`. */
  describe: string;
}

/**
 * The test files of a suite, repository-relative (POSIX): the listed `Files` in their order,
 * or every test file directly in the folder, sorted by name (none is possible: nothing to run).
 */
export function discoverTestFiles(root: string, suite: TestSuite, kind: TestFileKind): string[] {
  if (suite.files) return suite.files.map((file) => toPosix(path.relative(root, path.join(suite.absoluteFolder, file))));
  return readdirSync(suite.absoluteFolder, { withFileTypes: true })
    .filter((entry) => entry.isFile() && kind.extensions.some((extension) => entry.name.endsWith(extension)) && !kind.exclude.includes(entry.name))
    .map((entry) => entry.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((name) => toPosix(path.join(suite.folder, name)));
}

/** The files a suite runs: the test files, or the one `npm test` of Runner: npm. */
export function suiteFiles(root: string, suite: TestSuite, kind: TestFileKind): string[] {
  return suite.runner === 'npm' ? ['npm test'] : discoverTestFiles(root, suite, kind);
}

/**
 * Why a suite has nothing to run, in the words the run ends with, or undefined when it has
 * files: `no unit tests configured: nothing to run`, `no integration tests in test/ (no *.py
 * files in it): nothing to run`.
 */
export function nothingToRunReason(suite: TestSuite | undefined, files: string[], kind: string, fileKind: TestFileKind): string | undefined {
  if (!suite) return `no ${kind} tests configured: nothing to run`;
  if (files.length === 0) return `no ${kind} tests in ${suite.folder}/ (no ${fileKind.describe} in it): nothing to run`;
  return undefined;
}

/** What unit-test and integration-test both take (cli/commands/shared-options.ts testRunOptions). */
export interface TestRunOptions {
  python: string;
  jobs: number;
  timeoutSeconds: number;
  reportPath: string;
  cacheDir: string;
  pip: PipOptions;
  /** Where each file's output block goes (stderr when stdout carries --json). */
  blocks?: NodeJS.WriteStream;
}

export interface TestOutcome {
  /** Repository-relative file (or a label such as `invoke events/ping.json`). */
  name: string;
  /** A test file, or an --invoke smoke test of integration-test. */
  kind: 'file' | 'invoke';
  status: CaseStatus;
  /** One line: `exit 1`, `timed out after 300 s`, ... */
  detail: string;
  durationMs: number;
  output: string;
  /** The test cases the framework reported itself (pytest). */
  frameworkCases?: JUnitCase[];
}

export interface SuiteRun {
  /** Report title, e.g. `unit-tests`. */
  suiteName: string;
  outcomes: TestOutcome[];
  passed: number;
  failed: number;
  skipped: number;
  durationMs: number;
  reportPath: string;
  exitCode: number;
  /** Set when the suite had nothing to run (its one line). */
  nothingToRun?: string;
}

export interface RunSuiteOptions {
  /** Report title, e.g. `unit-tests`. */
  suiteName: string;
  root: string;
  files: string[];
  /** How a file runs (the language's runner, its interpreter and environment). */
  launcher: TestLauncher;
  /** Arguments after the file (integration tests: the function ARN). */
  args: string[];
  /** Variables added to ours for every test process. */
  env: Record<string, string>;
  jobs: number;
  timeoutSeconds: number;
  reportPath: string;
  /** Outcomes that happened before the files ran (integration-test --invoke). */
  earlier?: TestOutcome[];
  step: string;
  /** Where each file's block is printed: stdout, or stderr when stdout carries --json. */
  blocks: NodeJS.WriteStream;
}

export interface Invocation {
  args: string[];
  /** The framework's own JUnit file for this test file (pytest, node --test). */
  junitFile?: string;
}

/** What a test process left: its exit, output, and the cases its framework reported. */
export type TestProcessResult = Pick<GroupRunResult, 'exitCode' | 'signal' | 'timedOut' | 'output'> & { frameworkCases?: JUnitCase[] };

/** One language's way of running a test file (languages/<id>/tests.ts). */
export interface TestLauncher {
  /** Shown in the progress line: `script`, `pytest`, `node --test`. */
  runner: string;
  /** The program every file runs with (python3, node, npm). */
  program: string;
  /** The whole environment of a test process, given the variables the suite adds. */
  environment(extra: Record<string, string>): NodeJS.ProcessEnv;
  invocation(file: string, extraArgs: string[], scratch: string, index: number): Invocation;
  /** What the result means; timeouts are judged before (the same for every language). */
  judge(result: TestProcessResult): { status: CaseStatus; detail: string };
  /** Checks before any file runs (the framework can be imported). */
  check?(env: NodeJS.ProcessEnv): Promise<void>;
}

/** The verdicts every language shares: a timeout, a signal, exit 0, another exit. */
export function judgeExit(result: TestProcessResult): { status: CaseStatus; detail: string } {
  if (result.exitCode === 0) return { status: 'passed', detail: 'exit 0' };
  if (result.exitCode === null) return { status: 'failed', detail: `killed by ${result.signal}` };
  return { status: 'failed', detail: `exit ${result.exitCode}` };
}

const LABEL: Record<CaseStatus, (text: string, stream: NodeJS.WriteStream) => string> = {
  passed: (t, stream) => style.green(t, stream),
  failed: (t, stream) => style.red(t, stream),
  skipped: (t, stream) => style.yellow(t, stream),
};

/** One file's block: a header line with the file, result and duration, then its output (coloured for `stream`). */
export function formatOutcome(outcome: TestOutcome, stream: NodeJS.WriteStream = process.stdout): string {
  const result = { passed: 'PASS', failed: 'FAIL', skipped: 'SKIP' }[outcome.status];
  const detail = outcome.status === 'passed' ? '' : `, ${outcome.detail}`;
  const header = `${LABEL[outcome.status](`==== ${result}`, stream)} ${outcome.name} (${formatDuration(outcome.durationMs)}${detail})`;
  const body = outcome.output.trimEnd();
  return `${header}\n${body ? `${body}\n` : ''}`;
}

/** Runs `files` with at most `jobs` at once and returns their outcomes in file order. */
export async function runSuite(options: RunSuiteOptions): Promise<SuiteRun> {
  const start = performance.now();
  const timestamp = new Date();
  const { launcher } = options;
  const env = launcher.environment(options.env);
  await launcher.check?.(env);

  const scratch = await mkdtemp(path.join(tmpdir(), 'lambda-cd-junit-'));
  const jobs = Math.max(1, Math.min(options.jobs, options.files.length));
  progress(options.step, `running ${count(options.files.length, 'test file')} (${launcher.runner}, ${jobs} at a time, timeout ${options.timeoutSeconds} s each)`);

  // Test processes lead their own process groups, so a Ctrl-C or a CodeBuild stop reaches them only through us.
  const onSignal = (signal: NodeJS.Signals) => {
    killRunningGroups('SIGKILL');
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    process.kill(process.pid, signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const outcomes: TestOutcome[] = new Array(options.files.length);
  const stream = options.blocks;
  let next = 0;
  const worker = async () => {
    while (next < options.files.length) {
      const index = next++;
      const file = options.files[index]!;
      const call = launcher.invocation(file, options.args, scratch, index);
      const result = await runInProcessGroup(launcher.program, call.args, { cwd: options.root, env, timeoutMs: options.timeoutSeconds * 1000 });
      const frameworkCases = call.junitFile ? await readFile(call.junitFile, 'utf8').then(readFrameworkCases, () => undefined) : undefined;
      const verdict = result.timedOut ? { status: 'failed' as const, detail: `timed out after ${options.timeoutSeconds} s (process tree stopped)` } : launcher.judge({ ...result, frameworkCases });
      const outcome: TestOutcome = { name: file, kind: 'file', ...verdict, durationMs: result.durationMs, output: result.output };
      if (frameworkCases) outcome.frameworkCases = frameworkCases;
      outcomes[index] = outcome;
      // One write per file: blocks of parallel files never interleave.
      stream.write(formatOutcome(outcome, stream));
    }
  };
  try {
    await Promise.all(Array.from({ length: jobs }, worker));
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await rm(scratch, { recursive: true, force: true });
  }

  const all = [...(options.earlier ?? []), ...outcomes];
  const cases = all.flatMap((outcome) => (coveredByFramework(outcome) ? outcome.frameworkCases! : [junitCase(outcome, options.suiteName)]));
  await writeJUnit(options.reportPath, [{ name: options.suiteName, timestamp, cases }]);
  // The summary counts what the report holds: files, or the tests a framework reported in them.
  const countOf = (status: CaseStatus) => cases.filter((c) => c.status === status).length;
  const failed = countOf('failed');
  return {
    suiteName: options.suiteName,
    outcomes: all,
    passed: countOf('passed'),
    failed,
    skipped: countOf('skipped'),
    durationMs: performance.now() - start,
    reportPath: options.reportPath,
    exitCode: failed > 0 || all.some((o) => o.status === 'failed') ? EXIT.failed : EXIT.ok,
  };
}

/**
 * A suite with no test files: nothing runs and that passes (the 2018 pipeline had no stage for
 * it, or ran an empty folder), with a JUnit report that says so, so a report group still gets
 * a file to read.
 */
export async function nothingToRun(suiteName: string, reportPath: string, reason: string, earlier: TestOutcome[] = []): Promise<SuiteRun> {
  await writeJUnit(reportPath, [{ name: suiteName, timestamp: new Date(), cases: earlier.map((outcome) => junitCase(outcome, suiteName)), note: reason }]);
  const failed = earlier.filter((outcome) => outcome.status === 'failed').length;
  return {
    suiteName,
    outcomes: earlier,
    passed: earlier.filter((outcome) => outcome.status === 'passed').length,
    failed,
    skipped: 0,
    durationMs: 0,
    reportPath,
    exitCode: failed > 0 ? EXIT.failed : EXIT.ok,
    nothingToRun: reason,
  };
}

/** A file whose framework reported its own cases needs no case of its own, unless it failed outside them. */
function coveredByFramework(outcome: TestOutcome): boolean {
  const cases = outcome.frameworkCases ?? [];
  if (cases.length === 0) return false;
  return outcome.status !== 'failed' || cases.some((c) => c.status === 'failed');
}

function junitCase(outcome: TestOutcome, suiteName: string): JUnitCase {
  return {
    name: outcome.name,
    classname: suiteName,
    durationMs: outcome.durationMs,
    status: outcome.status,
    message: outcome.status === 'passed' ? undefined : outcome.detail,
    output: outcome.output,
  };
}

/** The end of a run: the failed files, then `N passed, N failed` (`, N skipped` when any). */
export function formatSummary(suite: SuiteRun): string {
  const lines: string[] = [''];
  const failed = suite.outcomes.filter((o) => o.status === 'failed');
  if (failed.length > 0) {
    lines.push('Failed:');
    for (const outcome of failed) lines.push(`  ${outcome.name} (${outcome.detail})`);
  }
  if (suite.nothingToRun !== undefined && suite.outcomes.length === 0) {
    lines.push(`JUnit report: ${displayPath(suite.reportPath)}`, suite.nothingToRun);
    return `${lines.join('\n')}\n`;
  }
  lines.push(`Finished in ${formatDuration(suite.durationMs)}; JUnit report: ${displayPath(suite.reportPath)}`);
  lines.push(`${suite.passed} passed, ${suite.failed} failed${suite.skipped > 0 ? `, ${suite.skipped} skipped` : ''}`);
  if (suite.nothingToRun !== undefined) lines.push(suite.nothingToRun);
  return `${lines.join('\n')}\n`;
}

/** What `--json` prints: the run's result and every case, with the framework's own cases where there are. */
export function suiteJson(suite: SuiteRun, extra: Record<string, unknown> = {}): string {
  const result = suite.nothingToRun !== undefined && suite.outcomes.length === 0 ? 'nothing to run' : suite.exitCode === EXIT.ok ? 'passed' : 'failed';
  const summary = {
    suite: suite.suiteName,
    result,
    exitCode: suite.exitCode,
    ...(suite.nothingToRun !== undefined ? { message: suite.nothingToRun } : {}),
    passed: suite.passed,
    failed: suite.failed,
    skipped: suite.skipped,
    durationMs: Math.round(suite.durationMs),
    report: suite.reportPath,
    ...extra,
    cases: suite.outcomes.map((outcome) => ({
      kind: outcome.kind,
      ...(outcome.kind === 'file' ? { file: outcome.name } : { name: outcome.name }),
      status: outcome.status,
      detail: outcome.detail,
      durationMs: Math.round(outcome.durationMs),
      ...(outcome.frameworkCases
        ? { frameworkCases: outcome.frameworkCases.map((c) => ({ name: c.name, classname: c.classname, status: c.status, durationMs: Math.round(c.durationMs), ...(c.message ? { message: c.message } : {}) })) }
        : {}),
    })),
  };
  return `${JSON.stringify(summary, null, 2)}\n`;
}
