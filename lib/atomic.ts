/**
 * Atomic file output: write beside the target, then rename, so a reader (or a failed
 * run) never sees a half-written zip or template.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { EnvironmentError } from './errors.js';
import { displayPath } from './output.js';

/** A temporary path in the target's own folder (rename is atomic only within a file system). */
export function temporaryPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Runs `produce` against a temporary path and renames the result onto `target`.
 * When `produce` throws, the temporary file is removed and the target is left untouched.
 */
export async function withAtomicOutput<T>(target: string, produce: (temporaryPath: string) => Promise<T>): Promise<T> {
  await mkdir(path.dirname(target), { recursive: true }).catch((error: unknown) => Promise.reject(cannotWrite(target, error)));
  const temporary = temporaryPathFor(target);
  try {
    const result = await produce(temporary);
    await rename(temporary, target).catch((error: unknown) => Promise.reject(cannotWrite(target, error)));
    return result;
  } catch (error) {
    await rm(temporary, { force: true });
    throw (error as NodeJS.ErrnoException).path === temporary ? cannotWrite(target, error) : error;
  }
}

/** A file system refusal (read-only, no permission, a folder in the way) as one line naming the output. */
function cannotWrite(target: string, error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === undefined) return error;
  const reasons: Record<string, string> = { EACCES: 'permission denied', EPERM: 'permission denied', EROFS: 'read-only file system', EISDIR: 'a folder of that name is in the way', ENOTDIR: 'part of the path is a file, not a folder', EEXIST: 'part of the path is a file, not a folder', ENOSPC: 'no space left on the device' };
  return new EnvironmentError(`${displayPath(target)}: cannot write the output here: ${reasons[code] ?? (error as Error).message}`);
}

export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  await withAtomicOutput(target, (temporary) => writeFile(temporary, data));
}

/** A run that was killed (Ctrl-C, a stopped build) leaves its temporary folders behind. */
const ABANDONED_AFTER_MS = 60 * 60 * 1000;

/**
 * Removes hidden temporary entries (`.something.tmp-*`, `.work-*`, `.tmp-*`) in `dir` that are
 * older than an hour: no live run keeps one that long, and a cache CodeBuild saves should not
 * carry them. Missing folders and races with other runs are fine.
 */
export async function removeAbandonedTemporaries(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const now = Date.now();
  await Promise.all(
    names
      .filter((name) => name.startsWith('.') && /(^\.work-|^\.tmp-|\.tmp-)/.test(name))
      .map(async (name) => {
        const entry = path.join(dir, name);
        const info = await stat(entry).catch(() => undefined);
        if (info && now - info.mtimeMs > ABANDONED_AFTER_MS) await rm(entry, { recursive: true, force: true });
      }),
  );
}
