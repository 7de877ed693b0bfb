/**
 * `lambda-cd package` resolves plain requirements over local wheels without starting Python
 * (LAMBDA_CD_PYTHON is a wrapper that records every call), still notices a local wheel rebuilt
 * under the same name, and hands whatever it does not model to pip, whose result is packaged as
 * before.
 */
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from './helpers/cli.js';
import { makeRepo, tempDir } from './helpers/repo.js';
import { buildWheel, offlinePipEnv } from './helpers/wheels.js';

let wheelhouse: string;
let python: string;
let calls: string;

beforeAll(async () => {
  wheelhouse = await tempDir('lambda-cd-resolver-cli-');
  await buildWheel(wheelhouse, { name: 'app-core', version: '1.0', files: { 'app_core/__init__.py': 'V = 1\n' }, requires: ['helper>=1', 'armonly; platform_machine == "aarch64"'] });
  await buildWheel(wheelhouse, { name: 'helper', version: '1.0', files: { 'helper/__init__.py': 'V = "1.0"\n' } });
  await buildWheel(wheelhouse, { name: 'helper', version: '1.2', files: { 'helper/__init__.py': 'V = "1.2"\n' } });
  await buildWheel(wheelhouse, { name: 'helper', version: '2.0b1', files: { 'helper/__init__.py': 'V = "2.0b1"\n' } });
  await buildWheel(wheelhouse, { name: 'armonly', version: '1.0', files: { 'armonly/__init__.py': '' } });
  const bin = await tempDir('lambda-cd-python-wrapper-');
  calls = path.join(bin, 'calls.log');
  python = path.join(bin, 'python');
  const real = (await execa('python3', ['-c', 'import sys; print(sys.executable)'])).stdout.trim();
  await writeFile(python, `#!/bin/sh\nprintf '%s' "$*" | tr '\\n' ' ' >> ${JSON.stringify(calls)}\necho >> ${JSON.stringify(calls)}\nexec ${JSON.stringify(real)} "$@"\n`);
  await chmod(python, 0o755);
});

const pythonCalls = async () => (existsSync(calls) ? (await readFile(calls, 'utf8')).split('\n').filter((line) => line.trim() !== '') : []);

async function packageRepo(root: string, env: Record<string, string> = {}): Promise<CliResult & { started: string[] }> {
  await rm(calls, { force: true });
  const result = await runCli(['package', '--path', root, '--no-import-check', '--json'], { env: { ...offlinePipEnv(wheelhouse), LAMBDA_CD_PYTHON: python, ...env } });
  return { ...result, started: await pythonCalls() };
}

/** The zip's members and their text, read back with Python's zipfile. */
async function zipText(file: string): Promise<Record<string, string>> {
  const code = 'import sys, json, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nprint(json.dumps({n: z.read(n).decode("utf-8", "replace") for n in z.namelist()}))';
  return JSON.parse((await execa('python3', ['-c', code, file])).stdout) as Record<string, string>;
}

