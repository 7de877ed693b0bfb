/**
 * The packages tests need, installed with `pip install --target` into a cache folder of their
 * own: never into the interpreter's site-packages, never into the deployment package. The
 * folder is named after what decides its contents (the requirement files' bytes, the Python
 * version, pip's source options), so an unchanged repository reuses the earlier install.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { cacheFailure, removeAbandonedTemporaries } from './atomic.js';
import { EnvironmentError } from './errors.js';
import { run } from './exec.js';
import { displayPath, progress } from './output.js';
import { hasRequirements, includedRequirementFiles, pipFailure, pipSourceArgs, type PipOptions } from './python.js';

export interface TestRequirementsOptions {
  python: string;
  /** requirements.txt files; missing ones are skipped. */
  requirementFiles: string[];
  /** The cache root (`--cache-dir`); installs go below `pip-test/`. */
  cacheDir: string;
  pip: PipOptions;
  /** Working directory for pip (relative paths inside requirement files). */
  cwd: string;
  /** Progress label, e.g. `unit-test`. */
  step: string;
}

export interface TestRequirements {
  /** The folders to put on PYTHONPATH, in order; none when there was nothing to install. */
  dirs: string[];
  reused: boolean;
}

/** Interpreter identity for the cache key: a different Python needs its own install. */
async function pythonIdentity(python: string): Promise<string> {
  const result = await run(python, ['-c', 'import sys, platform; print(sys.implementation.cache_tag, platform.machine(), sys.version.split()[0])']);
  if (result.exitCode !== 0) throw new EnvironmentError(`${python}: cannot run the Python interpreter (exit ${result.exitCode}): ${result.stderr.trim().split('\n').pop()}`);
  return result.stdout.trim();
}

export async function installTestRequirements(options: TestRequirementsOptions): Promise<TestRequirements> {
  const files = options.requirementFiles.filter((file) => existsSync(file));
  const contents = files.map((file) => readFileSync(file));
  if (!contents.some((bytes) => hasRequirements(bytes.toString('utf8')))) return { dirs: [], reused: false };
  const groups = installGroups(files, contents);

  const identity = await pythonIdentity(options.python);
  const hash = createHash('sha256');
  for (const [index, bytes] of contents.entries()) hash.update(`${path.basename(files[index]!)}\0${bytes.length}\0`).update(bytes);
  // A file pulled in with -r/-c changes the install as much as the file itself.
  for (const file of files.flatMap((file) => includedRequirementFiles(file))) {
    const bytes = existsSync(file) ? readFileSync(file) : Buffer.alloc(0);
    hash.update(`include ${file}\0${bytes.length}\0`).update(bytes);
  }
  hash.update(`\0${identity}\0${JSON.stringify(pipSourceArgs(options.pip))}`);
  const key = hash.digest('hex').slice(0, 32);
  const parent = path.join(options.cacheDir, 'pip-test');
  const target = path.join(parent, key);
  const shownFiles = files.map(displayPath).join(', ');
  if (existsSync(target)) {
    progress(options.step, `test requirements unchanged (${shownFiles}): reusing ${displayPath(target)}`);
    return { dirs: groupDirs(target, groups), reused: true };
  }

  // A read-only, full or blocked cache folder is the environment's problem (exit 3), named as such.
  await mkdir(parent, { recursive: true }).catch((error: unknown) => Promise.reject(cacheFailure(options.cacheDir, error)));
  await removeAbandonedTemporaries(parent);
  const temporary = await mkdtemp(path.join(parent, `.${key}.tmp-`)).catch((error: unknown) => Promise.reject(cacheFailure(options.cacheDir, error)));
  progress(options.step, `installing test requirements (${shownFiles}) for ${identity.split(' ').pop()} into ${displayPath(target)}`);
  try {
    for (const [index, dir] of groupDirs(temporary, groups).entries()) {
      const args = ['-m', 'pip', 'install', '--target', dir, '--disable-pip-version-check', '--no-input', '--quiet', ...pipSourceArgs(options.pip)];
      for (const file of groups[index]!) args.push('-r', file);
      const result = await run(options.python, args, { cwd: options.cwd });
      // A typo or an impossible pin is the repository's fault (exit 2); pip or the network failing is exit 3.
      if (result.exitCode !== 0) throw /No space left on device|Read-only file system/.test(result.stderr) ? cacheFailure(options.cacheDir, { code: /No space/.test(result.stderr) ? 'ENOSPC' : 'EROFS' }) : pipFailure(result.stderr, groups[index]!.map(displayPath).join(', '));
    }
    try {
      await rename(temporary, target);
    } catch (error) {
      // Another run installed the same key meanwhile: its folder is as good as ours.
      if (!existsSync(target)) throw error;
      await rm(temporary, { recursive: true, force: true });
    }
  } catch (error) {
    await rm(temporary, { recursive: true, force: true });
    throw error;
  }
  return { dirs: groupDirs(target, groups), reused: false };
}

const HASH_PINNED = /(^|\s)--hash[=\s]/;

/**
 * Files pip installs together. A `--hash` pin puts pip in hash-checking mode for everything it
 * installs in that run, so a hash-pinned requirements.txt and a test file without pins (or the
 * other way round) are installed in two runs: the first file's group first on PYTHONPATH, so the
 * function sees the versions it pinned.
 */
function installGroups(files: string[], contents: Buffer[]): string[][] {
  const pinned = contents.map((bytes) => HASH_PINNED.test(bytes.toString('utf8')));
  const first = files.filter((_, index) => pinned[index] === pinned[0]);
  const second = files.filter((_, index) => pinned[index] !== pinned[0]);
  return second.length === 0 ? [first] : [first, second];
}

/** One install folder: the cache entry itself; two: its subfolders 0 and 1. */
function groupDirs(root: string, groups: string[][]): string[] {
  return groups.length === 1 ? [root] : groups.map((_, index) => path.join(root, String(index)));
}
