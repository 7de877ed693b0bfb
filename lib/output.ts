/**
 * Terminal output. Progress and warnings go to stderr; results a machine reads go to
 * stdout. Colour only on a TTY and never when NO_COLOR is set (https://no-color.org).
 */
import path from 'node:path';

type Stream = NodeJS.WriteStream;

export function colorEnabled(stream: Stream = process.stderr): boolean {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  if (process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== '0') return true;
  return Boolean(stream.isTTY) && process.env.TERM !== 'dumb';
}

function paint(code: string, reset: string) {
  return (text: string, stream: Stream = process.stderr) =>
    colorEnabled(stream) ? `\u001b[${code}m${text}\u001b[${reset}m` : text;
}

export const style = {
  bold: paint('1', '22'),
  dim: paint('2', '22'),
  red: paint('31', '39'),
  green: paint('32', '39'),
  yellow: paint('33', '39'),
  cyan: paint('36', '39'),
};

/** A progress line on stderr: `[package] zipping 1,234 files`. */
export function progress(step: string, message: string): void {
  process.stderr.write(`${style.dim(`[${step}]`)} ${message}\n`);
}

/** Something lambda-cd decided or changed that the user should know once, but need not act on. */
export function note(message: string): void {
  process.stderr.write(`${style.cyan('lambda-cd: note:')} ${message}\n`);
}

export function warn(message: string): void {
  process.stderr.write(`${style.yellow('lambda-cd: warning:')} ${message}\n`);
}

/** A path as the user should read it: relative to the working directory when inside it. */
export function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`;
}

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** `1,234`: thousands separated, without Intl (whose first use costs tens of ms at start-up). */
export function thousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** `1 file`, `1,234 files`: a count with its noun, for progress lines. */
export function count(n: number, noun: string): string {
  return `${thousands(n)} ${noun}${n === 1 ? '' : 's'}`;
}

/** How often long work reports that it is still going (LAMBDA_CD_HEARTBEAT_SECONDS lowers it, e.g. in tests). */
export function heartbeatIntervalMs(): number {
  const seconds = Number(process.env.LAMBDA_CD_HEARTBEAT_SECONDS);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 10_000;
}

export interface Heartbeat {
  stop(): void;
}

/**
 * While long work runs (a pip install, a wait), one progress line every interval: what is
 * going on, with the elapsed time, e.g. `[unit-test] still installing requirements.txt (20 s):
 * Collecting moto`. `detail` is asked each time (the last line of a tool's log, a count).
 * Nothing is printed for work that ends within the first interval.
 */
export function startHeartbeat(step: string, what: string, detail?: () => string | undefined | Promise<string | undefined>, intervalMs = heartbeatIntervalMs()): Heartbeat {
  const started = performance.now();
  let stopped = false;
  const beat = (now: string | undefined, elapsed: number) => {
    if (!stopped) progress(step, `still ${what} (${elapsed} s)${now ? `: ${now}` : ''}`);
  };
  const timer = setInterval(() => {
    const elapsed = Math.round((performance.now() - started) / 1000);
    const now = detail?.();
    if (now instanceof Promise) now.then((text) => beat(text, elapsed), () => beat(undefined, elapsed));
    else beat(now, elapsed);
  }, intervalMs);
  timer.unref();
  return {
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}

/** Runs `work` with a heartbeat that stops when it settles. */
export async function withHeartbeat<T>(step: string, what: string, work: () => Promise<T>, detail?: () => string | undefined | Promise<string | undefined>): Promise<T> {
  const heartbeat = startHeartbeat(step, what, detail);
  try {
    return await work();
  } finally {
    heartbeat.stop();
  }
}
