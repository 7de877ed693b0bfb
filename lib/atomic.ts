/**
 * Atomic file output: write beside the target, then rename, so a reader (or a failed
 * run) never sees a half-written zip or template; and sets of outputs that belong together
 * (the templates of all stages, a zip and its manifest) replaced as a whole or not at all.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmdirSync, rmSync } from 'node:fs';
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
 * Runs `produce` against a temporary path and renames the result onto `target` (a set of one,
 * see replaceOutputSet). When `produce` throws, or the process is interrupted, the temporary file
 * is removed and the target is left untouched.
 */
export async function withAtomicOutput<T>(target: string, produce: (temporaryPath: string) => Promise<T>): Promise<T> {
  let result: T;
  await replaceOutputSet([{ target, produce: async (temporary) => { result = await produce(temporary); } }]);
  return result!;
}

/**
 * Whether an error of `produce` is the file system refusing the temporary file: errors of open
 * name the path, errors of write (a full disk, a size limit) name none.
 */
function writingFailed(error: unknown, temporary: string): boolean {
  const { code, path: failedPath } = error as NodeJS.ErrnoException;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) && (failedPath === undefined || failedPath === temporary);
}

/** Why the file system refused, in words, by error code: for outputs and cache folders alike. */
const REFUSALS: Record<string, string> = {
  EACCES: 'permission denied', EPERM: 'permission denied', EROFS: 'read-only file system', EISDIR: 'a folder is in the way',
  ENOTDIR: 'part of the path is a file, not a folder', EEXIST: 'part of the path is a file, not a folder', ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded', EFBIG: 'file too large for this file system or for the file size limit (ulimit -f)', ENAMETOOLONG: 'the file name is too long', EIO: 'an input/output error',
};

/**
 * The error's code, or for a recursive mkdir's ENOENT the real one: Node reports ENOENT where the
 * file system refused to create a missing folder (EROFS, EACCES), so the first missing folder is
 * asked directly (and removed again if that now works: it was a race, ENOENT stands).
 */
function refusalCode(error: unknown): string | undefined {
  const { code, syscall, path: failed } = error as NodeJS.ErrnoException;
  if (code !== 'ENOENT' || syscall !== 'mkdir' || !failed) return code;
  let missing = failed;
  while (path.dirname(missing) !== missing && !existsSync(path.dirname(missing))) missing = path.dirname(missing);
  try {
    mkdirSync(missing);
    rmdirSync(missing);
    return code;
  } catch (again) {
    return (again as NodeJS.ErrnoException).code ?? code;
  }
}

