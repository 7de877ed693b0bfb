import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { copyExample, makeRepo, tempDir } from './helpers/repo.js';
import { buildExampleWheels, buildWheel, offlinePipEnv } from './helpers/wheels.js';

let pipEnv: Record<string, string>;
let wheelhouse: string;
beforeAll(async () => {
  wheelhouse = await tempDir('lambda-cd-wheels-');
  await buildExampleWheels(wheelhouse);
  await buildWheel(wheelhouse, { name: 'greetlib', version: '1.0', files: { 'greetlib/__init__.py': 'def greet(name):\n    return f"hi {name}"\n' } });
  pipEnv = offlinePipEnv(wheelhouse);
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
    expect(result.stdout).toMatch(/==== PASS tests\/unittests\/test_handler\.py \(\d+ ms\)/);
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

  it('an empty test folder is exit 2 with a hint', async () => {
    const root = await makeRepo({ 'tests/unittests/requirements.txt': '' });
    const result = await unitTest(root);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/tests\/unittests\/: no test files found .*add a test file/);
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
    const first = await unitTest(root);
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toContain(path.join(root, '.lambda-cd/cache/pip-test'));
    const second = await unitTest(root);
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
    expect((await run()).exitCode).toBe(1);
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
