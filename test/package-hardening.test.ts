/**
 * `lambda-cd package` on a bad day (issue #12): nothing stale, nothing corrupt, nothing leaked,
 * never an internal error. Each class has the example and variants of our own, through
 * the CLI: exit code, the one line, and the files left behind.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { appendFile, chmod, copyFile, cp, mkdir, readdir, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli, type CliResult } from './helpers/cli.js';
import { makeRepo, tempDir } from './helpers/repo.js';
import { buildWheel, offlinePipEnv } from './helpers/wheels.js';
import { pipFailure } from '../lib/python.js';

let wheelhouse: string;
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY';

beforeAll(async () => {
  wheelhouse = await tempDir('lambda-cd-hard-wheels-');
  await buildWheel(wheelhouse, { name: 'purelib', version: '1.0', files: { 'purelib/__init__.py': 'NAME = "purelib"\n' } });
  await buildWheel(wheelhouse, { name: 'storedlib', version: '1.0', files: { 'storedlib/__init__.py': 'X = 1\n', 'storedlib/data.txt': 'x'.repeat(5000) }, stored: ['storedlib/data.txt'] });
  await buildWheel(wheelhouse, { name: 'requests', version: '2.18.4', files: { 'requests/__init__.py': '' } });
  await buildWheel(wheelhouse, { name: 'onefile', version: '1.0', files: { 'tool': 'a file at the root\n' } });
  await buildWheel(wheelhouse, { name: 'onefolder', version: '1.0', files: { 'tool/__init__.py': '' } });
});

const packageRepo = (root: string, args: string[] = [], env: Record<string, string | undefined> = {}): Promise<CliResult> =>
  runCli(['package', '--path', root, ...args], { env: { ...offlinePipEnv(wheelhouse), ...env } });
const zipSha = async (root: string) => createHash('sha256').update(await readFile(path.join(root, 'dist/function.zip'))).digest('hex');
const errorLines = (result: CliResult) => result.stderr.split('\n').filter((line) => /error:/.test(line));

/** The zip's names and the content of each file, read by Python's zipfile with every CRC checked. */
async function zipContent(file: string): Promise<Record<string, string>> {
  const script = 'import json, sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint(json.dumps({i.filename: z.read(i).decode("latin1") for i in z.infolist()}))';
  return JSON.parse((await execa('python3', ['-c', script, file])).stdout);
}

/** Temporaries (ours or a killed run's) below `dir`. */
function temporaries(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((name) => /(^|\/)\.(tmp|work)-|\.tmp$/.test(name));
}

/** Removes the zip parts builds keep (lib/package-deps-block.ts): the next build then reads the cached wheels themselves. */
async function dropKeptParts(root: string): Promise<void> {
  const packageCache = path.join(root, '.lambda-cd/cache/package');
  for (const entry of await readdir(packageCache)) {
    for (const name of await readdir(path.join(packageCache, entry)).catch(() => [] as string[])) if (/^deps-[0-9a-f]{64}\.bin$/.test(name)) await rm(path.join(packageCache, entry, name));
  }
}

/** A wheel of `purelib` with other content under the same file name. */
async function rebuildPurelib(folder: string, name: string): Promise<void> {
  await buildWheel(folder, { name: 'purelib', version: '1.0', files: { 'purelib/__init__.py': `NAME = ${JSON.stringify(name)}\n` } });
}

