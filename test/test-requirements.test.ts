/**
 * What unit-test installs for the tests, through the CLI: each requirements file in its own pip
 * run (the function's first on PYTHONPATH, then the SDK its Runtime carries, then the tests'),
 * a cache keyed by everything local the files name and verified before reuse, and the right
 * exit code when the package index cannot be reached. pip sees only wheels built here.
 */
import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli } from './helpers/cli.js';
import { closedPort, startIndex } from './helpers/index-server.js';
import { makeRepo, tempDir } from './helpers/repo.js';
import { buildSdkWheels, buildWheel, offlinePipEnv } from './helpers/wheels.js';
import { RUNTIME_SDK } from '../lib/runtime-sdk.js';
import { RUNTIMES } from '../lib/runtimes.js';

let wheelhouse: string;
let pipEnv: Record<string, string | undefined>;
/** This machine's python3: its minor version, full version and glibc minor. */
let host: { minor: string; version: string; glibc: number };
/** The machine's CPU as wheel tags name it. */
const MACHINE = process.arch === 'arm64' ? 'aarch64' : 'x86_64';

const valueModule = (name: string, value: string) => ({ [`${name}/__init__.py`]: `VALUE = ${JSON.stringify(value)}\n` });

beforeAll(async () => {
  wheelhouse = await tempDir('lambda-cd-wheels-');
  await buildSdkWheels(wheelhouse);
  await buildSdkWheels(wheelhouse, RUNTIME_SDK['python3.11']);
  await buildSdkWheels(wheelhouse, RUNTIME_SDK['python3.13']);
  await buildSdkWheels(wheelhouse, { boto3: '1.20.32', botocore: '1.23.32' });
  await Promise.all([
    buildWheel(wheelhouse, { name: 'greetlib', version: '1.0', files: valueModule('greetlib', 'greetlib 1.0') }),
    buildWheel(wheelhouse, { name: 'requests', version: '2.18.4', files: { 'requests/__init__.py': '__version__ = "2.18.4"\n' }, requires: ['urllib3<1.23,>=1.21.1'] }),
    buildWheel(wheelhouse, { name: 'requests', version: '2.32.3', files: { 'requests/__init__.py': '__version__ = "2.32.3"\n' }, requires: ['urllib3<3,>=1.21.1'] }),
    buildWheel(wheelhouse, { name: 'urllib3', version: '1.22', files: { 'urllib3/__init__.py': '__version__ = "1.22"\n' } }),
    // moto as 2018 tests list it, unpinned: its dependencies want newer versions than an old pin.
    buildWheel(wheelhouse, { name: 'moto', version: '5.0.0', files: { 'moto/__init__.py': 'import requests, boto3\n__version__ = "5.0.0"\n' }, requires: ['requests>=2.30', 'boto3>=1.9.201'] }),
  ]);
  host = JSON.parse((await execa('python3', ['-c', 'import json, os, platform, sys; print(json.dumps({"minor": "%d.%d" % sys.version_info[:2], "version": platform.python_version(), "glibc": int(os.confstr("CS_GNU_LIBC_VERSION").split(".")[1])}))'])).stdout);
  // One release built twice: for Lambda's old glibc (2.17) and for this machine's newer one.
  const abi = `cp${host.minor.replace('.', '')}`;
  await buildWheel(wheelhouse, { name: 'fastlib', version: '1.0', tag: `${abi}-${abi}-manylinux_2_17_${MACHINE}`, files: valueModule('fastlib', 'manylinux_2_17') });
  await buildWheel(wheelhouse, { name: 'fastlib', version: '1.0', tag: `${abi}-${abi}-manylinux_2_${host.glibc}_${MACHINE}`, files: valueModule('fastlib', 'for this machine') });
  pipEnv = { ...offlinePipEnv(wheelhouse), LAMBDA_CD_CACHE_DIR: await tempDir('lambda-cd-cache-') };
});

function unitTest(root: string, env: Record<string, string | undefined> = {}, ...args: string[]) {
  return runCli(['unit-test', '--path', root, ...args], { env: { ...pipEnv, ...env } });
}

