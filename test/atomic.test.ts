import { existsSync } from 'node:fs';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { cacheFailure, removeAbandonedTemporaries, writeFileAtomic } from '../lib/atomic.js';
import { tempDir } from './helpers/repo.js';

describe('atomic outputs and the cache folders', () => {
  it('removes temporaries a killed run left in a cache folder after an hour, and nothing else', async () => {
    const cache = await tempDir();
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    const entries = ['.work-123-abcd', '.tmp-123-abcd', '.0123abcd.tmp-XyZ', '.work-456-fresh', 'a1b2c3', '.keep'];
    for (const name of entries) await mkdir(path.join(cache, name));
    for (const name of ['.work-123-abcd', '.tmp-123-abcd', '.0123abcd.tmp-XyZ', 'a1b2c3', '.keep']) {
      await utimes(path.join(cache, name), twoHoursAgo, twoHoursAgo);
    }
    await removeAbandonedTemporaries(cache);
    expect(entries.filter((name) => existsSync(path.join(cache, name)))).toEqual(['.work-456-fresh', 'a1b2c3', '.keep']);
    await removeAbandonedTemporaries(path.join(cache, 'missing'));
  });

  it('a write into a path blocked by a file is one line naming the output (exit 3), and leaves nothing', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'blocker'), '');
    const target = path.join(dir, 'blocker/out/template.json');
    await expect(writeFileAtomic(target, '{}')).rejects.toMatchObject({ exitCode: 3, message: `${target}: cannot write the output here: part of the path is a file, not a folder` });
  });

  it('a folder a read-only file system cannot create is "read-only file system", not the ENOENT Node reports, for outputs and caches alike', async () => {
    const mountPoint = await tempDir('lambda-cd-ro-');
    const mounted = await execa('mount', ['-t', 'tmpfs', '-o', 'size=64k,ro', 'tmpfs', mountPoint], { reject: false });
    if (mounted.exitCode !== 0) return; // no privilege to mount here
    try {
      const target = path.join(mountPoint, 'dist/sub/template.json');
      await expect(writeFileAtomic(target, '{}')).rejects.toMatchObject({ exitCode: 3, message: `${target}: cannot write the output here: read-only file system` });
      const cache = path.join(mountPoint, 'cache');
      const refused = await mkdir(path.join(cache, 'pip-test'), { recursive: true }).catch((error: unknown) => cacheFailure(cache, error));
      expect(refused).toMatchObject({ exitCode: 3, message: `${cache}: cannot use the cache folder: read-only file system (--cache-dir / LAMBDA_CD_CACHE_DIR choose another)` });
      expect(existsSync(path.join(mountPoint, 'dist'))).toBe(false);
    } finally {
      await execa('umount', [mountPoint], { reject: false });
    }
  });
});
