import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { copyExample, makeRepo, tempDir } from './helpers/repo.js';
import { buildExampleWheels, buildWheel, offlinePipEnv } from './helpers/wheels.js';

let pipEnv: Record<string, string | undefined>;
let wheelhouse: string;
beforeAll(async () => {
  wheelhouse = await tempDir('lambda-cd-wheels-');
  await buildExampleWheels(wheelhouse);
  await buildWheel(wheelhouse, { name: 'greetlib', version: '1.0', files: { 'greetlib/__init__.py': 'def greet(name):\n    return f"hi {name}"\n' } });
  // One cache for the file: the SDK the runtime carries installs once, not once per test.
  pipEnv = { ...offlinePipEnv(wheelhouse), LAMBDA_CD_CACHE_DIR: await tempDir('lambda-cd-cache-') };
});

function unitTest(root: string, ...args: string[]) {
  return runCli(['unit-test', '--path', root, ...args], { env: pipEnv });
}

/** The JUnit report read back with a real XML parser (Python's), as counts and cases. */
async function readReport(file: string) {
  const script = `
import json, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
cases = [{"name": c.get("name"), "failure": (c.find("failure").get("message") + "|" + (c.find("failure").text or "")) if c.find("failure") is not None else None, "skipped": c.find("skipped") is not None} for c in root.iter("testcase")]
print(json.dumps({"tag": root.tag, "tests": int(root.get("tests")), "failures": int(root.get("failures")), "skipped": int(root.get("skipped")), "suites": [s.tag for s in root], "cases": cases}))
`;
  const { stdout } = await execa('python3', ['-c', script, file]);
  return JSON.parse(stdout) as { tag: string; tests: number; failures: number; skipped: number; suites: string[]; cases: { name: string; failure: string | null; skipped: boolean }[] };
}

const reportOf = (root: string) => path.join(root, '.lambda-cd/reports/unit-tests.xml');

