/**
 * Process execution: every child process lambda-cd starts goes through here. Commands are
 * argument arrays, never shell strings.
 *
 * Children end with their parent. A process group is not enough for that: a test can start a
 * daemon with `setsid`, an env.py can fork a grandchild that leaves the group, and either would
 * outlive the run (and hold its output pipes open, so the run never finished). So every child's
 * environment carries a mark unique to that child (LAMBDA_CD_CHILD, a list when runs nest), which
 * its descendants inherit whatever group or session they move to; when the child exits or times
 * out, every process whose /proc/<pid>/environ carries the mark is ended. Where there is no /proc
 * (macOS), the process group and the pipe deadline below still bound the wait.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { EnvironmentError } from './errors.js';
import { excerpt } from './redact.js';

/** The variable that marks a child and all its descendants. */
export const CHILD_MARK = 'LAMBDA_CD_CHILD';
/** After the child exits, how long its pipes may stay open (held by something unmarked) before we stop reading. */
const PIPE_DEADLINE_MS = 1000;

export interface RunOptions {
  cwd?: string;
  /** Added to (not replacing) the current environment. */
  env?: Record<string, string | undefined>;
  /** Written to the child's stdin; without it, stdin is /dev/null (a script that reads it gets end-of-file, not a hang). */
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

let childCount = 0;

/** A mark no other child of any run carries. */
function newMark(): string {
  return `${process.pid}.${++childCount}.${randomBytes(4).toString('hex')}`;
}

/** `env` with `mark` appended to CHILD_MARK (a lambda-cd started by a child keeps its parent's marks). */
function markedEnvironment(env: Record<string, string | undefined>, mark: string): Record<string, string | undefined> {
  const earlier = env[CHILD_MARK];
  return { ...env, [CHILD_MARK]: earlier ? `${earlier}:${mark}` : mark };
}

/** Live processes whose environment carries `mark` (Linux; none where /proc is missing or unreadable). */
function markedProcesses(mark: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const prefix = `${CHILD_MARK}=`;
  const pids: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    let environ: string;
    try {
      environ = readFileSync(`/proc/${entry}/environ`, 'latin1');
    } catch {
      continue; // gone already, or another user's
    }
    const start = environ.indexOf(prefix);
    if (start === -1) continue;
    const end = environ.indexOf('\0', start);
    const value = environ.slice(start + prefix.length, end === -1 ? undefined : end);
    if (value.split(':').includes(mark)) pids.push(pid);
  }
  return pids;
}

/**
 * Signals every process carrying `mark`. With SIGKILL it repeats until none is left (one may
 * fork while the others are killed), a bounded number of times.
 */
function endMarked(mark: string, signal: NodeJS.Signals = 'SIGKILL'): void {
  for (let round = 0; round < (signal === 'SIGKILL' ? 10 : 1); round++) {
    const pids = markedProcesses(mark);
    if (pids.length === 0) return;
    for (const pid of pids) signalProcess(pid, signal);
  }
}

function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // gone already
  }
}

/** Marks and process groups of the children running now, so a Ctrl-C or a stopped build can end them. */
const running = new Map<string, { pid?: number; group: boolean }>();

/** Ends every running child with everything it started (the caller is exiting on a signal). */
export function killRunningGroups(signal: NodeJS.Signals = 'SIGTERM'): void {
  for (const [mark, child] of running) {
    if (child.pid !== undefined) signalProcess(child.group ? -child.pid : child.pid, signal);
    endMarked(mark, signal);
  }
}

interface SpawnSpec {
  cwd?: string;
  /** The child's whole environment. */
  env: Record<string, string | undefined>;
  input?: string;
  timeoutMs?: number;
  killGraceMs?: number;
  /** Lead a process group of its own (tests: a Ctrl-C reaches them only through us). */
  group: boolean;
  inheritStderr?: boolean;
  /** Collect stdout and stderr as one stream (`output`) instead of each on its own. */
  combine: boolean;
  maxOutputBytes?: number;
}

interface SpawnOutcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr in the order they arrived, the front dropped beyond maxOutputBytes. */
  output: string;
  timedOut: boolean;
  durationMs: number;
}

/** A buffer that keeps the last `maxBytes` of what it is given. */
function tailBuffer(maxBytes: number) {
  const chunks: Buffer[] = [];
  let kept = 0;
  let dropped = 0;
  return {
    add(chunk: Buffer) {
      chunks.push(chunk);
      kept += chunk.length;
      while (kept > maxBytes && chunks.length > 1) {
        const first = chunks.shift()!;
        kept -= first.length;
        dropped += first.length;
      }
    },
    text(): string {
      const text = Buffer.concat(chunks).toString('utf8');
      return dropped > 0 ? `[... ${dropped} bytes of earlier output dropped ...]\n${text}` : text;
    },
  };
}