/** Every line lambda-cd warned, without the prefix. */
function warnings(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('lambda-cd: warning: ')).map((line) => line.slice('lambda-cd: warning: '.length));
}

describe('unit-test: two installs, as in 2018', () => {
  it('an old pin beside an unpinned test tool that wants newer versions installs, warns naming the conflict, and the tests import the pinned version', async () => {
    const root = await makeRepo({
      'config/config.yaml': 'Name: Demo\nHandler: app.handler\nRuntime: python3.11\n',
      'requirements.txt': 'requests==2.18.4\n',
      'tests/unittests/requirements.txt': 'moto\n',
      'tests/unittests/test_versions.py': 'import requests, moto, urllib3\nprint("requests", requests.__version__, "urllib3", urllib3.__version__, "moto", moto.__version__)\n',
    });
    const result = await unitTest(root);
    expect(result.exitCode, result.stderr).toBe(0);
    // The function's pins come first on PYTHONPATH, as they ship in the zip.
    expect(result.stdout).toContain('requests 2.18.4 urllib3 1.22 moto 5.0.0');
    expect(warnings(result.stderr)).toContain('tests/unittests/requirements.txt: moto 5.0.0 requires requests>=2.30, but the tests import requests 2.18.4 from requirements.txt (installed separately and first on PYTHONPATH, as it ships)');
    // Variant: the old pin's urllib3 also shadows the one botocore (Lambda's SDK) wants.
    expect(warnings(result.stderr)).toContain('boto3 and botocore as python3.11 carries them: botocore 1.29.90 requires urllib3<3,>=1.25.4, but the tests import urllib3 1.22 from requirements.txt (installed separately and first on PYTHONPATH, as it ships)');

    // The warnings are part of the cached result: a reuse says them again.
    const again = await unitTest(root);
    expect(again.stderr).toMatch(/test requirements unchanged \(requirements\.txt, tests\/unittests\/requirements\.txt\): reusing/);
    expect(warnings(again.stderr).filter((line) => line.includes('moto 5.0.0 requires'))).toHaveLength(1);
  });
});

