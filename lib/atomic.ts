/**
 * Atomic file output: write beside the target, then rename, so a reader (or a failed
 * run) never sees a half-written zip or template; and sets of outputs that belong together
 * (the templates of all stages, a zip and its manifest) replaced as a whole or not at all.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { link, lstat, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
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
    await rm(temporary, { force: true }).catch(() => undefined);
    throw writingFailed(error, temporary) ? cannotWrite(target, error) : error;
  }
}

/**
 * Whether an error of `produce` is the file system refusing the temporary file: errors of open
 * name the path, errors of write (a full disk, a size limit) name none.
 */
function writingFailed(error: unknown, temporary: string): boolean {
  const { code, path: failedPath } = error as NodeJS.ErrnoException;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) && (failedPath === undefined || failedPath === temporary);
}

/** A file system refusal (read-only, no permission, a folder in the way) as one line naming the output. */
function cannotWrite(target: string, error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === undefined) return error;
  const reasons: Record<string, string> = {
    EACCES: 'permission denied', EPERM: 'permission denied', EROFS: 'read-only file system', EISDIR: 'a folder of that name is in the way',
    ENOTDIR: 'part of the path is a file, not a folder', EEXIST: 'part of the path is a file, not a folder', ENOSPC: 'no space left on the device',
    EDQUOT: 'disk quota exceeded', EFBIG: 'file too large for this file system or for the file size limit (ulimit -f)', ENAMETOOLONG: 'the file name is too long', EIO: 'an input/output error',
  };
  return new EnvironmentError(`${displayPath(target)}: cannot write the output here: ${reasons[code] ?? (error as Error).message}`);
}

export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  await withAtomicOutput(target, (temporary) => writeFile(temporary, data));
}

export interface SetOutput {
  target: string;
  /** Writes the output to `temporaryPath` (a file in the target's folder). */
  produce: (temporaryPath: string) => Promise<void>;
}

/**
 * Replaces a set of files as a whole or not at all. Every output is first produced beside its
 * target; only when all exist are they renamed into place, each old target kept under a hard
 * link until the whole set is in. A failure at any point (a full disk while writing, a folder
 * in the way of one rename) removes what this call wrote and puts back every old file, so a
 * reader finds the previous set or the new one, never a new stackGamma.json beside an old
 * stackPROD.json. (A kill -9 between the renames, a few microseconds, is the one gap left.)
 */
export async function replaceOutputSet(outputs: SetOutput[]): Promise<void> {
  for (const { target } of outputs) {
    await mkdir(path.dirname(target), { recursive: true }).catch((error: unknown) => Promise.reject(cannotWrite(target, error)));
  }
  const staged: { target: string; temporary: string; backup?: string; existed: boolean; placed: boolean; movedAside: boolean }[] = [];
  const undo = async () => {
    for (const entry of [...staged].reverse()) {
      if (entry.backup && (entry.placed || entry.movedAside)) await rename(entry.backup, entry.target).catch(() => undefined);
      else if (entry.placed && !entry.existed) await rm(entry.target, { force: true }).catch(() => undefined);
      await rm(entry.temporary, { force: true }).catch(() => undefined);
      if (entry.backup) await rm(entry.backup, { force: true }).catch(() => undefined);
    }
  };
  try {
    for (const { target, produce } of outputs) {
      const entry: (typeof staged)[number] = { target, temporary: temporaryPathFor(target), existed: false, placed: false, movedAside: false };
      staged.push(entry);
      await produce(entry.temporary).catch((error: unknown) => Promise.reject(writingFailed(error, entry.temporary) ? cannotWrite(target, error) : error));
    }
    for (const entry of staged) {
      const old = await lstat(entry.target).catch(() => undefined);
      entry.existed = old !== undefined;
      if (old?.isFile()) {
        // A second name for the old file: putting it back is a rename, which needs no space.
        const backup = `${entry.temporary}.old`;
        await link(entry.target, backup).catch(async () => {
          // No hard links here (some network and FAT file systems): move it aside instead.
          await rename(entry.target, backup).catch((error: unknown) => Promise.reject(cannotWrite(entry.target, error)));
          entry.movedAside = true;
        });
        entry.backup = backup;
      }
      await rename(entry.temporary, entry.target).catch((error: unknown) => Promise.reject(cannotWrite(entry.target, error)));
      entry.placed = true;
    }
  } catch (error) {
    await undo();
    throw error;
  }
  await Promise.all(staged.map((entry) => (entry.backup ? rm(entry.backup, { force: true }) : undefined)));
}

/** `replaceOutputSet` for contents held in memory: path -> text or bytes. */
export async function writeFileSetAtomic(files: Record<string, string | Uint8Array>): Promise<void> {
  await replaceOutputSet(Object.entries(files).map(([target, data]) => ({ target, produce: (temporary) => writeFile(temporary, data) })));
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

/** A cache folder that cannot be used (read-only, full, missing parent, a file in the way) as one line naming it, exit 3. */
export function cacheFailure(dir: string, error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === undefined) return error;
  const reasons: Record<string, string> = {
    EACCES: 'permission denied', EPERM: 'permission denied', EROFS: 'read-only file system', ENOSPC: 'no space left on the device', EDQUOT: 'disk quota exceeded',
    ENOTDIR: 'part of the path is a file, not a folder', EEXIST: 'part of the path is a file, not a folder', ENOENT: 'the folder disappeared while in use', EISDIR: 'a folder is in the way',
  };
  return new EnvironmentError(`${displayPath(dir)}: cannot use the cache folder: ${reasons[code] ?? code} (--cache-dir / LAMBDA_CD_CACHE_DIR choose another)`);
}

