import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, readdir, readFile, rename, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli, type CliResult } from './helpers/cli.js';
import { copyExample, makeRepo, tempDir, writeFiles } from './helpers/repo.js';
import { buildExampleWheels, buildWheel, offlinePipEnv } from './helpers/wheels.js';
import { explainNoCompatibleWheel, lambdaPlatformTags, tagsCompatible, expandTags } from '../lib/wheel-tags.js';

/** Reads a zip back with Python's zipfile: name -> {mode, date, content}. */
const ZIP_READER = `
import sys, json, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    print(json.dumps({i.filename: {"mode": oct(i.external_attr >> 16), "date": list(i.date_time),
        "content": z.read(i).decode("utf-8", "replace") if not i.is_dir() else None} for i in z.infolist()}))
`;
type ZipListing = Record<string, { mode: string; date: number[]; content: string | null }>;
async function readZip(file: string): Promise<ZipListing> {
  return JSON.parse((await execa('python3', ['-c', ZIP_READER, file])).stdout) as ZipListing;
}
const sha256 = async (file: string) => createHash('sha256').update(await readFile(file)).digest('hex');

const FASTCALC_TAGS = ['cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64', 'cp312-cp312-manylinux_2_28_aarch64', 'cp312-cp312-musllinux_1_2_x86_64', 'cp312-cp312-linux_x86_64'];
let wheelhouse: string;

beforeAll(async () => {
  wheelhouse = await tempDir('lambda-cd-wheels-');
  await buildWheel(wheelhouse, { name: 'purelib', version: '1.0', files: { 'purelib/__init__.py': 'NAME = "purelib"\n' } });
  for (const tag of FASTCALC_TAGS) {
    await buildWheel(wheelhouse, { name: 'fastcalc', version: '1.0', tag, files: { 'fastcalc/__init__.py': `BUILT_FOR = ${JSON.stringify(tag)}\n` }, requires: ['purelib'] });
  }
  await buildWheel(wheelhouse, { name: 'muslonly', version: '1.0', tag: 'cp312-cp312-musllinux_1_2_x86_64', files: { 'muslonly/__init__.py': '' } });
  await buildWheel(wheelhouse, { name: 'muslonly', version: '1.0', tag: 'cp312-cp312-linux_x86_64', files: { 'muslonly/__init__.py': '' } });
  await buildWheel(wheelhouse, { name: 'newglibc', version: '1.0', tag: 'cp311-cp311-manylinux_2_28_x86_64', files: { 'newglibc/__init__.py': '' } });
  await writeFile(path.join(wheelhouse, 'sdistonly-1.0.tar.gz'), 'not opened: pip skips sdists with --only-binary');
  await buildWheel(wheelhouse, { name: 'bigdata', version: '1.0', files: { 'bigdata/__init__.py': '', 'bigdata/table.txt': 'x'.repeat(20_000) } });
});

const functionRepo = (requirements: string, config = '', extra: Record<string, string> = {}) =>
  makeRepo({ 'config/config.yaml': `Name: Demo\nHandler: app.handler\n${config}`, 'requirements.txt': requirements, ...extra });
const packageRepo = (root: string, args: string[] = [], env: Record<string, string> = {}): Promise<CliResult> =>
  runCli(['package', '--path', root, ...args], { env: { ...offlinePipEnv(wheelhouse), ...env } });