describe("unit-test: Lambda's SDK in the tests", () => {
  it('gives the tests boto3 and botocore at the versions the Runtime carries, before the test requirements on PYTHONPATH', async () => {
    const test = 'import boto3, botocore, moto\nprint("sdk", boto3.__version__, botocore.__version__)\n';
    const root = await makeRepo({ 'config/config.yaml': 'Name: Demo\nHandler: app.handler\nRuntime: python3.13\n', 'tests/unittests/requirements.txt': 'moto\n', 'tests/unittests/test_sdk.py': test });
    const result = await unitTest(root);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain('sdk 1.34.145 1.34.145');
    expect(result.stderr).toContain('installing boto3 1.34.145 and botocore 1.34.145 for the tests, as python3.13 carries them');

    await writeFile(path.join(root, 'config/config.yaml'), 'Name: Demo\nHandler: app.handler\nRuntime: python3.11\n');
    const older = await unitTest(root);
    expect(older.exitCode, older.stderr).toBe(0);
    // moto brought the newest boto3 (1.34.145) into the test requirements' folder; the runtime's comes first.
    expect(older.stdout).toContain('sdk 1.26.90 1.29.90');
  });

  it('a repository whose requirements name boto3 gets its own; an SDK the index lacks falls back to the newest, with a warning', async () => {
    const own = await makeRepo({ 'tests/unittests/requirements.txt': 'boto3==1.20.32\n', 'tests/unittests/test_sdk.py': 'import boto3\nprint("sdk", boto3.__version__)\n' });
    const result = await unitTest(own);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain('sdk 1.20.32');
    expect(result.stderr).not.toContain('as python3.12 carries them');

    // A wheelhouse (a private mirror, say) without python3.12's boto3 1.28.72.
    const mirror = await tempDir('lambda-cd-mirror-');
    await buildSdkWheels(mirror, { boto3: '1.40.0', botocore: '1.40.0' });
    const root = await makeRepo({ 'tests/unittests/test_sdk.py': 'import boto3\nprint("sdk", boto3.__version__)\n' });
    const fallback = await unitTest(root, { ...offlinePipEnv(mirror), LAMBDA_CD_CACHE_DIR: await tempDir() });
    expect(fallback.exitCode, fallback.stderr).toBe(0);
    expect(fallback.stdout).toContain('sdk 1.40.0');
    expect(warnings(fallback.stderr)).toContain('python3.12 carries boto3 1.28.72 and botocore 1.31.72, but the package index has no boto3==1.28.72: the tests get boto3 1.40.0 and botocore 1.40.0 instead (name boto3 in the test requirements to choose)');

    // No boto3 anywhere: the run still passes, and says what the tests import.
    const empty = { ...offlinePipEnv(await tempDir()), LAMBDA_CD_CACHE_DIR: await tempDir() };
    const nothing = await unitTest(root, empty);
    expect(nothing.exitCode, nothing.stderr).toBe(0);
    expect(warnings(nothing.stderr).join('\n')).toMatch(/boto3 1\.28\.72 and botocore 1\.31\.72 \(as python3\.12 carries them\) could not be installed for the tests: the package index offers no boto3; they import (boto3 \S+ and botocore \S+ from python3|no boto3 \(add it to the test requirements if they use it\))/);
    // Remembered for a day, then asked again.
    expect((await unitTest(root, empty)).stderr).not.toContain('installing boto3');
    const pipTest = path.join(empty.LAMBDA_CD_CACHE_DIR, 'pip-test');
    const recordFile = path.join(pipTest, (await readdir(pipTest)).find((name) => name.startsWith('sdk-'))!, '.lambda-cd-install.json');
    await writeFile(recordFile, JSON.stringify({ ...JSON.parse(await readFile(recordFile, 'utf8')), retryAfter: new Date(Date.now() - 1000).toISOString() }));
    expect((await unitTest(root, empty)).stderr).toContain('installing boto3 1.28.72 and botocore 1.31.72 for the tests');
  });
});

describe("unit-test: tests on the Runtime's Python", () => {
  it("on the same CPython minor and glibc, the function's requirements are the wheels that ship (for Lambda's glibc); another Python warns", async () => {
    const runtime = `python${host.minor}`;
    const lambdaGlibc = RUNTIMES[runtime]?.glibcMinor;
    if (lambdaGlibc === undefined || host.glibc <= lambdaGlibc) return; // nothing tells the two builds apart here
    const root = await makeRepo({ 'config/config.yaml': `Name: Demo\nHandler: app.handler\nRuntime: ${runtime}\n`, 'requirements.txt': 'fastlib==1.0\n', 'tests/unittests/test_fast.py': 'import fastlib\nprint("fastlib", fastlib.VALUE)\n' });
    const result = await unitTest(root);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain('fastlib manylinux_2_17');
    expect(result.stderr).toContain(`requirements.txt: wheels for Lambda's platform (manylinux up to glibc 2.${lambdaGlibc}, ${MACHINE}), as package installs them`);
    expect(result.stderr).not.toContain('the tests run on Python');

    // Another Runtime than this Python: a warning, and this machine's wheels.
    const other = host.minor === '3.11' ? 'python3.12' : 'python3.11';
    await writeFile(path.join(root, 'config/config.yaml'), `Name: Demo\nHandler: app.handler\nRuntime: ${other}\n`);
    const mismatch = await unitTest(root);
    expect(mismatch.exitCode, mismatch.stderr).toBe(0);
    expect(mismatch.stdout).toContain('fastlib for this machine');
    expect(warnings(mismatch.stderr)).toContain(`the tests run on Python ${host.version} (python3), but Runtime ${other} is Python ${other.slice(6)}: results may differ on Lambda; run them with --python ${other} (or in lambda-cd's image for ${other})`);
  });

  it('on musl (Alpine) it says once that Lambda\'s wheels cannot load there, and installs for the machine', async () => {
    // A musl interpreter, as lambda-cd and pip see it: no glibc version, libc_ver says musl.
    const fake = await tempDir('lambda-cd-musl-');
    await writeFile(path.join(fake, 'sitecustomize.py'), [
      'import os, platform',
      '_confstr = os.confstr',
      'def confstr(name):',
      '    if name == "CS_GNU_LIBC_VERSION":',
      '        raise ValueError("not glibc")',
      '    return _confstr(name)',
      'os.confstr = confstr',
      'platform.libc_ver = lambda *args, **kwargs: ("musl", "1.2.4")',
      '',
    ].join('\n'));
    const root = await makeRepo({
      'config/config.yaml': `Name: Demo\nHandler: app.handler\nRuntime: python${host.minor}\n`,
      'requirements.txt': 'greetlib==1.0\n',
      'tests/unittests/test_greet.py': 'import greetlib\nprint(greetlib.VALUE)\n',
    });
    const result = await unitTest(root, { PYTHONPATH: fake });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain('greetlib 1.0');
    const said = warnings(result.stderr).filter((line) => line.includes("Lambda's manylinux wheels cannot load"));
    expect(said).toEqual([`python3 runs on musl libc (Alpine), where Lambda's manylinux wheels cannot load: the tests get this machine's wheels of requirements.txt, not the ones that ship (package still installs those)`]);
    expect(result.stderr).not.toContain("wheels for Lambda's platform");
  });
});