/** `.tmp-<host>-<pid>-<random>`, `.work-<host>-<pid>-<random>`: a temporary of a run, with its owner. */
export function temporaryName(kind: 'tmp' | 'work'): string {
  return `.${kind}-${hostname().replace(/[^A-Za-z0-9]/g, '') || 'host'}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** The pid that owns a temporary name (ours, or temporaryPathFor's), and its host when the name says. */
function temporaryOwner(name: string): { host?: string; pid: number } | undefined {
  const ours = /^\.(?:tmp|work)-(?:([A-Za-z0-9]+)-)?(\d+)-[0-9a-f]+$/.exec(name);
  if (ours) return { host: ours[1], pid: Number(ours[2]) };
  const output = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/.exec(name);
  return output ? { pid: Number(output[1]) } : undefined;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes what killed runs left in `dir` (kill -9, a stopped container): temporaries whose
 * process is gone on this host, and any older than an hour (another host's, or a reused pid).
 * A live run's temporaries are never touched.
 */
export async function removeDeadTemporaries(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const host = hostname().replace(/[^A-Za-z0-9]/g, '') || 'host';
  const now = Date.now();
  await Promise.all(
    names.map(async (name) => {
      const owner = temporaryOwner(name);
      const legacy = owner === undefined && name.startsWith('.') && /(^\.work-|^\.tmp-|\.tmp-)/.test(name);
      if (!owner && !legacy) return;
      const entry = path.join(dir, name);
      const dead = owner !== undefined && owner.pid !== process.pid && (owner.host === undefined || owner.host === host) && !processAlive(owner.pid);
      const info = dead ? undefined : await stat(entry).catch(() => undefined);
      if (dead || (info && now - info.mtimeMs > ABANDONED_AFTER_MS)) await rm(entry, { recursive: true, force: true }).catch(() => undefined);
    }),
  );
}

/** Paths removed if the process is interrupted (SIGINT, SIGTERM) before they are released. */
const removedOnInterrupt = new Set<string>();
let interruptHandlerInstalled = false;

function onInterrupt(signal: NodeJS.Signals): void {
  for (const file of removedOnInterrupt) {
    try {
      rmSync(file, { recursive: true, force: true });
    } catch {
      // best effort: the process is ending
    }
  }
  process.removeListener('SIGINT', onInterrupt);
  process.removeListener('SIGTERM', onInterrupt);
  interruptHandlerInstalled = false;
  process.kill(process.pid, signal); // end as the signal would have, exit status 128+n
}

/** Removes `paths` if the process is interrupted before the returned release function is called. */
export function removeOnInterrupt(...paths: string[]): () => void {
  for (const file of paths) removedOnInterrupt.add(file);
  if (!interruptHandlerInstalled) {
    process.on('SIGINT', onInterrupt);
    process.on('SIGTERM', onInterrupt);
    interruptHandlerInstalled = true;
  }
  return () => {
    for (const file of paths) removedOnInterrupt.delete(file);
  };
}

/**
 * Replaces `targets` as one set (a zip and its manifest): the previous ones are removed first,
 * so an interrupted or failed run leaves none behind that no longer describes the sources;
 * `produce` writes each into its temporary path; only when all are written are they renamed
 * into place, in order: the last (the manifest) appears only when the others are complete.
 * On a failure or an interruption the temporaries and any target already renamed are removed.
 * (package's pair: unlike replaceOutputSet it does not keep the previous outputs, which no longer
 * describe the sources once a run starts; the two can be unified.)
 */
export async function replaceOutputPair<T>(targets: string[], produce: (temporaries: string[]) => Promise<T>): Promise<T> {
  await discardOutputs(targets);
  for (const target of targets) await mkdir(path.dirname(target), { recursive: true }).catch((error: unknown) => Promise.reject(cannotWrite(target, error)));
  const temporaries = targets.map(temporaryPathFor);
  const release = removeOnInterrupt(...temporaries, ...targets);
  try {
    const result = await produce(temporaries);
    for (const [index, target] of targets.entries()) await rename(temporaries[index]!, target).catch((error: unknown) => Promise.reject(cannotWrite(target, error)));
    return result;
  } catch (error) {
    await Promise.all([...temporaries, ...targets].map((file) => rm(file, { force: true }).catch(() => undefined)));
    const failedPath = (error as NodeJS.ErrnoException).path;
    const index = failedPath === undefined ? -1 : temporaries.indexOf(failedPath);
    if (index >= 0) throw cannotWrite(targets[index]!, error);
    // A write through a descriptor (the zip writer) names no path: the first output it was.
    throw writingFailed(error, temporaries[0]!) ? cannotWrite(targets[0]!, error) : error;
  } finally {
    release();
  }
}

/** Removes earlier outputs that a new run is about to replace (a folder in the way is left for the write to report). */
export async function discardOutputs(targets: string[]): Promise<void> {
  await Promise.all(targets.map(async (target) => {
    const info = await lstat(target).catch(() => undefined);
    if (info && !info.isDirectory()) await rm(target, { force: true }).catch((error: unknown) => Promise.reject(cannotWrite(target, error)));
  }));
}
