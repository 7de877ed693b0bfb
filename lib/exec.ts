/**
 * Process execution: every child process lambda-cd starts goes through here. Commands are
 * argument arrays, never shell strings.
 */
import { execFile } from 'node:child_process';
import type { execa as Execa } from 'execa';
import { EnvironmentError } from './errors.js';
import { excerpt } from './redact.js';

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
    const tail = excerpt(result.stderr, { maxLines: 3, fromEnd: true });
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

export interface GroupRunOptions {
  cwd?: string;
  /** The child's whole environment (not merged with ours). */
  env: Record<string, string | undefined>;
  timeoutMs?: number;
  /** After SIGTERM at the timeout, how long before SIGKILL. */
  killGraceMs?: number;
  /** Output beyond this many bytes is dropped from the front (the tail is what explains a failure). */
  maxOutputBytes?: number;
}

export interface GroupRunResult {
  /** null when a signal ended the process. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** stdout and stderr together, in the order they arrived. */
  output: string;
  timedOut: boolean;
  durationMs: number;
}

/** Process groups of the children runInProcessGroup has running, so a Ctrl-C can end them. */
const runningGroups = new Set<number>();

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone already
  }
}

/** Ends every running process group (the caller is exiting on a signal). */
export function killRunningGroups(signal: NodeJS.Signals = 'SIGTERM'): void {
  for (const pid of runningGroups) killGroup(pid, signal);
}

/**
 * Runs `file args` as the leader of its own process group and captures stdout and stderr as
 * one stream. At the timeout the whole group gets SIGTERM, then SIGKILL: a test that started
 * servers or sub-processes cannot outlive it. Whatever the child leaves running when it exits
 * is ended too. Only a missing executable throws (EnvironmentError, exit 3).
 */
export async function runInProcessGroup(file: string, args: string[], options: GroupRunOptions): Promise<GroupRunResult> {
  const { spawn } = await import('node:child_process');
  const maxBytes = options.maxOutputBytes ?? 4 * 1024 * 1024;
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let kept = 0;
    let dropped = 0;
    let timedOut = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const collect = (chunk: Buffer) => {
      chunks.push(chunk);
      kept += chunk.length;
      while (kept > maxBytes && chunks.length > 1) {
        const first = chunks.shift()!;
        kept -= first.length;
        dropped += first.length;
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);

    let killTimer: NodeJS.Timeout | undefined;
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => {
      timedOut = true;
      killGroup(child.pid!, 'SIGTERM');
      killTimer = setTimeout(() => killGroup(child.pid!, 'SIGKILL'), options.killGraceMs ?? 2000);
    }, options.timeoutMs);
    let closeTimer: NodeJS.Timeout | undefined;

    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(killTimer);
      clearTimeout(closeTimer);
      runningGroups.delete(child.pid!);
      const text = Buffer.concat(chunks).toString('utf8');
      resolve({
        exitCode: exit?.code ?? null,
        signal: exit?.signal ?? null,
        output: dropped > 0 ? `[... ${dropped} bytes of earlier output dropped ...]\n${text}` : text,
        timedOut,
        durationMs: performance.now() - start,
      });
    };
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (error.code === 'ENOENT') reject(new EnvironmentError(`${file}: command not found (is it installed and on PATH?)`));
      else reject(error);
    });
    if (child.pid !== undefined) runningGroups.add(child.pid);
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      // Leftovers of the group (a background server the test started) would hold the pipes open.
      killGroup(child.pid!, 'SIGKILL');
      // A grandchild that left the group could still hold them: don't wait for it forever.
      closeTimer = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish();
      }, 1000);
    });
    child.on('close', () => {
      if (exit) finish();
    });
  });
}