describe('stale code: every local file a requirement names is in the cache key by content', () => {
  it('ships a vendored wheel rebuilt under the same name (the issue\'s example), and one rebuilt in a find-links folder', async () => {
    const root = await makeRepo({ 'requirements.txt': './vendor/purelib-1.0-py3-none-any.whl\n' });
    await rebuildPurelib(path.join(root, 'vendor'), 'v1');
    expect((await packageRepo(root)).exitCode).toBe(0);
    await rebuildPurelib(path.join(root, 'vendor'), 'v2');
    const rebuilt = await packageRepo(root);
    expect(rebuilt.exitCode, rebuilt.stderr).toBe(0);
    expect(rebuilt.stderr).toContain('resolving and installing');
    expect((await zipContent(path.join(root, 'dist/function.zip')))['purelib/__init__.py']).toBe('NAME = "v2"\n');

    // --find-links inside requirements.txt, and PIP_FIND_LINKS: the wheel taken from there is checked on reuse.
    for (const [requirements, env] of [['--find-links wheels\npurelib\n', { PIP_FIND_LINKS: '' }], ['purelib\n', { PIP_FIND_LINKS: 'wheels' }]] as const) {
      const repo = await makeRepo({ 'requirements.txt': requirements });
      await rebuildPurelib(path.join(repo, 'wheels'), 'v1');
      expect((await packageRepo(repo, [], env)).exitCode).toBe(0);
      expect((await packageRepo(repo, [], env)).stderr).toContain('no pip run');
      await rebuildPurelib(path.join(repo, 'wheels'), 'v2');
      const again = await packageRepo(repo, [], env);
      expect(again.exitCode, again.stderr).toBe(0);
      expect(again.stderr).toContain('has changed: resolving them again');
      expect((await zipContent(path.join(repo, 'dist/function.zip')))['purelib/__init__.py']).toBe('NAME = "v2"\n');
    }
  });

  it('re-resolves when an included file or an environment variable the requirements use changes', async () => {
    const root = await makeRepo({ 'requirements.txt': '-r base.txt\n', 'base.txt': 'purelib\n' });
    expect((await packageRepo(root)).exitCode).toBe(0);
    await writeFile(path.join(root, 'base.txt'), 'purelib\nstoredlib\n');
    const included = await packageRepo(root, ['--json']);
    expect(included.stderr).toContain('resolving and installing');
    expect(JSON.parse(included.stdout).distributions.map((d: { name: string }) => d.name)).toEqual(['purelib', 'storedlib']);

    // pip replaces ${NAME} in requirement files: the value decides what is installed.
    await writeFile(path.join(root, 'base.txt'), '${EXTRA_PACKAGE}\n');
    const first = await packageRepo(root, ['--json'], { EXTRA_PACKAGE: 'purelib' });
    expect(JSON.parse(first.stdout).distributions.map((d: { name: string }) => d.name)).toEqual(['purelib']);
    const second = await packageRepo(root, ['--json'], { EXTRA_PACKAGE: 'storedlib' });
    expect(second.stderr).toContain('resolving and installing');
    expect(JSON.parse(second.stdout).distributions.map((d: { name: string }) => d.name)).toEqual(['storedlib']);
  });

  it('builds a local project folder into a wheel, and again when a file in it changes', async () => {
    const backend = [
      'import os, zipfile',
      'def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):',
      '    name = "common-1.0-py3-none-any.whl"',
      '    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as z:',
      '        z.writestr("common/__init__.py", open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "common", "__init__.py")).read())',
      '        z.writestr("common-1.0.dist-info/METADATA", "Metadata-Version: 2.1\\nName: common\\nVersion: 1.0\\n")',
      '        z.writestr("common-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")',
      '        z.writestr("common-1.0.dist-info/RECORD", "")',
      '    return name',
      '',
    ].join('\n');
    const root = await makeRepo({
      'requirements.txt': './libs/common\n',
      'libs/common/pyproject.toml': '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n',
      'libs/common/backend.py': backend,
      'libs/common/common/__init__.py': 'SHARED = "v1"\n',
    });
    expect((await packageRepo(root)).exitCode).toBe(0);
    expect((await zipContent(path.join(root, 'dist/function.zip')))['common/__init__.py']).toBe('SHARED = "v1"\n');
    await writeFile(path.join(root, 'libs/common/common/__init__.py'), 'SHARED = "v2"\n');
    const changed = await packageRepo(root);
    expect(changed.exitCode, changed.stderr).toBe(0);
    expect((await zipContent(path.join(root, 'dist/function.zip')))['common/__init__.py']).toBe('SHARED = "v2"\n');
  });

  it('keys on no absolute repository path: the same repository checked out elsewhere reuses the cache', async () => {
    const files = { 'requirements.txt': '-r more.txt\n./vendor/purelib-1.0-py3-none-any.whl\n--find-links wheels\n', 'more.txt': 'storedlib\n' };
    const cache = await tempDir('lambda-cd-cache-');
    const first = await makeRepo(files);
    await mkdir(path.join(first, 'vendor'));
    await copyFile(path.join(wheelhouse, 'purelib-1.0-py3-none-any.whl'), path.join(first, 'vendor/purelib-1.0-py3-none-any.whl'));
    await mkdir(path.join(first, 'wheels'));
    await copyFile(path.join(wheelhouse, 'storedlib-1.0-py3-none-any.whl'), path.join(first, 'wheels/storedlib-1.0-py3-none-any.whl'));
    const env = { PIP_FIND_LINKS: '' };
    expect((await packageRepo(first, ['--cache-dir', cache], env)).exitCode).toBe(0);
    const second = path.join(await tempDir('lambda-cd-checkout-'), 'src123');
    await cp(first, second, { recursive: true, filter: (source) => !source.includes('.lambda-cd') && !source.includes('/dist') });
    const moved = await packageRepo(second, ['--cache-dir', cache], env);
    expect(moved.exitCode, moved.stderr).toBe(0);
    expect(moved.stderr).toContain('no pip run');
    const keys = await readdir(path.join(cache, 'package'));
    expect(keys).toHaveLength(1);
    expect(await readFile(path.join(cache, 'package', keys[0]!, 'index.json'), 'utf8')).not.toContain(first);
  });
});

