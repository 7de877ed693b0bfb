/**
 * Atomic file output: write beside the target, then rename, so a reader (or a failed
 * run) never sees a half-written zip or template.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
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
  await mkdir(path.dirname(target), { recursive: true }).catch((error: unknown) => cannotWrite(target, error));
  const temporary = temporaryPathFor(target);
  try {
    const result = await produce(temporary);
    await rename(temporary, target).catch((error: unknown) => cannotWrite(target, error));
    return result;
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  await withAtomicOutput(target, (temporary) => writeFile(temporary, data).catch((error: unknown) => cannotWrite(target, error)));
}

/**
 * An output folder that is read-only, full or a file is the environment's fault (exit 3), said in
 * one line naming the output, not the temporary file. Other errors pass through unchanged.
 */
function cannotWrite(target: string, error: unknown): never {
  const { code, message } = error as NodeJS.ErrnoException;
  if (!code || typeof message !== 'string') throw error;
  throw new EnvironmentError(`cannot write ${displayPath(target)}: ${message.split(',')[0]}`);
}
