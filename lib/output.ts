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