describe('a corrupt or hostile cache is verified, discarded and rebuilt', () => {
  async function cachedRepo(): Promise<{ root: string; clean: string; wheels: string; entry: string }> {
    const root = await makeRepo({ 'requirements.txt': 'purelib\nstoredlib\n' });
    const cold = await packageRepo(root);
    expect(cold.exitCode, cold.stderr).toBe(0);
    const wheels = path.join(root, '.lambda-cd/cache/wheels');
    const [entry] = await readdir(path.join(root, '.lambda-cd/cache/package'));
    await dropKeptParts(root); // what is checked here is the wheels
    return { root, clean: await zipSha(root), wheels, entry: path.join(root, '.lambda-cd/cache/package', entry!) };
  }

  it('a flipped bit or a truncated cached wheel: one warning, fetched again, the same zip', async () => {
    const { root, clean, wheels } = await cachedRepo();
    const [first, second] = (await readdir(wheels)).filter((name) => /^[0-9a-f]{64}$/.test(name));
    const file = path.join(wheels, first!, 'wheel.whl');
    const bytes = await readFile(file);
    bytes[Math.floor(bytes.length / 3)]! ^= 0x10;
    await writeFile(file, bytes);
    await truncate(path.join(wheels, second!, 'wheel.whl'), 100);
    const result = await packageRepo(root);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr.match(/warning: cache: the cached \S+\.whl is corrupt \(its sha256 no longer matches\): discarded, fetching it again/g)).toHaveLength(2);
    expect(await zipSha(root)).toBe(clean);
    expect((await packageRepo(root)).stderr).toContain('no pip run');
  });

  it('an index naming ../ paths, absolute paths or no sha256 is discarded, never followed', async () => {
    const { root, clean, entry } = await cachedRepo();
    const original = await readFile(path.join(entry, 'index.json'), 'utf8');
    const record = JSON.parse(original);
    const hostile = [
      { ...record, wheels: [{ ...record.wheels[0], file: '../../../../etc/passwd' }] },
      { ...record, wheels: [{ ...record.wheels[0], sha256: '/etc/passwd' }] },
      { ...record, wheels: [{ ...record.wheels[0], sha256: '../../../../../../etc' }] },
      { ...record, wheels: [{ ...record.wheels[0], source: { path: '../../../etc/shadow', size: 1, mtimeMs: 1 } }] },
      '{"format": "package-cache-v2", "pip": ',
    ];
    for (const content of hostile) {
      await writeFile(path.join(entry, 'index.json'), typeof content === 'string' ? content : JSON.stringify(content));
      const result = await packageRepo(root);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stderr).toMatch(/warning: cache: \S+ is unusable \(.*\): discarded, resolving the requirements again/);
      expect(await zipSha(root)).toBe(clean);
      const names = Object.keys(await zipContent(path.join(root, 'dist/function.zip')));
      expect(names.every((name) => /^(app\.py|purelib|storedlib)/.test(name)), names.join(' ')).toBe(true);
    }
  });

  it('a cached wheel folder replaced by a symlink to a host folder, and corrupt recompressed members, are discarded', async () => {
    const { root, clean, wheels } = await cachedRepo();
    const host = await tempDir('lambda-cd-host-');
    await writeFile(path.join(host, 'secret.txt'), 'host file\n');
    const [first, ...others] = (await readdir(wheels)).filter((name) => /^[0-9a-f]{64}$/.test(name));
    await rm(path.join(wheels, first!), { recursive: true });
    await symlink(host, path.join(wheels, first!));
    // storedlib's data.txt is stored in its wheel: our compression of it is kept beside it.
    const withDerived = others.concat(first!).find((sha) => existsSync(path.join(wheels, sha, 'derived.json')))!;
    const blob = path.join(wheels, withDerived, (await readdir(path.join(wheels, withDerived))).find((name) => name.startsWith('derived-'))!);
    await appendFile(blob, 'x');
    const bytes = await readFile(blob);
    bytes[2]! ^= 0xff;
    await writeFile(blob, bytes);
    const result = await packageRepo(root);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toContain('is not a plain folder with its wheel: discarded, fetching it again');
    expect(result.stderr).toMatch(/compressed members kept for \S+ are corrupt .*: discarded, compressing them again/);
    expect(await zipSha(root)).toBe(clean);
    expect(existsSync(path.join(host, 'secret.txt'))).toBe(true);
  });

  it('a corrupt cached wheel that can no longer be fetched is a clean error (exit 2), leaving no zip', async () => {
    const wheels = await tempDir('lambda-cd-own-');
    await copyFile(path.join(wheelhouse, 'purelib-1.0-py3-none-any.whl'), path.join(wheels, 'purelib-1.0-py3-none-any.whl'));
    const root = await makeRepo({ 'requirements.txt': 'purelib\n' });
    expect((await runCli(['package', '--path', root], { env: offlinePipEnv(wheels) })).exitCode).toBe(0);
    const store = path.join(root, '.lambda-cd/cache/wheels');
    const [sha] = await readdir(store);
    await dropKeptParts(root);
    await truncate(path.join(store, sha!, 'wheel.whl'), 10);
    await rm(path.join(wheels, 'purelib-1.0-py3-none-any.whl'));
    const result = await runCli(['package', '--path', root], { env: offlinePipEnv(wheels) });
    expect(result.exitCode).toBe(2);
    expect(errorLines(result)).toEqual([expect.stringMatching(/requirements\.txt: purelib: no wheel Lambda can load/)]);
    expect(existsSync(path.join(root, 'dist/function.zip'))).toBe(false);
  });

  it('a wheel from the index that is itself corrupt (bad CRC) is exit 2 naming it, never a zip', async () => {
    const bad = await tempDir('lambda-cd-badwheel-');
    const file = await buildWheel(bad, { name: 'badcrc', version: '1.0', files: { 'badcrc/__init__.py': 'X = 1\n'.repeat(50) } });
    const bytes = await readFile(file);
    const at = bytes.indexOf(Buffer.from('badcrc/__init__.py')) + 'badcrc/__init__.py'.length + 3;
    bytes[at]! ^= 0x01; // inside the deflated data of the first member
    await writeFile(file, bytes);
    const root = await makeRepo({ 'requirements.txt': 'badcrc\n' });
    const result = await runCli(['package', '--path', root], { env: offlinePipEnv(bad) });
    expect(result.exitCode).toBe(2);
    expect(errorLines(result)).toEqual([expect.stringMatching(/requirements\.txt: badcrc 1\.0: badcrc-1\.0-py3-none-any\.whl: not a valid wheel: badcrc\/__init__\.py: (CRC or size mismatch|corrupt compressed data)/)]);
    expect(existsSync(path.join(root, 'dist'))).toBe(false);
  });
});