describe('unit-test: the cache of test requirements', () => {
  it('reinstalls when a vendored wheel is rebuilt under the same name, and a new checkout folder reuses the cache', async () => {
    const root = await makeRepo({
      'requirements.txt': './vendor/mylib-1.0-py3-none-any.whl\n',
      'tests/unittests/test_mylib.py': 'import mylib\nprint("mylib says", mylib.VALUE)\n',
    });
    const vendor = path.join(root, 'vendor');
    await buildWheel(vendor, { name: 'mylib', version: '1.0', files: valueModule('mylib', 'old code') });
    const inRepository = (at: string) => runCli(['unit-test', '--path', at], { env: { ...pipEnv, LAMBDA_CD_CACHE_DIR: undefined } });
    expect((await inRepository(root)).stdout).toContain('mylib says old code');

    await buildWheel(vendor, { name: 'mylib', version: '1.0', files: valueModule('mylib', 'new code') });
    const rebuilt = await inRepository(root);
    expect(rebuilt.exitCode, rebuilt.stderr).toBe(0);
    expect(rebuilt.stderr).toContain('installing test requirements (requirements.txt)');
    expect(rebuilt.stdout).toContain('mylib says new code');

    // Variant: a wheel rebuilt under the same name in a --find-links folder outside the repository.
    const outside = await tempDir('lambda-cd-links-');
    await buildWheel(outside, { name: 'extlib', version: '1.0', files: valueModule('extlib', 'ext v1') });
    await writeFile(path.join(root, 'tests/unittests/requirements.txt'), 'extlib==1.0\n');
    await writeFile(path.join(root, 'tests/unittests/test_ext.py'), 'import extlib\nprint("extlib says", extlib.VALUE)\n');
    const withLinks = (at: string) => runCli(['unit-test', '--path', at, '--find-links', outside], { env: { ...pipEnv, LAMBDA_CD_CACHE_DIR: undefined } });
    expect((await withLinks(root)).stdout).toContain('extlib says ext v1');
    await buildWheel(outside, { name: 'extlib', version: '1.0', files: valueModule('extlib', 'ext v2') });
    expect((await withLinks(root)).stdout).toContain('extlib says ext v2');

    // CodeBuild checks out into a new folder every build and restores the cache into it.
    const moved = path.join(await tempDir(), 'checkout');
    await cp(root, moved, { recursive: true });
    const again = await withLinks(moved);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/test requirements unchanged \(requirements\.txt, tests\/unittests\/requirements\.txt\): reusing \S*checkout\/\.lambda-cd\/cache\/pip-test\//);
    expect(again.stdout).toContain('mylib says new code');
    expect(again.stdout).toContain('extlib says ext v2');
  });

  it("pip's configuration is part of the key: a changed pip.conf or PIP_* variable reinstalls", async () => {
    const root = await makeRepo({ 'tests/unittests/requirements.txt': 'greetlib==1.0\n', 'tests/unittests/test_greet.py': 'import greetlib\n' });
    const conf = path.join(await tempDir(), 'pip.conf');
    await writeFile(conf, `[global]\nno-index = true\nfind-links = ${wheelhouse}\n`);
    const env = { PIP_CONFIG_FILE: conf, PIP_NO_INDEX: undefined, PIP_FIND_LINKS: undefined };
    const first = await unitTest(root, env);
    expect(first.exitCode, first.stderr).toBe(0);
    expect((await unitTest(root, env)).stderr).toContain('test requirements unchanged');
    await writeFile(conf, `[global]\nno-index = true\nfind-links = ${wheelhouse}\nprefer-binary = true\n`);
    expect((await unitTest(root, env)).stderr).toContain('installing test requirements (tests/unittests/requirements.txt)');
    // Variant: a PIP_* variable.
    expect((await unitTest(root, { ...env, PIP_PRE: '1' })).stderr).toContain('installing test requirements (tests/unittests/requirements.txt)');
  });

  it('a cache entry that was changed, added to, truncated or left without its record is discarded with one line and reinstalled', async () => {
    const cache = await tempDir('lambda-cd-cache-');
    const root = await makeRepo({ 'tests/unittests/requirements.txt': 'greetlib==1.0\n', 'tests/unittests/test_greet.py': 'import greetlib, boto3\nprint(greetlib.VALUE, "boto3", boto3.__version__)\n' });
    const run = () => unitTest(root, { LAMBDA_CD_CACHE_DIR: cache });
    const cached = (stderr: string) => warnings(stderr).filter((line) => line.includes('cached packages not used')).sort();
    expect((await run()).exitCode).toBe(0);
    const entries = await readdir(path.join(cache, 'pip-test'));
    const entry = path.join(cache, 'pip-test', entries.find((name) => !name.startsWith('.') && !name.startsWith('sdk-'))!);
    const sdk = path.join(cache, 'pip-test', entries.find((name) => name.startsWith('sdk-'))!);
    const module = path.join(entry, '0/greetlib/__init__.py');

    // Same size, other bytes (only the hash tells); and an extra module, which on PYTHONPATH would shadow the standard library's.
    await writeFile(module, (await readFile(module, 'utf8')).replace('greetlib 1.0', 'TAMPERED 1.0'));
    await writeFile(path.join(sdk, 'site/json.py'), 'raise SystemExit("shadowed")\n');
    const changed = await run();
    expect(changed.exitCode, changed.stdout).toBe(0);
    expect(changed.stdout).toContain('greetlib 1.0 boto3 1.28.72');
    expect(cached(changed.stderr)).toEqual([
      expect.stringMatching(/^\S+pip-test\/[0-9a-f]{32}: cached packages not used: 0\/greetlib\/__init__\.py was changed; reinstalling$/),
      expect.stringMatching(/^\S+pip-test\/sdk-[0-9a-f]{32}: cached packages not used: site\/json\.py was added; reinstalling$/),
    ]);

    // What a killed run, an older lambda-cd or a truncated restore leaves: files without the record, a file cut short.
    await rm(path.join(entry, '.lambda-cd-install.json'));
    await writeFile(path.join(sdk, 'site/boto3/__init__.py'), '');
    const damaged = await run();
    expect(damaged.exitCode, damaged.stdout).toBe(0);
    expect(damaged.stdout).toContain('greetlib 1.0 boto3 1.28.72');
    expect(cached(damaged.stderr)).toEqual([
      expect.stringMatching(/[0-9a-f]{32}: cached packages not used: it has no install record \(an interrupted install, or an older lambda-cd\); reinstalling$/),
      expect.stringMatching(/sdk-[0-9a-f]{32}: cached packages not used: site\/boto3\/__init__\.py has 0 bytes instead of \d+; reinstalling$/),
    ]);
    expect(existsSync(path.join(entry, '.lambda-cd-install.json'))).toBe(true);
    expect(cached((await run()).stderr)).toEqual([]);
  });
});

