/**
 * Children end with their parent (#12): a daemon a test file starts with setsid does not
 * outlive unit-test, a grandchild env.py forks does not hold create-cf open, and a stage
 * script's stdin is closed (reading it gives end-of-file, never a hang).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { makeRepo, tempDir } from './helpers/repo.js';
import { offlinePipEnv } from './helpers/wheels.js';

/** Whether `pid` still runs (a zombie waiting for its reaper does not). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX] /s.test(stat);
  } catch {
    return false;
  }
}

/** Waits (bounded) until `pid` no longer runs; SIGKILL was sent before lambda-cd exited, the kernel finishes it. */
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 50 && alive(pid); i++) await new Promise((resolve) => setTimeout(resolve, 100));
  return !alive(pid);
}

function readPid(file: string): number {
  expect(existsSync(file), `${file} was not written`).toBe(true);
  return Number(readFileSync(file, 'utf8').trim());
}

describe('test files: what they start ends with them', () => {
  const env = async () => offlinePipEnv(await tempDir('lambda-cd-wheels-'));

  it('a test file that starts `setsid sleep 300 &` (the issue\'s example): the daemon is ended when unit-test finishes', async () => {
    const pidFile = path.join(await tempDir(), 'daemon.pid');
    const root = await makeRepo({
      'tests/unittests/test_daemon.py': `import os\nos.system("setsid sh -c 'echo $$ > ${pidFile}; exec sleep 300' &")\nimport time\nwhile not os.path.exists(${JSON.stringify(pidFile)}) or not open(${JSON.stringify(pidFile)}).read().strip():\n    time.sleep(0.05)\nprint("started")\n`,
    });
    const result = await runCli(['unit-test', '--path', root], { env: await env() });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/==== PASS tests\/unittests\/test_daemon\.py/);
    expect(await gone(readPid(pidFile))).toBe(true);
  });

  it('variant: a test that times out, with a daemon that ignores SIGTERM and has left the session', async () => {
    const pidFile = path.join(await tempDir(), 'daemon.pid');
    const daemon = `import os, signal, time\nif os.fork() == 0:\n    os.setsid()\n    signal.signal(signal.SIGTERM, signal.SIG_IGN)\n    open(${JSON.stringify(pidFile)}, "w").write(str(os.getpid()))\n    time.sleep(300)\n    os._exit(0)\ntime.sleep(300)\n`;
    const root = await makeRepo({ 'tests/unittests/test_hang.py': daemon });
    const result = await runCli(['unit-test', '--path', root, '--timeout', '3'], { env: await env() });
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/==== FAIL tests\/unittests\/test_hang\.py \(.*timed out after 3 s/);
    expect(await gone(readPid(pidFile))).toBe(true);
  });
});

describe('stage scripts (env.py, iam.py): run through the same mechanism', () => {
  it('env.py that forks a sleeping grandchild: create-cf finishes and the grandchild is ended (the issue\'s example)', async () => {
    const pidFile = path.join(await tempDir(), 'grandchild.pid');
    const root = await makeRepo({
      'config/PROD/env.py': `import os, time\ndef get_env(stage):\n    pid = os.fork()\n    if pid == 0:\n        time.sleep(300)\n        os._exit(0)\n    open(${JSON.stringify(pidFile)}, "w").write(str(pid))\n    return {"FORKED": "yes"}\n`,
    });
    const result = await runCli(['create-cf', '--path', root, '--stack', 'Pipe']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(readFileSync(path.join(root, 'dist/stackPROD.json'), 'utf8')).Resources.Demo.Properties.Environment.Variables).toEqual({ FORKED: 'yes' });
    expect(await gone(readPid(pidFile))).toBe(true);
  });

  it('variant: iam.py whose grandchild starts a new session and double-forks', async () => {
    const pidFile = path.join(await tempDir(), 'daemon.pid');
    const root = await makeRepo({
      'config/PROD/iam.py': `import os, time\ndef get_iam(ref_name):\n    if os.fork() == 0:\n        os.setsid()\n        if os.fork() == 0:\n            open(${JSON.stringify(pidFile)}, "w").write(str(os.getpid()))\n            time.sleep(300)\n        os._exit(0)\n    while not os.path.exists(${JSON.stringify(pidFile)}):\n        time.sleep(0.05)\n    return {"Description": "forked"}\n`,
    });
    const result = await runCli(['create-cf', '--path', root, '--stack', 'Pipe']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(await gone(readPid(pidFile))).toBe(true);
  });

  it('stdin is closed: env.py that reads it gets end-of-file (exit 2 naming the file), not a hang', async () => {
    const root = await makeRepo({ 'config/PROD/env.py': 'def get_env():\n    return {"ANSWER": input("value? ")}\n' });
    const result = await runCli(['create-cf', '--path', root, '--stack', 'Pipe']);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^lambda-cd: error: .*config\/PROD\/env\.py:2: get_env\(\) raised EOFError: EOF when reading a line$/)]);
    expect(result.exitCode).toBe(2);
    // Variant: sys.stdin.read() returns at once, with nothing.
    const reads = await makeRepo({ 'config/PROD/env.py': 'import sys\ndef get_env():\n    return {"READ": str(len(sys.stdin.read()))}\n' });
    const ok = await runCli(['create-cf', '--path', reads, '--stack', 'Pipe']);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(JSON.parse(readFileSync(path.join(reads, 'dist/stackPROD.json'), 'utf8')).Resources.Demo.Properties.Environment.Variables).toEqual({ READ: '0' });
  });
});