describe('secrets never reach the output', () => {
  it('refuses -r /proc/self/environ before pip runs, and masks environment values pip echoes', async () => {
    const env = { AWS_SECRET_ACCESS_KEY: SECRET, MY_TOKEN: 'tok-1234567890abcdef' };
    const root = await makeRepo({ 'requirements.txt': '-r /proc/self/environ\n' });
    const environ = await packageRepo(root, [], env);
    expect(environ.exitCode).toBe(2);
    expect(errorLines(environ)).toEqual([`lambda-cd: error: ${path.join(root, 'requirements.txt')} line 1: -r /proc/self/environ: expected a regular file, found a special file`]);
    // A requirement built from a variable: pip says it is invalid, quoting the line with the value.
    for (const line of ['purelib==${AWS_SECRET_ACCESS_KEY}', 'purelib @ https://x:${MY_TOKEN}@example.invalid/p.whl', '${AWS_SECRET_ACCESS_KEY}']) {
      await writeFile(path.join(root, 'requirements.txt'), `${line}\n`);
      const result = await packageRepo(root, [], env);
      expect([2, 3]).toContain(result.exitCode);
      expect(result.stderr).not.toContain(SECRET);
      expect(result.stderr).not.toContain('1234567890abcdef');
      expect(result.stderr).not.toMatch(/internal error/);
    }
  });
});