/** A file system refusal (read-only, no permission, a folder in the way) as one line naming the output. */
function cannotWrite(target: string, error: unknown): unknown {
  const code = refusalCode(error);
  if (code === undefined) return error;
  const reason = code === 'EISDIR' ? 'a folder of that name is in the way' : REFUSALS[code] ?? (error as Error).message;
  return new EnvironmentError(`${displayPath(target)}: cannot write the output here: ${reason}`);
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
 * Replaces a set of files as a whole or not at all: the templates of all stages, package's zip
 * and its manifest, any single output. Every output is first produced beside its target, in order
 * (a later one may use what an earlier one found); only when all exist are they renamed into place,
 * in order (so the last, a manifest, appears only once the others are in), each old target kept
 * under a hard link until the whole set is in. A failure at any point (a full disk while writing,
 * a folder in the way of one rename) or an interruption (SIGINT, SIGTERM) removes what this call
 * wrote and puts back every old file, so a reader finds the previous set or the new one, never a
 * new stackGamma.json beside an old stackPROD.json. (A kill -9 between the renames, a few
 * microseconds, is the one gap left; the next run's removeDeadTemporaries clears its temporaries.)
 */
export async function replaceOutputSet(outputs: SetOutput[]): Promise<void> {
  for (const { target } of outputs) {
    await mkdir(path.dirname(target), { recursive: true }).catch((error: unknown) => Promise.reject(cannotWrite(target, error)));
  }
  const staged: { target: string; temporary: string; backup?: string; existed: boolean; placed: boolean; movedAside: boolean }[] = [];
  // Synchronous, so that a signal handler can run it as the process ends.
  const undo = () => {
    for (const entry of [...staged].reverse()) {
      const attempt = (step: () => void) => { try { step(); } catch { /* best effort: put back what can be */ } };
      if (entry.backup && (entry.placed || entry.movedAside)) attempt(() => renameSync(entry.backup!, entry.target));
      else if (entry.placed && !entry.existed) attempt(() => rmSync(entry.target, { force: true }));
      attempt(() => rmSync(entry.temporary, { force: true }));
      if (entry.backup) attempt(() => rmSync(entry.backup!, { force: true }));
    }
    staged.length = 0;
  };
  const release = cleanUpOnInterrupt(undo);
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
    undo();
    throw error;
  } finally {
    release();
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

/**
 * A cache folder that cannot be used (read-only, full, missing parent, a file in the way) as one
 * line naming it, exit 3: the one wording of every cache (package's requirements and wheels, the
 * test requirements, the stage files' Python tools). Errors that are not the file system's pass.
 */
export function cacheFailure(dir: string, error: unknown): unknown {
  const code = refusalCode(error);
  if (code === undefined) return error;
  const reason = code === 'ENOENT' ? 'the folder disappeared while in use' : REFUSALS[code] ?? code;
  return new EnvironmentError(`${displayPath(dir)}: cannot use the cache folder: ${reason} (--cache-dir / LAMBDA_CD_CACHE_DIR choose another)`);
}

/** `.tmp-<host>-<pid>-<random>`, `.work-<host>-<pid>-<random>`: a temporary of a run, with its owner. */
export function temporaryName(kind: 'tmp' | 'work'): string {
  return `.${kind}-${hostname().replace(/[^A-Za-z0-9]/g, '') || 'host'}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** The pid that owns a temporary name (ours, or temporaryPathFor's), and its host when the name says. */
function temporaryOwner(name: string): { host?: string; pid: number } | undefined {
  const ours = /^\.(?:tmp|work)-(?:([A-Za-z0-9]+)-)?(\d+)-[0-9a-f]+$/.exec(name);
  if (ours) return { host: ours[1], pid: Number(ours[2]) };
  const output = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp(\.old)?$/.exec(name); // .old: replaceOutputSet's backup
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

/** What to undo if the process is interrupted (SIGINT, SIGTERM) before it is released: synchronous steps. */
const interruptCleanups = new Set<() => void>();
let interruptHandlerInstalled = false;

function onInterrupt(signal: NodeJS.Signals): void {
  for (const cleanup of [...interruptCleanups].reverse()) {
    try {
      cleanup();
    } catch {
      // best effort: the process is ending
    }
  }
  process.removeListener('SIGINT', onInterrupt);
  process.removeListener('SIGTERM', onInterrupt);
  interruptHandlerInstalled = false;
  process.kill(process.pid, signal); // end as the signal would have, exit status 128+n
}

/** Runs `cleanup` (synchronous) if the process is interrupted before the returned release function is called. */
export function cleanUpOnInterrupt(cleanup: () => void): () => void {
  interruptCleanups.add(cleanup);
  if (!interruptHandlerInstalled) {
    process.on('SIGINT', onInterrupt);
    process.on('SIGTERM', onInterrupt);
    interruptHandlerInstalled = true;
  }
  return () => {
    interruptCleanups.delete(cleanup);
  };
}

/** Removes `paths` if the process is interrupted before the returned release function is called. */
export function removeOnInterrupt(...paths: string[]): () => void {
  return cleanUpOnInterrupt(() => {
    for (const file of paths) rmSync(file, { recursive: true, force: true });
  });
}

/**
 * Removes earlier outputs that a new run is about to replace (a folder in the way is left for the
 * write to report). Each is renamed aside (gone under its name at once) and deleted meanwhile:
 * freeing a 50 MB zip takes some 30 ms the build need not wait for. A run killed before that ends
 * leaves a temporary, which the next run's removeDeadTemporaries removes.
 */
export async function discardOutputs(targets: string[]): Promise<void> {
  await Promise.all(targets.map(async (target) => {
    const info = await lstat(target).catch(() => undefined);
    if (!info || info.isDirectory()) return;
    const aside = path.join(path.dirname(target), temporaryName('tmp'));
    if (await rename(target, aside).then(() => true, () => false)) {
      void rm(aside, { force: true }).catch(() => undefined);
      return;
    }
    await rm(target, { force: true }).catch((error: unknown) => Promise.reject(cannotWrite(target, error)));
  }));
}