describe('package without pip', () => {
  it('resolves and packages local wheels without starting Python, and notices a wheel rebuilt under its name', async () => {
    const root = await makeRepo({ 'requirements.txt': 'app-core\n' });
    const cold = await packageRepo(root);
    expect(cold.exitCode, cold.stderr).toBe(0);
    expect(cold.stderr).toContain('resolving and installing');
    expect(cold.stderr).toMatch(/resolved 2 wheels from local sources in [\d.]+ m?s \(no pip run\) \(2 new to the cache, 0 already there\)/);
    expect(cold.started).toEqual([]);
    expect(JSON.parse(cold.stdout).distributions).toEqual([
      { name: 'app-core', version: '1.0', wheelTag: 'py3-none-any' },
      { name: 'helper', version: '1.2', wheelTag: 'py3-none-any' },
    ]);
    const zip = await zipText(path.join(root, 'dist/function.zip'));
    expect(zip['helper/__init__.py']).toBe('V = "1.2"\n');
    expect(zip['app_core-1.0.dist-info/REQUESTED']).toBeDefined();
    expect(zip['helper-1.2.dist-info/REQUESTED']).toBeUndefined();

    // Unchanged: the cache answers, and an entry made without pip never asks Python about pip.
    const warm = await packageRepo(root);
    expect(warm.exitCode, warm.stderr).toBe(0);
    expect(warm.stderr).toContain('no pip run');
    expect(warm.started).toEqual([]);

    // The same file name, other bytes: resolved again, the new content packed.
    await buildWheel(wheelhouse, { name: 'helper', version: '1.2', files: { 'helper/__init__.py': 'V = "1.2 rebuilt"\n' } });
    const rebuilt = await packageRepo(root);
    expect(rebuilt.exitCode, rebuilt.stderr).toBe(0);
    expect(rebuilt.stderr).toContain('a wheel file the requirements were resolved from has changed');
    expect(rebuilt.stderr).toContain('1 new to the cache');
    expect(rebuilt.started).toEqual([]);
    expect((await zipText(path.join(root, 'dist/function.zip')))['helper/__init__.py']).toBe('V = "1.2 rebuilt"\n');
  });

  it('refuses a corrupt local wheel as before, naming it', async () => {
    const folder = await tempDir('lambda-cd-corrupt-');
    const file = await buildWheel(folder, { name: 'broken', version: '1.0', files: { 'broken/__init__.py': 'X = 1\n'.repeat(200), 'broken/data.txt': 'y'.repeat(5000) } });
    const bytes = await readFile(file);
    const local = [...bytes.keys()].find((at) => bytes.readUInt32LE(at) === 0x04034b50 && bytes.toString('latin1', at + 30, at + 30 + 15) === 'broken/data.txt')!;
    const data = local + 30 + bytes.readUInt16LE(local + 26) + bytes.readUInt16LE(local + 28);
    for (let at = data + 2; at < data + 12; at++) bytes[at] = bytes[at]! ^ 0x55; // inside the member's deflated data
    await writeFile(file, bytes);
    const root = await makeRepo({ 'requirements.txt': 'broken\n' });
    const result = await packageRepo(root, { PIP_FIND_LINKS: folder });
    expect(result.exitCode, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/requirements\.txt: broken 1\.0: .*broken-1\.0-py3-none-any\.whl/);
    expect(existsSync(path.join(root, 'dist/function.zip'))).toBe(false);
  });

  for (const [title, requirements, env] of [
    ['a --pre line', '--pre\napp-core\n', {}],
    ['LAMBDA_CD_RESOLVER=pip', 'app-core\n', { LAMBDA_CD_RESOLVER: 'pip' }],
    ['a marker on platform_release', 'app-core; platform_release != "not-a-release"\n', {}],
    ['a pip option set in the environment', 'app-core\n', { PIP_PREFER_BINARY: '1' }],
  ] as const) {
    it(`hands ${title} to pip, and packages what pip chose`, async () => {
      const root = await makeRepo({ 'requirements.txt': requirements });
      const result = await packageRepo(root, { ...env, LAMBDA_CD_TIMINGS: '1' });
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stderr).toContain('resolving with pip: ');
      expect(result.started.some((call) => call.includes('install'))).toBe(true);
      const helper = requirements.startsWith('--pre') ? '2.0b1' : '1.2';
      expect(JSON.parse(result.stdout).distributions.map((d: { name: string; version: string }) => `${d.name} ${d.version}`)).toEqual(['app-core 1.0', `helper ${helper}`]);
    });
  }
  it('never takes an index page\'s #sha256 for the file: a page naming a cached wheel\'s hash does not ship that wheel', async () => {
    const own = await tempDir('lambda-cd-index-hash-');
    const v1 = await buildWheel(own, { name: 'pinned', version: '1.0', files: { 'pinned/__init__.py': 'V = "1.0"\n' } });
    const v2 = await buildWheel(own, { name: 'pinned', version: '2.0', files: { 'pinned/__init__.py': 'V = "2.0"\n' } });
    const sha1 = createHash('sha256').update(await readFile(v1)).digest('hex');
    await mkdir(path.join(own, 'simple/pinned'), { recursive: true });
    // 2.0's link claims 1.0's hash: a stale or hostile page.
    await writeFile(path.join(own, 'simple/pinned/index.html'), `<a href="${pathToFileURL(v1).href}#sha256=${sha1}">1.0</a>\n<a href="${pathToFileURL(v2).href}#sha256=${sha1}">2.0</a>\n`);
    const env = { PIP_NO_INDEX: '0', PIP_INDEX_URL: pathToFileURL(path.join(own, 'simple')).href };
    const root = await makeRepo({ 'requirements.txt': 'pinned==1.0\n' });
    const first = await packageRepo(root, env);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.started, first.stderr).toEqual([]);
    await writeFile(path.join(root, 'requirements.txt'), 'pinned\n');
    const second = await packageRepo(root, env);
    // pip gets the resolve (the page and the file disagree) and refuses the hash; never 1.0's bytes as 2.0.
    expect(second.started.length).toBeGreaterThan(0);
    if (second.exitCode === 0) expect((await zipText(path.join(root, 'dist/function.zip')))['pinned/__init__.py']).toBe('V = "2.0"\n');
    else expect(second.stderr).toMatch(/hash/i);
  });
});