describe('lambda-cd package', () => {
  it('installs the manylinux x86_64 wheel for x86_64 and the aarch64 one for arm64, never musllinux or linux_*', async () => {
    for (const [architecture, expected] of [['x86_64', FASTCALC_TAGS[0]], ['arm64', FASTCALC_TAGS[1]]] as const) {
      const root = await functionRepo('fastcalc==1.0\n', `Architecture: ${architecture}\n`);
      const result = await packageRepo(root, ['--json']);
      expect(result.exitCode, result.stderr).toBe(0);
      const zip = await readZip(path.join(root, 'dist/function.zip'));
      expect(zip['fastcalc/__init__.py']!.content).toBe(`BUILT_FOR = ${JSON.stringify(expected)}\n`);
      const manifest = JSON.parse(result.stdout);
      expect(manifest).toMatchObject({ runtime: 'python3.12', architecture, fileCount: expect.any(Number), sha256: await sha256(path.join(root, 'dist/function.zip')) });
      expect(manifest.distributions).toEqual([
        { name: 'fastcalc', version: '1.0', wheelTag: expected },
        { name: 'purelib', version: '1.0', wheelTag: 'py3-none-any' },
      ]);
      expect(JSON.parse(await readFile(path.join(root, 'dist/function.zip.manifest.json'), 'utf8'))).toEqual(manifest);
    }
  });

  it('names the requirement and says why no wheel fits (exit 2), leaving no zip behind', async () => {
    const cases: [string, string, RegExp][] = [
      ['muslonly==1.0', '', /requirements\.txt: muslonly==1\.0: no wheel Lambda can load \(python3\.12, x86_64\): only linux_x86_64, musllinux_1_2_x86_64 wheels, which Lambda cannot load/],
      ['newglibc', 'Runtime: python3.11\n', /newglibc: .*need glibc 2\.28 or newer, but python3\.11 runs on glibc 2\.26/],
      ['sdistonly', '', /sdistonly: .*only a source distribution \(sdist\) is offered, no wheel \(--allow-sdist builds it if it is pure Python\)/],
      ['nosuchthing', '', /nosuchthing: .*offer no file for it/],
    ];
    for (const [requirement, config, message] of cases) {
      const root = await functionRepo(`${requirement}\n`, config);
      const result = await packageRepo(root);
      expect(result.exitCode, result.stderr).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split('\n').filter((line) => line.includes('error:'))).toHaveLength(1);
      expect(existsSync(path.join(root, 'dist'))).toBe(false);
    }
  });

  it('judges environment markers for the Lambda runtime and architecture, not for the build host', async () => {
    // pip alone would judge these for the interpreter running it (pypa/pip#11664).
    await buildWheel(wheelhouse, { name: 'armdep', version: '1.0', files: { 'armdep/__init__.py': '' } });
    await buildWheel(wheelhouse, { name: 'olddep', version: '1.0', files: { 'olddep/__init__.py': '' } });
    await buildWheel(wheelhouse, { name: 'newdep', version: '1.0', files: { 'newdep/__init__.py': '' } });
    await buildWheel(wheelhouse, { name: 'markerdemo', version: '1.0', files: { 'markerdemo/__init__.py': '' }, requires: ['armdep; platform_machine == "aarch64"', 'olddep; python_version < "3.12"'] });
    const requirements = 'markerdemo==1.0\nnewdep; python_version >= "3.12" and sys_platform == "linux"\n';
    for (const [config, expected] of [
      ['Runtime: python3.12\nArchitecture: x86_64\n', ['markerdemo', 'newdep']],
      ['Runtime: python3.12\nArchitecture: arm64\n', ['armdep', 'markerdemo', 'newdep']],
      ['Runtime: python3.11\nArchitecture: x86_64\n', ['markerdemo', 'olddep']],
    ] as const) {
      const result = await packageRepo(await functionRepo(requirements, config), ['--json']);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout).distributions.map((d: { name: string }) => d.name), config).toEqual(expected);
    }
  });

  it('reads local paths in requirements.txt from the repository and --find-links from where the user stands', async () => {
    const root = await functionRepo('-r requirements-base.txt\n', '', {
      'requirements-base.txt': './vendor/purelib-1.0-py3-none-any.whl\nfastcalc==1.0\n',
      'json.py': 'raise SystemExit("a module in the repository root must not shadow the one pip imports")\n',
    });
    await mkdir(path.join(root, 'vendor'));
    await copyFile(path.join(wheelhouse, 'purelib-1.0-py3-none-any.whl'), path.join(root, 'vendor/purelib-1.0-py3-none-any.whl'));
    const result = await runCli(['package', '--path', root, '--find-links', path.basename(wheelhouse), '--json'],
      { cwd: path.dirname(wheelhouse), env: { ...offlinePipEnv(wheelhouse), PIP_FIND_LINKS: undefined } });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).distributions.map((d: { name: string }) => d.name)).toEqual(['fastcalc', 'purelib']);
    expect(result.stderr).toContain('installing requirements.txt (2 requirements)');
  });

  it('re-checks the tags in each installed WHEEL file, whatever the file name claimed', async () => {
    const liars = await tempDir('lambda-cd-liars-');
    const built = await buildWheel(liars, { name: 'liar', version: '1.0', tag: 'cp312-cp312-linux_x86_64', files: { 'liar/__init__.py': '' } });
    await rename(built, path.join(liars, 'liar-1.0-cp312-cp312-manylinux_2_17_x86_64.whl'));
    const root = await functionRepo('liar\n');
    const result = await runCli(['package', '--path', root], { env: offlinePipEnv(liars) });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/requirements\.txt: liar 1\.0: the installed wheel \(cp312-cp312-linux_x86_64\) does not load on Lambda \(python3\.12, x86_64\): only linux_x86_64 wheels/);
  });

  it('judges the files a package index offers (not only find-links) when none fits the architecture', async () => {
    const index = await tempDir('lambda-cd-index-');
    const wheel = await buildWheel(path.join(index, 'files'), { name: 'x86only', version: '1.0', tag: 'cp312-cp312-manylinux_2_17_x86_64', files: { 'x86only/__init__.py': '' } });
    await writeFiles(index, { 'simple/x86only/index.html': `<html><body><a href="../../files/${path.basename(wheel)}#sha256=${await sha256(wheel)}">${path.basename(wheel)}</a></body></html>\n` });
    const root = await functionRepo('x86only\n', 'Architecture: arm64\n');
    const result = await runCli(['package', '--path', root, '--index-url', `file://${index}/simple`], { env: { PIP_CONFIG_FILE: '/dev/null', PIP_FIND_LINKS: '' } });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('lambda-cd: error: requirements.txt: x86only: no wheel Lambda can load (python3.12, arm64): no wheel for arm64 (aarch64); wheels exist only for x86_64');
  });

  it('reports an unreachable index as an environment failure (exit 3), without credentials', async () => {
    const root = await functionRepo('purelib\n');
    const env = { PIP_CONFIG_FILE: '/dev/null', PIP_FIND_LINKS: '', PIP_RETRIES: '0', PIP_TIMEOUT: '1' };
    const result = await runCli(['package', '--path', root, '--index-url', 'http://user:s3cret@127.0.0.1:9/simple'], { env });
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toMatch(/pip could not reach http:\/\/127\.0\.0\.1:9\/simple\/purelib\/ \(connection error\) while looking for purelib/);
    expect(result.stderr).not.toContain('s3cret');
  });

  it('says when a wheel exists only for the other architecture', () => {
    const target = { pythonVersion: '3.12', glibcMinor: 34, architecture: 'arm64' as const };
    expect(explainNoCompatibleWheel(['fast-1.0-cp312-cp312-manylinux_2_17_x86_64.whl'], target, 'python3.12')).toBe('no wheel for arm64 (aarch64); wheels exist only for x86_64');
    expect(explainNoCompatibleWheel(['fast-1.0-cp311-cp311-manylinux_2_17_aarch64.whl'], target, 'python3.12')).toBe('no wheel for CPython 3.12; wheels exist for cp311-cp311');
    expect(tagsCompatible(expandTags('cp38-abi3-manylinux2014_aarch64'), target)).toBe(true);
    expect(lambdaPlatformTags(target)).toEqual([...Array.from({ length: 18 }, (_, i) => `manylinux_2_${34 - i}_aarch64`), 'manylinux2014_aarch64']);
    expect(lambdaPlatformTags({ ...target, architecture: 'x86_64', glibcMinor: 26 })).toContain('manylinux1_x86_64');
  });

  it('packs src/ and the installed packages at the zip root with normalized modes and nothing else', async () => {
    const root = await functionRepo('purelib\n', '', {
      'src/lib/helper.py': 'X = 1\n',
      'src/run.sh': '#!/bin/sh\n',
      'src/__pycache__/app.cpython-312.pyc': 'bytecode',
      'src/requirements.txt': 'nothing\n',
      'src/.git/HEAD': 'ref\n',
      'tests/unittests/requirements.txt': 'pytest\n',
    });
    await chmod(path.join(root, 'src/run.sh'), 0o700);
    await chmod(path.join(root, 'src/app.py'), 0o600);
    const result = await packageRepo(root);
    expect(result.exitCode, result.stderr).toBe(0);
    const zipPath = path.join(root, 'dist/function.zip');
    expect(result.stdout).toBe(`${zipPath}\nsha256 ${await sha256(zipPath)}`);
    const zip = await readZip(zipPath);
    expect(Object.keys(zip)).toEqual([
      'app.py', 'lib/', 'lib/helper.py', 'purelib-1.0.dist-info/', 'purelib-1.0.dist-info/INSTALLER', 'purelib-1.0.dist-info/METADATA',
      'purelib-1.0.dist-info/RECORD', 'purelib-1.0.dist-info/REQUESTED', 'purelib-1.0.dist-info/WHEEL', 'purelib/', 'purelib/__init__.py', 'run.sh',
    ]);
    expect(zip['app.py']!.mode).toBe('0o100644');
    expect(zip['run.sh']!.mode).toBe('0o100755');
    expect(zip['lib/']!.mode).toBe('0o40755');
    expect(new Set(Object.values(zip).map((entry) => entry.date.join('-')))).toEqual(new Set(['1980-1-1-0-0-0']));
    expect(result.stderr).toMatch(/\[package\] zipping 9 files \(.*\): 3 from src\/, 6 installed/);
  });

  it('compresses a large file in parallel chunks that read back intact', async () => {
    const root = await functionRepo('');
    const large = Buffer.alloc(6 * 1024 * 1024 + 12345);
    let seed = 7;
    for (let i = 0; i < large.length; i++) large[i] = i % 3 === 0 ? (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff : i & 0x3f;
    await writeFile(path.join(root, 'src/model.bin'), large);
    const result = await packageRepo(root);
    expect(result.exitCode, result.stderr).toBe(0);
    const check = 'import sys, zipfile, hashlib\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\ni = z.getinfo("model.bin")\nprint(hashlib.sha256(z.read(i)).hexdigest(), i.compress_type, i.compress_size < i.file_size)';
    const { stdout } = await execa('python3', ['-c', check, path.join(root, 'dist/function.zip')]);
    expect(stdout).toBe(`${createHash('sha256').update(large).digest('hex')} 8 True`);
  });

  it('gives byte-identical zips for the same inputs, whatever the umask, mtimes or cache state', async () => {
    const build = async (umask: string, mtime: Date) => {
      const root = await functionRepo('fastcalc==1.0\n', '', { 'src/lib/a.py': 'A = 1\n', 'src/lib/b.py': 'B = 2\n' });
      for (const file of ['src/app.py', 'src/lib/a.py', 'src/lib/b.py']) await utimes(path.join(root, file), mtime, mtime);
      const run = () => execa('sh', ['-c', `umask ${umask} && exec "$0" "$@"`, process.execPath, CLI, 'package', '--path', root], { env: { NO_COLOR: '1', ...offlinePipEnv(wheelhouse) }, reject: false });
      const cold = await run();
      expect(cold.exitCode, cold.stderr).toBe(0);
      const first = await sha256(path.join(root, 'dist/function.zip'));
      const warm = await run();
      expect(warm.stderr).toContain('no pip run');
      expect(await sha256(path.join(root, 'dist/function.zip'))).toBe(first);
      return first;
    };
    const relaxed = await build('022', new Date('2001-02-03T04:05:06Z'));
    const strict = await build('077', new Date('2024-06-07T08:09:10Z'));
    expect(strict).toBe(relaxed);
  });

  it('reuses the installed requirements when only src/ changes, and reinstalls when requirements or architecture change', async () => {
    const ownWheels = await tempDir('lambda-cd-own-wheels-');
    await buildWheel(ownWheels, { name: 'purelib', version: '1.0', files: { 'purelib/__init__.py': '' } });
    await buildWheel(ownWheels, { name: 'bigdata', version: '1.0', files: { 'bigdata/__init__.py': '' } });
    await buildWheel(ownWheels, { name: 'purelib', version: '1.0', tag: 'cp312-cp312-manylinux_2_17_aarch64', files: { 'purelib/__init__.py': '' } });
    const root = await functionRepo('purelib\n');
    const env = { PIP_FIND_LINKS: ownWheels };
    const cold = await packageRepo(root, [], env);
    expect(cold.exitCode, cold.stderr).toBe(0);
    expect(cold.stderr).toContain('resolving and installing');
    await writeFile(path.join(root, 'src/app.py'), 'def handler(event, context):\n    return 2\n');
    await rm(path.join(ownWheels, 'purelib-1.0-py3-none-any.whl')); // pip could not install it again
    const reused = await packageRepo(root, [], env);
    expect(reused.exitCode, reused.stderr).toBe(0);
    expect(reused.stderr).toContain('no pip run');
    expect((await readZip(path.join(root, 'dist/function.zip')))['app.py']!.content).toContain('return 2');

    // lambda-cd's own resolver made the entry: no pip version matters to it.
    const [entry] = await readdir(path.join(root, '.lambda-cd/cache/package'));
    const indexFile = path.join(root, '.lambda-cd/cache/package', entry!, 'index.json');
    expect(JSON.parse(await readFile(indexFile, 'utf8'))).toMatchObject({ resolver: 'lambda-cd', pip: '' });
    await writeFile(indexFile, (await readFile(indexFile, 'utf8')).replace(/"pip":"[^"]*"/, '"pip":"0.1 3.0"'));
    expect((await packageRepo(root, [], env)).stderr).toContain('no pip run');
    // An entry made by another pip version is rebuilt (pip runs and fails: its wheel is gone).
    await writeFile(indexFile, (await readFile(indexFile, 'utf8')).replace(/"resolver":"lambda-cd"/, '"resolver":"pip"'));
    const stale = await packageRepo(root, [], env);
    expect(stale.stderr).toContain('resolving and installing');
    expect(stale.exitCode).toBe(2);
    await buildWheel(ownWheels, { name: 'purelib', version: '1.0', files: { 'purelib/__init__.py': '' } });
    expect((await packageRepo(root, [], env)).exitCode).toBe(0);
    await rm(path.join(ownWheels, 'purelib-1.0-py3-none-any.whl'));

    await writeFile(path.join(root, 'requirements.txt'), 'purelib\nbigdata\n');
    const changed = await packageRepo(root, [], env);
    expect(changed.stderr).toContain('resolving and installing');
    expect(changed.exitCode).toBe(2); // purelib's wheel is gone: pip really ran

    await writeFile(path.join(root, 'requirements.txt'), 'purelib\n');
    await writeFile(path.join(root, 'config/config.yaml'), 'Name: Demo\nHandler: app.handler\nArchitecture: arm64\n');
    const arm = await packageRepo(root, ['--json'], env);
    expect(arm.stderr).toContain('resolving and installing');
    expect(JSON.parse(arm.stdout).distributions).toEqual([{ name: 'purelib', version: '1.0', wheelTag: 'cp312-cp312-manylinux_2_17_aarch64' }]);
  });

  it('fails over the unzipped limit listing the largest packages, and warns over the zipped one', async () => {
    const root = await functionRepo('bigdata\npurelib\n');
    const tooBig = await packageRepo(root, [], { LAMBDA_CD_MAX_UNZIPPED_BYTES: '10000' });
    expect(tooBig.exitCode).toBe(1);
    expect(tooBig.stderr).toMatch(/would be 2\d\.\d KB unzipped, over Lambda's limit of 9\.8 KB .*largest: bigdata 1\.0 2\d\.\d KB, purelib 1\.0 \d+ B, src\/ \(your code\) \d+ B/);
    expect(existsSync(path.join(root, 'dist/function.zip'))).toBe(false);

    const warned = await packageRepo(root, [], { LAMBDA_CD_WARN_ZIP_BYTES: '500' });
    expect(warned.exitCode, warned.stderr).toBe(0);
    expect(warned.stderr).toMatch(/warning: \S*dist\/function\.zip is .*too large for direct upload.*largest: bigdata 1\.0/);
  });

  it('removes the zip and manifest of an earlier run when a later one fails', async () => {
    const root = await functionRepo('purelib\n');
    expect((await packageRepo(root)).exitCode).toBe(0);
    expect(existsSync(path.join(root, 'dist/function.zip.manifest.json'))).toBe(true);
    await writeFile(path.join(root, 'requirements.txt'), 'muslonly\n');
    expect((await packageRepo(root)).exitCode).toBe(2);
    expect(existsSync(path.join(root, 'dist/function.zip'))).toBe(false);
    expect(existsSync(path.join(root, 'dist/function.zip.manifest.json'))).toBe(false);
    // --out naming a folder: one line that says so, and the folder is left alone.
    await writeFile(path.join(root, 'requirements.txt'), 'purelib\n');
    const intoFolder = await packageRepo(root, ['--out', path.join(root, 'src')]);
    expect(intoFolder.exitCode).toBe(3);
    expect(intoFolder.stderr).toMatch(/error: \S*src: cannot write the output here: a folder of that name is in the way$/);
    expect(existsSync(path.join(root, 'src/app.py'))).toBe(true);
  });

  it('refuses a src/ symlink leading outside the repository, naming it', async () => {
    const outside = await tempDir('lambda-cd-outside-');
    await writeFiles(outside, { 'secret.txt': 'secret\n' });
    const root = await functionRepo('');
    await symlink(path.join(outside, 'secret.txt'), path.join(root, 'src/secret.txt'));
    await symlink(path.join(root, 'config'), path.join(root, 'src/config-link'));
    const result = await packageRepo(root);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/src\/secret\.txt: a symlink that leads outside the repository/);
  });

  it('installs hash-pinned requirements in hash-checking mode', async () => {
    const wheel = path.join(wheelhouse, 'purelib-1.0-py3-none-any.whl');
    const good = await functionRepo(`purelib==1.0 --hash=sha256:${await sha256(wheel)}\n`);
    const ok = await packageRepo(good);
    expect(ok.exitCode, ok.stderr).toBe(0);
    const bad = await functionRepo(`purelib==1.0 --hash=sha256:${'0'.repeat(64)}\n`);
    const refused = await packageRepo(bad);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/requirements\.txt: THESE PACKAGES DO NOT MATCH THE HASHES/);
  });

  it('packages the example repository', async () => {
    const example = await copyExample();
    const examples = await tempDir('lambda-cd-example-wheels-');
    await buildExampleWheels(examples);
    const result = await runCli(['package', '--path', example, '--out', path.join(example, 'out/f.zip')], { env: offlinePipEnv(examples) });
    expect(result.exitCode, result.stderr).toBe(0);
    const zip = await readZip(path.join(example, 'out/f.zip'));
    expect(zip).toHaveProperty(['app.py']);
    expect(zip).toHaveProperty(['dateutil/parser.py']);
    expect(Object.keys(zip).some((name) => name.startsWith('tests') || name.startsWith('config'))).toBe(false);
    expect((await stat(path.join(example, 'out/f.zip.manifest.json'))).isFile()).toBe(true);
  });
});