describe('unit-test: a package index that cannot be reached', () => {
  const noIndexEnv = (extra: Record<string, string | undefined> = {}) => ({ PIP_CONFIG_FILE: '/dev/null', PIP_NO_INDEX: undefined, PIP_FIND_LINKS: undefined, PIP_RETRIES: '0', PIP_TIMEOUT: '5', ...extra });

  it('is exit 3 naming the --index-url written in requirements.txt; an index that lacks a project stays exit 2', async () => {
    const port = await closedPort();
    const root = await makeRepo({ 'requirements.txt': `--index-url http://127.0.0.1:${port}/simple\ngreetlib==1.0\n`, 'tests/unittests/test_a.py': '' });
    const result = await unitTest(root, noIndexEnv());
    expect(result.exitCode, result.stderr).toBe(3);
    expect(result.stderr.trim().split('\n').pop()).toMatch(new RegExp(`^lambda-cd: error: requirements\\.txt: pip could not reach the package index http://127\\.0\\.0\\.1:${port}/simple \\(\\S*requirements\\.txt line 1\\): connection refused; check the URL, the network and any proxy$`));

    // Variants: an index given with --index-url that answers 503; one in PIP_INDEX_URL that is gone.
    const down = await startIndex(wheelhouse, { status: 503 });
    try {
      const tests = await makeRepo({ 'tests/unittests/requirements.txt': 'greetlib==1.0\n', 'tests/unittests/test_a.py': '' });
      const failing = await unitTest(tests, noIndexEnv(), '--index-url', down.url);
      expect(failing.exitCode, failing.stderr).toBe(3);
      expect(failing.stderr).toContain(`error: tests/unittests/requirements.txt: pip could not reach the package index ${down.url} (--index-url): it answered HTTP 503`);
      const gone = await unitTest(tests, noIndexEnv({ PIP_INDEX_URL: `http://127.0.0.1:${port}/simple` }));
      expect(gone.exitCode).toBe(3);
      expect(gone.stderr).toContain(`pip could not reach the package index http://127.0.0.1:${port}/simple (PIP_INDEX_URL): connection refused`);
    } finally {
      await down.close();
    }

    const index = await startIndex(wheelhouse);
    try {
      const typo = await makeRepo({ 'tests/unittests/requirements.txt': 'greetlibb==1.0\n', 'tests/unittests/test_a.py': '' });
      const missing = await unitTest(typo, noIndexEnv({ PIP_INDEX_URL: index.url }));
      expect(missing.exitCode, missing.stderr).toBe(2);
      expect(missing.stderr).toMatch(/error: tests\/unittests\/requirements\.txt: .*No matching distribution found for greetlibb==1\.0/);
    } finally {
      await index.close();
    }
  });

  it('a slow install reports that it is still going, with what pip is doing', async () => {
    let release!: () => void;
    const index = await startIndex(wheelhouse, { hold: new Promise<void>((resolve) => (release = resolve)) });
    try {
      const root = await makeRepo({ 'tests/unittests/requirements.txt': 'greetlib==1.0\n', 'tests/unittests/test_a.py': 'import greetlib\n' });
      const child = execa(process.execPath, [CLI, 'unit-test', '--path', root], {
        env: { ...pipEnv, ...noIndexEnv({ PIP_INDEX_URL: index.url }), NO_COLOR: '1', LAMBDA_CD_HEARTBEAT_SECONDS: '1' },
        reject: false,
      });
      let stderr = '';
      const beat = /\[unit-test\] still installing tests\/unittests\/requirements\.txt \(\d+ s\)(: Collecting greetlib==1\.0)?/;
      child.stderr!.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        // The index answers only once the heartbeat was seen: no timing assumption.
        if (beat.test(stderr)) release();
      });
      const result = await child;
      expect(result.exitCode, stderr).toBe(0);
      expect(stderr).toMatch(beat);
    } finally {
      release();
      await index.close();
    }
  });
});
