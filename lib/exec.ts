/**
 * Process execution: every child process lambda-cd starts goes through here. Commands are
 * argument arrays, never shell strings.
 */
import { execFile } from 'node:child_process';
import type { execa as Execa } from 'execa';
import { EnvironmentError } from './errors.js';

export interface RunOptions {
  cwd?: string;
  /** Added to (not replacing) the current environment. */
  env?: Record<string, string | undefined>;
  input?: string;
  timeoutMs?: number;
  /** Pass the child's stderr through to ours (long pip runs show their own progress). */
  inheritStderr?: boolean;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

let execaModule: Promise<typeof Execa> | undefined;
/** execa costs ~90 ms to load: only commands that start a process pay for it, once. */
function loadExeca(): Promise<typeof Execa> {
  execaModule ??= import('execa').then((module) => module.execa);
  return execaModule;
}

/** Runs `file args` and returns its outcome; only a missing executable throws (EnvironmentError, exit 3). */
export async function run(file: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const start = performance.now();
  const execa = await loadExeca();
  const result = await execa(file, args, {
    cwd: options.cwd,
    env: options.env,
    input: options.input,
    timeout: options.timeoutMs,
    reject: false,
    stripFinalNewline: false,
    stderr: options.inheritStderr ? 'inherit' : 'pipe',
  });
  if ((result as { code?: string }).code === 'ENOENT' || (result.failed && result.exitCode === undefined && /ENOENT/.test(String(result.message)))) {
    throw new EnvironmentError(`${file}: command not found (is it installed and on PATH?)`);
  }
  return {
    exitCode: result.exitCode ?? (result.timedOut ? 124 : 1),
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
    timedOut: Boolean(result.timedOut),
    durationMs: performance.now() - start,
  };
}

/** Like `run`, but a non-zero exit is an EnvironmentError naming what failed and the end of its stderr. */
export async function runChecked(file: string, args: string[], what: string, options: RunOptions = {}): Promise<RunResult> {
  const result = await run(file, args, options);
  if (result.exitCode !== 0) {
    const tail = result.stderr.trim().split('\n').slice(-3).join(' | ');
    throw new EnvironmentError(`${what} failed (exit ${result.exitCode}${result.timedOut ? ', timed out' : ''})${tail ? `: ${tail}` : ''}`);
  }
  return result;
}

/**
 * Like `run`, for a short command whose output is all that matters, without loading execa
 * (~90 ms of start-up on the main thread): for checks on a fast path, such as pip's version
 * on a cached rebuild.
 */
export function runQuick(file: string, args: string[], options: { timeoutMs?: number } = {}): Promise<RunResult> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    execFile(file, args, { encoding: 'utf8', timeout: options.timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const failure = error as (NodeJS.ErrnoException & { code?: string | number; killed?: boolean }) | null;
      if (failure?.code === 'ENOENT') return reject(new EnvironmentError(`${file}: command not found (is it installed and on PATH?)`));
      const exitCode = failure === null ? 0 : typeof failure.code === 'number' ? failure.code : 1;
      resolve({ exitCode, stdout, stderr, timedOut: Boolean(failure?.killed), durationMs: performance.now() - start });
    });
  });
}
