/** Keeping paths named by a user's configuration inside the user's repository. */
import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';

/** True when `candidate` is `root` or lies below it (both absolute). */
export function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

export type Containment = { ok: true; absolute: string } | { ok: false; reason: string };

/**
 * Resolves a repository-relative path and says why it is not acceptable when it leaves
 * the repository: written as absolute, climbing out with `..`, or through a symlink.
 * A path that does not exist yet is judged by its text alone.
 */
export function resolveInside(root: string, relative: string): Containment {
  if (path.isAbsolute(relative)) return { ok: false, reason: 'an absolute path' };
  const absolute = path.resolve(root, relative);
  if (!isInside(root, absolute)) return { ok: false, reason: 'a path that leaves the repository' };
  let real: string;
  try {
    real = realpathSync(absolute);
  } catch {
    return { ok: true, absolute };
  }
  if (!isInside(realpathSync(root), real)) return { ok: false, reason: `a symlink that leads outside the repository (to ${real})` };
  return { ok: true, absolute };
}

/** POSIX-style relative path, for messages and configuration that must not vary by OS. */
export function toPosix(relative: string): string {
  return relative.split(path.sep).join('/');
}

/** The path with symlinks resolved, or as given when it cannot be (missing, unreadable). */
export function realpathOrSelf(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return file;
  }
}

/** True when `location` is a folder (following symlinks); false when it is anything else or missing. */
export function isDirectory(location: string): boolean {
  try {
    return statSync(location).isDirectory();
  } catch {
    return false;
  }
}
