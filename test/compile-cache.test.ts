/**
 * V8's compile cache for lambda-cd's modules (cli/compile-cache.ts): in the user's own cache
 * folder only, never where the user or the image chose otherwise, and a home that is missing,
 * not the user's or not writable never fails a command.
 */
import { chown, mkdir } from 'node:fs/promises';
import module from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileCacheDir, enableCompileCache } from '../cli/compile-cache.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/repo.js';

const nodeHasIt = typeof (module as { enableCompileCache?: unknown }).enableCompileCache === 'function';

describe('the compile cache folder', () => {
  it('is under the OS cache folder of the user', async () => {
    const home = await tempDir('lambda-cd-home-');
    expect(compileCacheDir({}, home, 'linux')).toBe(path.join(home, '.cache', 'lambda-cd', 'node-compile-cache'));
    expect(compileCacheDir({ XDG_CACHE_HOME: '/var/cache/me' }, home, 'linux')).toBe('/var/cache/me/lambda-cd/node-compile-cache');
    expect(compileCacheDir({ XDG_CACHE_HOME: 'relative/cache' }, home, 'linux')).toBe(path.join(home, '.cache', 'lambda-cd', 'node-compile-cache'));
    expect(compileCacheDir({}, home, 'darwin')).toBe(path.join(home, 'Library', 'Caches', 'lambda-cd', 'node-compile-cache'));
  });

  it('is none for a home that is missing, the root folder, or another user\'s', async () => {
    expect(compileCacheDir({}, '/nonexistent/home', 'linux')).toBeUndefined();
    expect(compileCacheDir({}, '/', 'linux')).toBeUndefined();
    expect(compileCacheDir({}, '', 'linux')).toBeUndefined();
    if (process.getuid?.() === 0) {
      const other = await tempDir('lambda-cd-home-');
      await chown(other, 12345, 12345);
      expect(compileCacheDir({}, other, 'linux')).toBeUndefined();
    }
  });

  it('is left alone when NODE_COMPILE_CACHE or NODE_DISABLE_COMPILE_CACHE says where or whether', () => {
    const calls: (string | undefined)[] = [];
    const enable = (dir?: string) => (calls.push(dir), { status: 1, directory: dir });
    expect(enableCompileCache({ NODE_COMPILE_CACHE: '/somewhere' }, enable)).toBeUndefined();
    expect(enableCompileCache({ NODE_DISABLE_COMPILE_CACHE: '1' }, enable)).toBeUndefined();
    expect(calls).toEqual([]);
  });

  it("is turned on in the user's folder where Node has it, and a Node that cannot (or throws) fails nothing", async () => {
    const home = await tempDir('lambda-cd-home-');
    const calls: (string | undefined)[] = [];
    const dir = path.join(home, '.cache', 'lambda-cd', 'node-compile-cache');
    expect(enableCompileCache({}, (given) => (calls.push(given), { status: 1, directory: given }), home)).toBe(dir);
    expect(calls).toEqual([dir]);
    expect(enableCompileCache({}, () => ({ status: 0 }), home)).toBeUndefined();
    expect(enableCompileCache({}, () => {
      throw new Error('EACCES');
    }, home)).toBeUndefined();
    expect(enableCompileCache({}, undefined, home)).toBeUndefined();
    expect(enableCompileCache({}, () => ({ status: 1 }), '/nonexistent/home')).toBeUndefined();
  });
});

describe('lambda-cd with a home it cannot use for the cache', () => {
  for (const [what, home] of [['missing', '/nonexistent/home'], ['a file', '/etc/hostname'], ['the root folder', '/']] as const) {
    it(`(${what}) still runs its commands`, async () => {
      const env = { HOME: home, XDG_CACHE_HOME: '', NODE_COMPILE_CACHE: undefined };
      const version = await runCli(['--version'], { env });
      expect(version.exitCode, version.stderr).toBe(0);
      expect(version.stderr).toBe('');
      const help = await runCli(['package', '--help'], { env });
      expect(help.exitCode, help.stderr).toBe(0);
    });
  }

  it.runIf(nodeHasIt)('fills the user\'s cache folder on a Node that has the cache', async () => {
    const home = await tempDir('lambda-cd-home-');
    await mkdir(home, { recursive: true });
    const result = await runCli(['package', '--help'], { env: { HOME: home, XDG_CACHE_HOME: '', NODE_COMPILE_CACHE: undefined } });
    expect(result.exitCode, result.stderr).toBe(0);
    const { readdir } = await import('node:fs/promises');
    expect((await readdir(path.join(home, '.cache', 'lambda-cd', 'node-compile-cache'))).length).toBeGreaterThan(0);
  });
});
