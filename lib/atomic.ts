/**
 * Atomic file output: write beside the target, then rename, so a reader (or a failed
 * run) never sees a half-written zip or template.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** A temporary path in the target's own folder (rename is atomic only within a file system). */
export function temporaryPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Runs `produce` against a temporary path and renames the result onto `target`.
 * When `produce` throws, the temporary file is removed and the target is left untouched.
 */
export async function withAtomicOutput<T>(target: string, produce: (temporaryPath: string) => Promise<T>): Promise<T> {
  await mkdir(path.dirname(target), { recursive: true });
  const temporary = temporaryPathFor(target);
  try {
    const result = await produce(temporary);
    await rename(temporary, target);
    return result;
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  await withAtomicOutput(target, (temporary) => writeFile(temporary, data));
}