/** An sdist built by an in-tree backend (no build tools from an index needed) producing a wheel with `tag`. */
async function buildSdist(folder: string, name: string, tag: string): Promise<void> {
  const backend = `
import os, zipfile
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = "${name}-1.0-${tag}.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as z:
        z.writestr("${name}/__init__.py", "FROM_SDIST = True\\n")
        z.writestr("${name}-1.0.dist-info/METADATA", "Metadata-Version: 2.1\\nName: ${name}\\nVersion: 1.0\\n")
        z.writestr("${name}-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\nTag: ${tag}\\n")
        z.writestr("${name}-1.0.dist-info/RECORD", "")
    return name
`;
  const script = `
import io, sys, tarfile
files = {"pyproject.toml": '[build-system]\\nrequires = []\\nbuild-backend = "backend"\\nbackend-path = ["."]\\n',
         "PKG-INFO": "Metadata-Version: 2.1\\nName: ${name}\\nVersion: 1.0\\n", "backend.py": sys.stdin.read()}
with tarfile.open(sys.argv[1], "w:gz") as tar:
    for path, text in files.items():
        data = text.encode()
        info = tarfile.TarInfo("${name}-1.0/" + path)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
`;
  await execa('python3', ['-c', script, path.join(folder, `${name}-1.0.tar.gz`)], { input: backend });
}

