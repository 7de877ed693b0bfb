/**
 * A stage's env.mjs / env.js / env.cjs (the Node.js form of the 2018 env.py): the module is loaded
 * in a child `node` with a timeout, its `getEnv(stage)` export (or default export's) is called and
 * awaited, and what it returned comes back as JSON through a report file (never through stdout,
 * which the user's code may print to; its console output goes to stderr).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, EnvironmentError } from '../../lib/errors.js';
import { run } from '../../lib/exec.js';
import { parseJsonKeepingNumbers } from '../../lib/json-numbers.js';
import { excerpt } from '../../lib/redact.js';
import { STAGE_SCRIPT_TIMEOUT_MS, type StageFile } from '../../lib/stage-files.js';
import { nodeProgram } from './tests.js';

const CALLER = String.raw`
import { writeFileSync, renameSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const [file, name, args, reportPath] = process.argv.slice(1);
console.log = console.info = console.error;
const report = (value) => { writeFileSync(reportPath + '.tmp', JSON.stringify(value)); renameSync(reportPath + '.tmp', reportPath); };
const lineOf = (error) => { const at = String(error?.stack ?? '').split(pathToFileURL(file).href + ':')[1]; return at ? Number.parseInt(at, 10) : null; };
report({ started: true });
let result;
try {
  const loaded = await import(pathToFileURL(file).href);
  const fn = typeof loaded[name] === 'function' ? loaded[name] : typeof loaded.default?.[name] === 'function' ? loaded.default[name] : undefined;
  if (!fn) { report({ error: 'no-function' }); process.exit(1); }
  result = await fn(...JSON.parse(args));
} catch (error) {
  const missing = /Cannot find (?:package|module) '([^']+)'/.exec(String(error?.message))?.[1];
  report(missing ? { error: 'missing-module', module: missing } : { error: 'exception', type: error?.name ?? typeof error, message: String(error?.message ?? error).slice(0, 300), line: lineOf(error) });
  process.exit(1);
}
if (result === undefined) { report({ error: 'undefined' }); process.exit(1); }
let text;
try { text = JSON.stringify(result); } catch (error) { report({ error: 'not-json', type: typeof result, message: String(error?.message).slice(0, 300) }); process.exit(1); }
report({ ok: text });
process.exit(0);
`;

interface Report {
  started?: boolean;
  ok?: string;
  error?: 'no-function' | 'missing-module' | 'exception' | 'not-json' | 'undefined';
  module?: string;
  type?: string;
  message?: string;
  line?: number | null;
}

/** Calls `functionName(...args)` of a stage's Node.js file and returns its (awaited) result. */
export async function callNodeStageFunction(stageFile: StageFile, functionName: string, args: unknown[], signature: string, options: { cwd: string; timeoutMs?: number }): Promise<unknown> {
  const timeoutMs = options.timeoutMs ?? STAGE_SCRIPT_TIMEOUT_MS;
  const work = await mkdtemp(path.join(tmpdir(), 'lambda-cd-stage-'));
  const reportFile = path.join(work, 'report.json');
  let result: Awaited<ReturnType<typeof run>>;
  let report: Report | undefined;
  try {
    result = await run(nodeProgram(), ['--input-type=module', '-e', CALLER, stageFile.file, functionName, JSON.stringify(args), reportFile], { cwd: options.cwd, timeoutMs });
    report = await readFile(reportFile, 'utf8').then((text) => JSON.parse(text) as Report, () => undefined);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  if (result.timedOut) throw new ConfigError(`${stageFile.shown}: ${functionName}() did not finish within ${timeoutMs / 1000} s; it must only build and return a value`);
  if (report === undefined) throw new EnvironmentError(`${stageFile.shown}: running it with node failed (exit ${result.exitCode})${result.stderr.trim() ? `: ${excerpt(result.stderr, { maxLines: 2, fromEnd: true })}` : ''}`);
  if (typeof report.ok === 'string') return parseJsonKeepingNumbers(report.ok);
  const at = report.line ? `${stageFile.shown}:${report.line}` : stageFile.shown;
  switch (report.error) {
    case 'no-function':
      throw new ConfigError(`${stageFile.shown}: expected an exported function ${signature}, found none`);
    case 'missing-module':
      throw new ConfigError(`${stageFile.shown}: imports ${excerpt(report.module ?? '')}, which is not installed; add it to the repository's package.json (and npm install), or remove the import`);
    case 'undefined':
      throw new ConfigError(`${stageFile.shown}: ${functionName}() returned undefined; expected it to return an object of variables (a missing return?), {} for none`);
    case 'not-json':
      throw new ConfigError(`${stageFile.shown}: ${functionName}() returned a value that is not plain data: ${excerpt(report.message ?? '')}`);
    case 'exception':
      throw new ConfigError(`${at}: ${functionName}() threw ${excerpt(report.type ?? 'an error')}: ${excerpt(report.message ?? '')}`);
    default:
      throw new ConfigError(`${stageFile.shown}: the process ended (exit ${result.exitCode}) before ${functionName}() returned a result; a stage file must return its value, not exit`);
  }
}