describe('unit-test', () => {
  it('runs the bundled example (its requirement from a local wheel) and passes', async () => {
    const root = await copyExample();
    const result = await unitTest(root);
    expect(result.stderr).toContain('installing test requirements');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/==== PASS tests\/unittests\/test_handler\.py \((\d+ ms|\d+(\.\d+)? s)\)/);
    expect(result.stdout).toMatch(/\n2 passed, 0 failed$/);
  });

  it('runs every file after a failure, exits 1, and reports counts in a JUnit file that parses', async () => {
    const root = await makeRepo({
      'tests/unittests/test_a.py': 'print("a ok")\n',
      'tests/unittests/test_b.py': 'import sys\nprint("b says <oops> & \\x01 bad")\nsys.exit(3)\n',
      'tests/unittests/test_c.py': 'import sys\nprint("c ok", file=sys.stderr)\n',
      'tests/unittests/helpers.txt': 'not a test',
    });
    const result = await unitTest(root, '--jobs', '1');
    expect(result.exitCode).toBe(1);
    // Sorted by name, one at a time: a, b, c.
    const headers = [...result.stdout.matchAll(/==== (PASS|FAIL) (\S+)/g)].map((m) => `${m[1]} ${path.basename(m[2]!)}`);
    expect(headers).toEqual(['PASS test_a.py', 'FAIL test_b.py', 'PASS test_c.py']);
    expect(result.stdout).toContain('c ok'); // stderr is shown too
    expect(result.stdout).toContain('Failed:\n  tests/unittests/test_b.py (exit 3)');
    expect(result.stdout).toMatch(/\n2 passed, 1 failed$/);

    const report = await readReport(reportOf(root));
    expect(report).toMatchObject({ tag: 'testsuites', tests: 3, failures: 1, skipped: 0, suites: ['testsuite'] });
    const failed = report.cases.find((c) => c.failure)!;
    expect(failed.name).toBe('tests/unittests/test_b.py');
    expect(failed.failure).toContain('exit 3|');
    expect(failed.failure).toContain('b says <oops> &'); // escaped in the file, read back intact
  });

  it('runs exactly the listed Files; a listed file that does not exist is exit 2', async () => {
    const root = await makeRepo({
      'config/config.yaml': 'Name: Demo\nHandler: app.handler\nUnittests:\n  Folder: tests/unittests\n  Files: [test_two.py]\n',
      'tests/unittests/test_one.py': 'raise SystemExit(1)\n',
      'tests/unittests/test_two.py': 'print("two")\n',
    });
    const listed = await unitTest(root);
    expect(listed.exitCode).toBe(0);
    expect(listed.stdout).not.toContain('test_one.py');
    expect(listed.stdout).toMatch(/1 passed, 0 failed/);

    const missing = await makeRepo({
      'config/config.yaml': 'Name: Demo\nHandler: app.handler\nUnittests:\n  Folder: tests/unittests\n  Files: [test_gone.py]\n',
      'tests/unittests/test_one.py': '',
    });
    const result = await unitTest(missing);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('Unittests.Files: expected tests/unittests/test_gone.py to exist');
  });

  it('no unit tests is not an error: nothing configured, or a folder without test files, passes with a report that says so', async () => {
    const none = await makeRepo();
    const result = await unitTest(none);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout.trim().split('\n').pop()).toBe('no unit tests configured: nothing to run');
    expect(result.stderr).not.toContain('installing'); // nothing to run, nothing to install
    const report = readFileSync(reportOf(none), 'utf8');
    expect(report).toContain('<property name="lambda-cd.note" value="no unit tests configured: nothing to run"/>');
    expect(await readReport(reportOf(none))).toMatchObject({ tag: 'testsuites', tests: 0, failures: 0, suites: ['testsuite'] });

    // The folder exists (2018's `Unittests: folder`), with helpers and requirements but no *.py directly in it.
    const empty = await makeRepo({ 'config/config.yaml': 'Name: Demo\nHandler: app.handler\nUnittests: tests/unit\n', 'tests/unit/requirements.txt': 'greetlib==1.0\n', 'tests/unit/data/sample.py': '' });
    const emptyRun = await unitTest(empty, '--json');
    expect(emptyRun.exitCode, emptyRun.stderr).toBe(0);
    expect(JSON.parse(emptyRun.stdout)).toMatchObject({ suite: 'unit-tests', result: 'nothing to run', exitCode: 0, message: 'no unit tests in tests/unit/ (no *.py files in it): nothing to run', passed: 0, failed: 0, cases: [] });
    expect(readFileSync(reportOf(empty), 'utf8')).toContain('no unit tests in tests/unit/');
  });

  it('a test folder the config names that does not exist stays exit 2, and leaves no report', async () => {
    const root = await makeRepo({ 'config/config.yaml': 'Name: Demo\nHandler: app.handler\nUnittests: {Folder: tests/gone, Runner: pytest}\n' });
    const result = await unitTest(root);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('Unittests: expected the test folder "tests/gone" to exist, found nothing there');
    expect(existsSync(reportOf(root))).toBe(false);
  });

  it('stops a hung test and its child processes at --timeout and counts it as failed', async () => {
    const root = await makeRepo({
      'tests/unittests/test_hangs.py': [
        'import subprocess, time',
        'child = subprocess.Popen(["sleep", "60"])',
        'open("child.pid", "w").write(str(child.pid))',
        'print("started", flush=True)',
        'time.sleep(60)',
        '',
      ].join('\n'),
      'tests/unittests/test_quick.py': 'print("quick")\n',
    });
    const started = Date.now();
    const result = await unitTest(root, '--timeout', '1');
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/==== FAIL tests\/unittests\/test_hangs\.py \([\d.]+ s, timed out after 1 s/);
    expect(result.stdout).toContain('started');
    expect(result.stdout).toMatch(/1 passed, 1 failed/);
    const childPid = Number(readFileSync(path.join(root, 'child.pid'), 'utf8'));
    // The grandchild is gone too (at most a zombie waiting for init to reap it).
    const state = existsSync(`/proc/${childPid}/stat`) ? readFileSync(`/proc/${childPid}/stat`, 'utf8').split(') ')[1]![0] : 'gone';
    expect(['gone', 'Z', 'X']).toContain(state);
  });

  it('installs the test folder requirements isolated and cached, never into site-packages', async () => {
    const root = await makeRepo({
      'tests/unittests/requirements.txt': 'greetlib==1.0\n',
      'tests/unittests/test_greet.py': 'import greetlib, app\nassert greetlib.greet("x") == "hi x"\nassert app.handler({}, None) == {"ok": True}\nprint(greetlib.__file__)\n',
    });
    const inRepository = (...args: string[]) => runCli(['unit-test', '--path', root, ...args], { env: { ...pipEnv, LAMBDA_CD_CACHE_DIR: undefined } });
    const first = await inRepository();
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toContain(path.join(root, '.lambda-cd/cache/pip-test'));
    const second = await inRepository();
    expect(second.exitCode).toBe(0);
    expect(second.stderr).toMatch(/test requirements unchanged .*: reusing/);
    const outside = await execa('python3', ['-c', 'import greetlib'], { reject: false });
    expect(outside.exitCode).not.toBe(0);
  });

  it('reinstalls when a file included with -r changes; a relative --find-links is relative to where the user stands', async () => {
    const root = await makeRepo({
      'tests/unittests/requirements.txt': '-r base.txt\n',
      'tests/unittests/base.txt': '# nothing yet\n',
      'tests/unittests/test_greet.py': 'import greetlib\n',
    });
    const elsewhere = path.dirname(wheelhouse);
    const run = () => runCli(['unit-test', '--path', root, '--find-links', path.basename(wheelhouse)], { cwd: elsewhere, env: { ...pipEnv, PIP_FIND_LINKS: undefined } });
    const first = await run();
    expect(first.exitCode, first.stderr).toBe(1);
    await writeFile(path.join(root, 'tests/unittests/base.txt'), 'greetlib==1.0\n');
    const second = await run();
    expect(second.stderr).toContain('installing test requirements');
    expect(second.exitCode, second.stderr).toBe(0);
  });

  it('installs a hash-pinned requirements.txt in hash-checking mode beside test requirements without pins', async () => {
    const wheel = readFileSync(path.join(wheelhouse, 'greetlib-1.0-py3-none-any.whl'));
    const pin = (digest: string) => `greetlib==1.0 --hash=sha256:${digest}\n`;
    const root = await makeRepo({
      'requirements.txt': pin(createHash('sha256').update(wheel).digest('hex')),
      'tests/unittests/requirements.txt': 'python-dateutil==2.9.0.post0\n',
      'tests/unittests/test_both.py': 'import greetlib, dateutil\n',
    });
    const result = await unitTest(root);
    expect(result.exitCode, result.stderr).toBe(0);
    await writeFile(path.join(root, 'requirements.txt'), pin('0'.repeat(64)));
    const tampered = await unitTest(root);
    expect(tampered.exitCode).toBe(2);
    expect(tampered.stderr).toMatch(/error: \S*requirements\.txt: THESE PACKAGES DO NOT MATCH THE HASHES/);
  });

  it('a test requirement that no index offers is a configuration error (exit 2) naming it', async () => {
    const root = await makeRepo({ 'tests/unittests/requirements.txt': 'greetlibb==1.0\n', 'tests/unittests/test_a.py': '' });
    const result = await unitTest(root);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/error: .*tests\/unittests\/requirements\.txt: .*No matching distribution found for greetlibb==1\.0$/);
  });

  it('shows the output of parallel files as whole blocks, never interleaved', async () => {
    const writer = (tag: string) => `import time\nfor i in range(5):\n    print("${tag}", i, flush=True)\n    time.sleep(0.05)\n`;
    const root = await makeRepo({ 'tests/unittests/test_x.py': writer('x'), 'tests/unittests/test_y.py': writer('y'), 'tests/unittests/test_z.py': writer('z') });
    const result = await unitTest(root, '--jobs', '3');
    expect(result.exitCode).toBe(0);
    for (const tag of ['x', 'y', 'z']) {
      const block = [0, 1, 2, 3, 4].map((i) => `${tag} ${i}`).join('\n');
      expect(result.stdout).toContain(`test_${tag}.py (`);
      expect(result.stdout).toContain(`)\n${block}\n`);
    }
  });

  it('Runner: pytest runs pytest and puts its test cases in the report; a file without tests is skipped', async () => {
    const root = await makeRepo({
      'config/config.yaml': 'Name: Demo\nHandler: app.handler\nUnittests: {Folder: tests/unittests, Runner: pytest}\n',
      'tests/unittests/test_math.py': 'def test_add():\n    assert 1 + 1 == 2\n\ndef test_wrong():\n    assert 1 + 1 == 3\n',
      'tests/unittests/test_nothing.py': 'X = 1\n',
    });
    const result = await unitTest(root);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/==== SKIP tests\/unittests\/test_nothing\.py/);
    expect(result.stdout).toMatch(/\n1 passed, 1 failed, 1 skipped$/);
    const report = await readReport(reportOf(root));
    expect(report.cases.map((c) => c.name).sort()).toEqual(['test_add', 'test_wrong', 'tests/unittests/test_nothing.py']);
    expect(report).toMatchObject({ tests: 3, failures: 1, skipped: 1 });
  });

  it('--json prints each file with its status and duration, and pytest\'s own cases (failures, errors, skips) read from its JUnit file', async () => {
    const root = await makeRepo({
      'config/config.yaml': 'Name: Demo\nHandler: app.handler\nUnittests: {Folder: tests/unittests, Runner: pytest}\n',
      'tests/unittests/test_cases.py': [
        'import pytest',
        '@pytest.fixture',
        'def broken():',
        '    raise RuntimeError("no <database> & no luck")',
        'def test_ok():',
        '    print("captured <out>")',
        'def test_wrong():',
        '    assert 1 + 1 == 3, "arithmetic & <xml>"',
        'def test_setup(broken):',
        '    pass',
        '@pytest.mark.skip(reason="not today")',
        'def test_later():',
        '    pass',
        '',
      ].join('\n'),
      'tests/unittests/test_nothing.py': 'X = 1\n',
    });
    const result = await unitTest(root, '--json', '--jobs', '1');
    expect(result.exitCode).toBe(1);
    // stdout is the JSON alone; the blocks and the summary line moved to stderr.
    const summary = JSON.parse(result.stdout);
    expect(result.stderr).toMatch(/==== FAIL tests\/unittests\/test_cases\.py/);
    expect(result.stderr).toMatch(/\n1 passed, 2 failed, 2 skipped$/);
    expect(summary).toMatchObject({ command: 'unit-test', suite: 'unit-tests', result: 'failed', exitCode: 1, passed: 1, failed: 2, skipped: 2, runtime: 'python3.12', report: reportOf(root) });
    const [cases, nothing] = summary.cases;
    expect(nothing).toMatchObject({ kind: 'file', file: 'tests/unittests/test_nothing.py', status: 'skipped', detail: 'no tests in file' });
    expect(cases).toMatchObject({ kind: 'file', file: 'tests/unittests/test_cases.py', status: 'failed', detail: 'exit 1' });
    expect(typeof cases.durationMs).toBe('number');
    const framework = Object.fromEntries(cases.frameworkCases.map((c: { name: string }) => [c.name, c]));
    expect(framework.test_ok).toMatchObject({ classname: 'tests.unittests.test_cases', status: 'passed' });
    expect(framework.test_wrong.status).toBe('failed');
    expect(framework.test_wrong.message).toContain('arithmetic & <xml>');
    expect(framework.test_setup).toMatchObject({ status: 'failed' });
    expect(framework.test_setup.message).toMatch(/failed on setup/);
    expect(framework.test_later).toMatchObject({ status: 'skipped', message: 'not today' });

    // The report holds the same cases, written by our writer: it parses, with errors told apart from failures.
    const xml = readFileSync(reportOf(root), 'utf8');
    expect(xml).toMatch(/<testsuite name="unit-tests" tests="5" failures="1" errors="1" skipped="2"/);
    expect(xml).toContain('no &lt;database&gt; &amp; no luck');
    const report = await readReport(reportOf(root));
    expect(report.cases.map((c) => c.name).sort()).toEqual(['test_later', 'test_ok', 'test_setup', 'test_wrong', 'tests/unittests/test_nothing.py']);
  });

  it('--json with script files: every file, in order, and the summary counts', async () => {
    const root = await makeRepo({ 'tests/unittests/test_a.py': 'print("a")\n', 'tests/unittests/test_b.py': 'raise SystemExit(4)\n' });
    const result = await unitTest(root, '--json');
    expect(result.exitCode).toBe(1);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ result: 'failed', passed: 1, failed: 1, skipped: 0 });
    expect(summary.cases.map((c: { file: string; status: string; detail: string }) => [c.file, c.status, c.detail])).toEqual([
      ['tests/unittests/test_a.py', 'passed', 'exit 0'],
      ['tests/unittests/test_b.py', 'failed', 'exit 4'],
    ]);
    expect(summary.cases[0].frameworkCases).toBeUndefined();
  });

  it('--python given as a relative path is relative to where the user stands', async () => {
    const root = await makeRepo({ 'tests/unittests/test_a.py': 'import sys\nprint("ran by", sys.executable)\n' });
    const elsewhere = await tempDir();
    await mkdir(path.join(elsewhere, 'venv/bin'), { recursive: true });
    await symlink((await execa('python3', ['-c', 'import sys; print(sys.executable)'])).stdout, path.join(elsewhere, 'venv/bin/python'));
    const result = await runCli(['unit-test', '--path', root, '--python', 'venv/bin/python'], { cwd: elsewhere, env: pipEnv });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain('1 passed, 0 failed');
  });

  it('--report moves the JUnit file', async () => {
    const root = await makeRepo({ 'tests/unittests/test_a.py': '' });
    const report = path.join(await tempDir(), 'out', 'junit.xml');
    const result = await unitTest(root, '--report', report);
    expect(result.exitCode).toBe(0);
    expect((await readReport(report)).tests).toBe(1);
    const blocked = await unitTest(root, '--report', path.join(root, 'requirements.txt', 'junit.xml'));
    expect(blocked.exitCode).toBe(3);
    expect(blocked.stderr).toMatch(/error: \S*requirements\.txt\/junit\.xml: cannot write the output here: part of the path is a file, not a folder$/);
  });
});