describe('lambda-cd package --allow-sdist', () => {
  it('builds a pure-Python sdist, and refuses one whose build is not pure', async () => {
    const sdists = await tempDir('lambda-cd-sdists-');
    await buildSdist(sdists, 'puresrc', 'py3-none-any');
    await buildSdist(sdists, 'nativesrc', 'cp311-cp311-linux_x86_64');
    const pure = await functionRepo('puresrc\n');
    const refused = await runCli(['package', '--path', pure], { env: offlinePipEnv(sdists) });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/puresrc: .*only a source distribution .*--allow-sdist/);
    const built = await runCli(['package', '--path', pure, '--allow-sdist', '--json'], { env: offlinePipEnv(sdists) });
    expect(built.exitCode, built.stderr).toBe(0);
    expect(JSON.parse(built.stdout).distributions).toEqual([{ name: 'puresrc', version: '1.0', wheelTag: 'py3-none-any' }]);
    expect((await readZip(path.join(pure, 'dist/function.zip')))['puresrc/__init__.py']!.content).toBe('FROM_SDIST = True\n');

    const native = await functionRepo('nativesrc\n');
    const notPure = await runCli(['package', '--path', native, '--allow-sdist'], { env: offlinePipEnv(sdists) });
    expect(notPure.exitCode).toBe(2);
    expect(notPure.stderr).toMatch(/requirements\.txt: nativesrc: built from its sdist \(--allow-sdist\), but the result is not pure Python \(cp311-cp311-linux_x86_64\)/);
    expect(existsSync(path.join(native, 'dist/function.zip'))).toBe(false);
  });
});