describe('a zip nobody can extract is refused', () => {
  it('names both a src/ file and an installed folder of the same name, and the reverse', async () => {
    const fileInSrc = await makeRepo({ 'requirements.txt': 'requests==2.18.4\n', 'src/requests': 'not a folder\n' });
    const first = await packageRepo(fileInSrc);
    expect(first.exitCode).toBe(2);
    expect(errorLines(first)).toEqual(['lambda-cd: error: src/requests is a file, but requests/__init__.py from requests 2.18.4 needs a folder of that name: a zip holding both cannot be extracted; rename or remove one of them']);
    expect(existsSync(path.join(fileInSrc, 'dist'))).toBe(false);
    const folderInSrc = await makeRepo({ 'requirements.txt': 'onefile\n', 'src/tool/__init__.py': '' });
    const reverse = await packageRepo(folderInSrc);
    expect(reverse.exitCode).toBe(2);
    expect(errorLines(reverse)).toEqual(['lambda-cd: error: tool from onefile 1.0 is a file, but src/tool/__init__.py needs a folder of that name: a zip holding both cannot be extracted; rename or remove one of them']);
    // Between two installed distributions too.
    const both = await packageRepo(await makeRepo({ 'requirements.txt': 'onefile\nonefolder\n' }));
    expect(both.exitCode).toBe(2);
    expect(both.stderr).toContain('tool from onefile 1.0 is a file, but tool/__init__.py from onefolder 1.0 needs a folder of that name');
  });
});

/** A python3 that waits `seconds` before it starts (so a run can be interrupted mid-way). */
async function slowPython(seconds: number): Promise<string> {
  const dir = await tempDir('lambda-cd-slowpy-');
  const file = path.join(dir, 'python3');
  await writeFile(file, `#!/bin/sh\nsleep ${seconds}\nexec python3 "$@"\n`);
  await chmod(file, 0o755);
  return file;
}

