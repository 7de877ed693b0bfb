/**
 * A cache hit checks that the pip which resolved the entry is still the one `--python` runs. It
 * is told from pip's files without starting Python (lib/package-pip-identity.ts) when the
 * interpreter is the file itself; a changed pip is still found, and a wrapper script is always
 * asked. Python starts are counted by a sitecustomize.py in a virtual environment of our own.
 */
import { chmod, cp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { makeRepo, tempDir } from './helpers/repo.js';
import { buildWheel, offlinePipEnv } from './helpers/wheels.js';

let wheelhouse: string;
let venv: string;
let starts: string;

beforeAll(async () => {
  wheelhouse = await tempDir('lambda-cd-identity-wheels-');
  await buildWheel(wheelhouse, { name: 'purelib', version: '1.0', files: { 'purelib/__init__.py': 'X = 1\n' } });
  // A venv whose pip is a copy we may change (faster than ensurepip), counting every Python start.
  const base = (await execa('python3', ['-c', 'import sys; print(sys.executable)'])).stdout.trim();
  venv = path.join(await tempDir('lambda-cd-identity-venv-'), 'venv');
  await execa(base, ['-m', 'venv', '--without-pip', venv]);
  const site = (await execa(path.join(venv, 'bin/python'), ['-c', 'import site; print(site.getsitepackages()[0])'])).stdout.trim();
  const pipHome = path.dirname(path.dirname((await execa(base, ['-c', 'import pip; print(pip.__file__)'])).stdout.trim()));
  await cp(path.join(pipHome, 'pip'), path.join(site, 'pip'), { recursive: true });
  starts = path.join(venv, 'starts.log');
  await writeFile(path.join(site, 'sitecustomize.py'), `open(${JSON.stringify(starts)}, "a").write("start\\n")\n`);
}, 120_000);

const count = async () => (await readFile(starts, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
// Entries pip resolved (lambda-cd's own resolver makes entries that depend on no pip: test/python-resolver-cli.test.ts).
const build = (root: string, python: string) => runCli(['package', '--path', root, '--python', python, '--no-import-check'], { env: { ...offlinePipEnv(wheelhouse), LAMBDA_CD_RESOLVER: 'pip' } });

describe('the pip that resolved a cache entry', () => {
  it('is confirmed from its files on a src/-only rebuild (no Python started), and a changed pip is still found', async () => {
    const python = path.join(venv, 'bin/python');
    const root = await makeRepo({ 'requirements.txt': 'purelib\n' });
    const cold = await build(root, python);
    expect(cold.exitCode, cold.stderr).toBe(0);
    await writeFile(path.join(root, 'src/app.py'), 'def handler(event, context):\n    return 2\n');
    const before = await count();
    const rebuilt = await build(root, python);
    expect(rebuilt.exitCode, rebuilt.stderr).toBe(0);
    expect(rebuilt.stderr).toContain('no pip run');
    expect(await count()).toBe(before);

    // pip upgraded in place (its __init__.py rewritten): Python is asked, and the entry made by the old pip resolved again.
    const init = (await execa(python, ['-c', 'import pip; print(pip.__file__)'])).stdout.trim();
    await writeFile(init, (await readFile(init, 'utf8')).replace(/__version__ = "[^"]+"/, '__version__ = "99.0"'));
    const upgraded = await build(root, python);
    expect(upgraded.exitCode, upgraded.stderr).toBe(0);
    expect(upgraded.stderr).toContain('resolving and installing');
  });

  it('is always asked of a wrapper script that picks the interpreter when it runs', async () => {
    const wrapper = path.join(await tempDir('lambda-cd-identity-wrapper-'), 'python');
    await writeFile(wrapper, `#!/bin/sh\nexec ${JSON.stringify(path.join(venv, 'bin/python'))} "$@"\n`);
    await chmod(wrapper, 0o755);
    const root = await makeRepo({ 'requirements.txt': 'purelib\n' });
    expect((await build(root, wrapper)).exitCode).toBe(0);
    const before = await count();
    const rebuilt = await build(root, wrapper);
    expect(rebuilt.exitCode, rebuilt.stderr).toBe(0);
    expect(rebuilt.stderr).toContain('no pip run');
    expect(await count()).toBe(before + 1);
  });
});