/** The one place a child process is started: marked, stdin closed, ended with everything it started. */
function spawnChild(file: string, args: string[], spec: SpawnSpec): Promise<SpawnOutcome> {
  const start = performance.now();
  const mark = newMark();
  const maxBytes = spec.maxOutputBytes ?? 64 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: spec.cwd,
      env: markedEnvironment(spec.env, mark),
      detached: spec.group,
      stdio: [spec.input === undefined ? 'ignore' : 'pipe', 'pipe', spec.inheritStderr ? 'inherit' : 'pipe'],
    });
    running.set(mark, { pid: child.pid, group: spec.group });
    const stdout = tailBuffer(maxBytes);
    const stderr = spec.combine ? stdout : tailBuffer(maxBytes);
    child.stdout!.on('data', (chunk: Buffer) => stdout.add(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.add(chunk));
    if (spec.input !== undefined) {
      child.stdin!.on('error', () => undefined); // a child that exits without reading its input
      child.stdin!.end(spec.input);
    }

    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const signalAll = (signal: NodeJS.Signals) => {
      // The child's own pid only while it runs (once reaped, the number may belong to another process).
      if (child.pid !== undefined && (spec.group || exit === undefined)) signalProcess(spec.group ? -child.pid : child.pid, signal);
      endMarked(mark, signal);
    };
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const timer = spec.timeoutMs === undefined ? undefined : setTimeout(() => {
      timedOut = true;
      signalAll('SIGTERM');
      killTimer = setTimeout(() => signalAll('SIGKILL'), spec.killGraceMs ?? 2000);
    }, spec.timeoutMs);

    let pipeTimer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(killTimer);
      clearTimeout(pipeTimer);
      running.delete(mark);
      resolve({
        exitCode: exit?.code ?? null,
        signal: exit?.signal ?? null,
        stdout: spec.combine ? '' : stdout.text(),
        stderr: spec.combine ? '' : stderr.text(),
        output: spec.combine ? stdout.text() : '',
        timedOut,
        durationMs: performance.now() - start,
      });
    };
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      running.delete(mark);
      if (error.code === 'ENOENT') reject(new EnvironmentError(`${file}: command not found (is it installed and on PATH?)`));
      else if (error.code === 'EACCES') reject(new EnvironmentError(`${file}: cannot run it: permission denied (not executable?)`));
      else reject(new EnvironmentError(`${file}: cannot run it: ${error.message}`));
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      // Whatever it left running (a server a test started, a forked grandchild) ends now.
      signalAll('SIGKILL');
      // Something that escaped the mark (it cleared its environment) may still hold the pipes.
      pipeTimer = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish();
      }, PIPE_DEADLINE_MS);
    });
    child.on('close', () => {
      if (exit) finish();
    });
  });
}

/** Runs `file args` and returns its outcome; only a command that cannot start throws (EnvironmentError, exit 3). */
export async function run(file: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const outcome = await spawnChild(file, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    input: options.input,
    timeoutMs: options.timeoutMs,
    group: false,
    combine: false,
    inheritStderr: options.inheritStderr,
  });
  return {
    exitCode: outcome.exitCode ?? (outcome.timedOut ? 124 : 1),
    stdout: outcome.stdout,
    stderr: outcome.stderr,
    timedOut: outcome.timedOut,
    durationMs: outcome.durationMs,
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

/** `run` for a short command whose output is all that matters (pip's version on a cached rebuild). */
export function runQuick(file: string, args: string[], options: { timeoutMs?: number } = {}): Promise<RunResult> {
  return run(file, args, options);
}

/**
 * Runs `file args` as the leader of its own process group and captures stdout and stderr as
 * one stream. At the timeout the child and everything it started get SIGTERM, then SIGKILL: a
 * test that started servers or sub-processes cannot outlive it. Whatever the child leaves
 * running when it exits is ended too. Only a command that cannot start throws (exit 3).
 */
export async function runInProcessGroup(file: string, args: string[], options: GroupRunOptions): Promise<GroupRunResult> {
  const outcome = await spawnChild(file, args, {
    cwd: options.cwd,
    env: options.env,
    timeoutMs: options.timeoutMs,
    killGraceMs: options.killGraceMs,
    group: true,
    combine: true,
    maxOutputBytes: options.maxOutputBytes ?? 4 * 1024 * 1024,
  });
  return { exitCode: outcome.exitCode, signal: outcome.signal, output: outcome.output, timedOut: outcome.timedOut, durationMs: outcome.durationMs };
}

export interface StreamedRunResult {
  exitCode: number;
  stdout: string;
}

/**
 * Runs `file args` with stdout captured and stderr handed over line by line as it arrives (a
 * multi-function run shows each function's progress, prefixed with its name, while it runs).
 * A signal that ends the child counts as exit 3 (environment), as lambda-cd's own would.
 */
export function runStreamingStderr(file: string, args: string[], options: { cwd?: string; env: Record<string, string | undefined>; onStderrLine: (line: string) => void }): Promise<StreamedRunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    let pending = '';
    child.stdout!.on('data', (data: Buffer) => stdout.push(data));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (data: string) => {
      const lines = (pending + data).split('\n');
      pending = lines.pop()!;
      for (const line of lines) options.onStderrLine(line);
    });
    child.on('error', (error) => reject(new EnvironmentError(`cannot start ${file}: ${(error as NodeJS.ErrnoException).code ?? error.message}`)));
    child.on('close', (code) => {
      if (pending) options.onStderrLine(pending);
      resolve({ exitCode: code ?? 3, stdout: Buffer.concat(stdout).toString('utf8') });
    });
  });
}