function startPackage(root: string, python: string): { child: ReturnType<typeof spawn>; stderr: () => string; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  // pip resolves (not lambda-cd's own resolver, which starts no Python): the interruption lands while pip runs.
  const child = spawn(process.execPath, [CLI, 'package', '--path', root, '--python', python], { env: { ...process.env, NO_COLOR: '1', ...offlinePipEnv(wheelhouse), LAMBDA_CD_RESOLVER: 'pip' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, stderr: () => stderr, exited };
}

async function until(condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('an interrupted run leaves nothing stale and nothing temporary', () => {
  it('SIGTERM or SIGINT while resolving: no previous zip or manifest, no temporaries', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const root = await makeRepo({ 'requirements.txt': 'purelib\n' });
      expect((await packageRepo(root, [], { LAMBDA_CD_RESOLVER: 'pip' })).exitCode).toBe(0);
      await writeFile(path.join(root, 'requirements.txt'), 'purelib\nstoredlib\n');
      const run = startPackage(root, await slowPython(2));
      await until(() => run.stderr().includes('resolving and installing'));
      run.child.kill(signal);
      const { signal: ended } = await run.exited;
      expect(ended).toBe(signal);
      expect(existsSync(path.join(root, 'dist/function.zip'))).toBe(false);
      expect(existsSync(path.join(root, 'dist/function.zip.manifest.json'))).toBe(false);
      expect([...temporaries(path.join(root, 'dist')), ...temporaries(path.join(root, '.lambda-cd'))]).toEqual([]);
    }
  });

  it('after kill -9, the next run (even one served from the cache) removes what the killed run left', async () => {
    const root = await makeRepo({ 'requirements.txt': 'purelib\n' });
    expect((await packageRepo(root, [], { LAMBDA_CD_RESOLVER: 'pip' })).exitCode).toBe(0); // an entry pip made: the next run asks the slow Python for pip's version
    await writeFile(path.join(root, 'src/app.py'), 'def handler(event, context):\n    return 2\n');
    const run = startPackage(root, await slowPython(2));
    await until(() => run.stderr().includes('requirements unchanged'));
    // Stand-ins for what a run killed while writing leaves (the kill can land before or after the write starts).
    const dead = await execa('sh', ['-c', 'echo $$']);
    const host = hostname().replace(/[^A-Za-z0-9]/g, '');
    await mkdir(path.join(root, `.lambda-cd/cache/package/.work-${host}-${dead.stdout.trim()}-0badc0de`), { recursive: true });
    await writeFile(path.join(root, `dist/.function.zip.${dead.stdout.trim()}.0badc0de.tmp`), 'half a zip');
    run.child.kill('SIGKILL');
    await run.exited;
    expect(temporaries(path.join(root, 'dist')).length + temporaries(path.join(root, '.lambda-cd')).length).toBeGreaterThan(0);
    const next = await packageRepo(root);
    expect(next.exitCode, next.stderr).toBe(0);
    expect(next.stderr).toContain('no pip run');
    expect([...temporaries(path.join(root, 'dist')), ...temporaries(path.join(root, '.lambda-cd'))]).toEqual([]);
  });
});

describe('bad input and a bad environment end in one line with the right exit code', () => {
  it('exit 2 naming the file: a src/ name that is not UTF-8, an unreadable or cyclic requirements file, a VCS requirement', async () => {
    const latin1 = await makeRepo({ 'requirements.txt': '' });
    await writeFile(Buffer.concat([Buffer.from(path.join(latin1, 'src/caf')), Buffer.from([0xe9]), Buffer.from('.py')]), 'X = 1\n');
    const name = await packageRepo(latin1);
    expect(name.exitCode).toBe(2);
    expect(errorLines(name)).toEqual(["lambda-cd: error: src/caf\\xe9.py: a file name that is not UTF-8, which a zip for Lambda cannot hold; rename it"]);

    const folder = await makeRepo();
    await rm(path.join(folder, 'requirements.txt'));
    await mkdir(path.join(folder, 'requirements.txt'));
    const unreadable = await packageRepo(folder);
    expect(unreadable.exitCode).toBe(2);
    expect(errorLines(unreadable)).toEqual([`lambda-cd: error: ${path.join(folder, 'requirements.txt')}: expected a regular file, found a folder`]);
    const dangling = await makeRepo();
    await rm(path.join(dangling, 'requirements.txt'));
    await symlink(path.join(dangling, 'nowhere.txt'), path.join(dangling, 'requirements.txt'));
    expect(errorLines(await packageRepo(dangling))).toEqual([`lambda-cd: error: ${path.join(dangling, 'requirements.txt')}: no such file`]);

    const cycle = await packageRepo(await makeRepo({ 'requirements.txt': 'purelib\n-r requirements.txt\n' }));
    expect(cycle.exitCode).toBe(2);
    expect(errorLines(cycle)).toEqual([expect.stringMatching(/requirements\.txt line 2: includes itself \(\S*requirements\.txt -> \S*requirements\.txt\); remove the -r\/-c line that closes the cycle$/)]);

    for (const line of ['git+https://github.com/psf/requests.git@v2.31.0#egg=requests', 'requests @ git+https://github.com/psf/requests.git', '-e git+https://example.invalid/r.git#egg=r']) {
      const vcs = await packageRepo(await makeRepo({ 'requirements.txt': `purelib\n${line}\n` }));
      expect(vcs.exitCode).toBe(2);
      expect(errorLines(vcs)).toEqual([expect.stringMatching(/^lambda-cd: error: requirements\.txt line 2: .*: a VCS requirement is built from source; VCS requirements need --allow-sdist \(pure Python only\) or a wheel/)]);
    }
  });

  it('exit 3 with the cause when the cache folder cannot be used, for package, unit-test and create-cf', async () => {
    const blocker = path.join(await tempDir('lambda-cd-blocked-'), 'a-file');
    await writeFile(blocker, '');
    const cacheDir = path.join(blocker, 'cache');
    const pkg = await packageRepo(await makeRepo({ 'requirements.txt': 'purelib\n' }), ['--cache-dir', cacheDir]);
    expect(pkg.exitCode).toBe(3);
    expect(errorLines(pkg)).toEqual([`lambda-cd: error: ${cacheDir}: cannot use the cache folder: part of the path is a file, not a folder (--cache-dir / LAMBDA_CD_CACHE_DIR choose another)`]);

    const tests = await makeRepo({ 'config/config.yaml': 'Name: Demo\nHandler: app.handler\nUnittests: tests\n', 'tests/test_a.py': 'print("ok")\n', 'tests/requirements.txt': 'purelib\n' });
    const unit = await runCli(['unit-test', '--path', tests, '--cache-dir', cacheDir], { env: offlinePipEnv(wheelhouse) });
    expect(unit.exitCode).toBe(3);
    // The same words as package's (lib/atomic.ts cacheFailure), naming the folder the user chose.
    expect(errorLines(unit)).toEqual([`lambda-cd: error: ${cacheDir}: cannot use the cache folder: part of the path is a file, not a folder (--cache-dir / LAMBDA_CD_CACHE_DIR choose another)`]);

    const stages = await makeRepo({ 'config/PROD/iam.py': 'from troposphere.iam import Role\n\ndef get_iam(ref_name):\n    return Role(ref_name)\n' });
    const cf = await runCli(['create-cf', '--path', stages, '--stack', 'Pipe', '--cache-dir', cacheDir], { env: offlinePipEnv(wheelhouse) });
    expect(cf.exitCode).toBe(3);
    expect(errorLines(cf)).toEqual([expect.stringContaining(`${cacheDir}: cannot use the cache folder: part of the path is a file, not a folder`)]);
  });

  it('exit 3 on a read-only or full cache file system (where this machine lets us mount one)', async () => {
    const mountPoint = await tempDir('lambda-cd-mnt-');
    const mounted = await execa('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mountPoint], { reject: false });
    if (mounted.exitCode !== 0) return; // no privilege to mount here: the ENOTDIR case above covers the path
    try {
      const big = await tempDir('lambda-cd-bigwheel-');
      await buildWheel(big, { name: 'bigfile', version: '1.0', files: { 'bigfile/data.bin': randomBytes(200_000) } });
      const root = await makeRepo({ 'requirements.txt': 'bigfile\n' });
      const full = await runCli(['package', '--path', root, '--cache-dir', path.join(mountPoint, 'cache')], { env: offlinePipEnv(big) });
      expect(full.exitCode).toBe(3);
      expect(errorLines(full)).toEqual([expect.stringMatching(/cannot use the cache folder: no space left on the device/)]);
      expect(temporaries(mountPoint)).toEqual([]);
      await execa('mount', ['-o', 'remount,ro', mountPoint]);
      const readOnly = await runCli(['package', '--path', root, '--cache-dir', path.join(mountPoint, 'cache')], { env: offlinePipEnv(big) });
      expect(readOnly.exitCode).toBe(3);
      expect(errorLines(readOnly)).toEqual([expect.stringMatching(/cannot use the cache folder: read-only file system/)]);
      // The test requirements' cache says it in the same words.
      const tests = await makeRepo({ 'config/config.yaml': 'Name: Demo\nHandler: app.handler\nUnittests: tests\n', 'tests/test_a.py': 'print("ok")\n', 'tests/requirements.txt': 'bigfile\n' });
      const unit = await runCli(['unit-test', '--path', tests, '--cache-dir', path.join(mountPoint, 'cache')], { env: offlinePipEnv(big) });
      expect(unit.exitCode).toBe(3);
      expect(errorLines(unit)).toEqual([`lambda-cd: error: ${path.join(mountPoint, 'cache')}: cannot use the cache folder: read-only file system (--cache-dir / LAMBDA_CD_CACHE_DIR choose another)`]);
    } finally {
      await execa('umount', [mountPoint], { reject: false });
    }
  });

  it('names the --index-url written in requirements.txt when it cannot be reached (exit 3)', async () => {
    const root = await makeRepo({ 'requirements.txt': '--index-url http://user:s3cret@127.0.0.1:9/simple\npurelib\n' });
    const result = await runCli(['package', '--path', root], { env: { PIP_CONFIG_FILE: '/dev/null', PIP_FIND_LINKS: '', PIP_RETRIES: '0', PIP_TIMEOUT: '1' } });
    expect(result.exitCode).toBe(3);
    expect(errorLines(result)).toEqual([expect.stringMatching(/pip could not reach http:\/\/127\.0\.0\.1:9\/simple\/purelib\/ \(connection error\) \(the index given in requirements\.txt line 1\) while looking for purelib/)]);
    expect(result.stderr).not.toContain('s3cret');
  });

  it('"Could not find a version that satisfies" is the requirement\'s problem when an index answered, even after connection retries to another', () => {
    const retries = "WARNING: Retrying (Retry(total=0)) after connection broken by 'NewConnectionError(... Failed to establish a new connection: [Errno -2] Name or service not known)': /simple/requests/\n";
    const answered = `${retries}ERROR: Could not find a version that satisfies the requirement requests==9.9 (from versions: 2.18.4, 2.31.0)\nERROR: No matching distribution found for requests==9.9\n`;
    expect(pipFailure(answered, 'tests/requirements.txt')).toMatchObject({ exitCode: 2, message: expect.stringMatching(/^tests\/requirements\.txt: Could not find a version that satisfies the requirement requests==9\.9 \(from versions: 2\.18\.4, 2\.31\.0\)/) });
    const unreachable = `${retries}ERROR: Could not find a version that satisfies the requirement requests (from versions: none)\nERROR: No matching distribution found for requests\n`;
    expect(pipFailure(unreachable, 'tests/requirements.txt')).toMatchObject({ exitCode: 3, message: expect.stringMatching(/^pip could not reach the package index/) });
    const nothingOffered = 'ERROR: Could not find a version that satisfies the requirement nosuch (from versions: none)\nERROR: No matching distribution found for nosuch\n';
    expect(pipFailure(nothingOffered, 'tests/requirements.txt')).toMatchObject({ exitCode: 2 });
    const conflict = `${retries}ERROR: Cannot install a and b because these package versions have conflicting dependencies.\nERROR: ResolutionImpossible: for help visit https://pip.pypa.io\n`;
    expect(pipFailure(conflict, 'requirements.txt')).toMatchObject({ exitCode: 2 });
    expect(pipFailure("ERROR: Could not install packages due to an OSError: HTTPSConnectionPool(host='x', port=443): Max retries exceeded\n", 'r.txt')).toMatchObject({ exitCode: 3 });
  });
});
