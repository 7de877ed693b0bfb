/**
 * How a Python test file runs: `python3 FILE` (Runner: script), pytest or unittest, with src/
 * and the installed requirements on PYTHONPATH (installed by test-requirements.ts).
 */
import type { TestRunner } from '../../lib/contract.js';
import { ConfigError } from '../../lib/errors.js';
import { run } from '../../lib/exec.js';
import { prependPythonPath } from '../../lib/python.js';
import { judgeExit, type Invocation, type TestLauncher, type TestProcessResult } from '../../lib/test-execution.js';
import path from 'node:path';


/** pytest and unittest exit 5 when a file holds no tests: that file is skipped, not failed. */
const NO_TESTS_EXIT = 5;

export function pythonLauncher(runner: TestRunner, python: string, pythonPath: string[]): TestLauncher {
  return {
    runner,
    program: python,
    environment: (extra) => ({ ...process.env, ...extra, PYTHONPATH: prependPythonPath(pythonPath), PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' }),
    invocation: (file, extraArgs, scratch, index) => invocation(runner, file, extraArgs, scratch, index),
    judge: (result) => judge(runner, result),
    check: (env) => checkFramework(runner, python, env, "the test folder's requirements.txt"),
  };
}

/** How one file runs under each runner: a bare script, pytest, or unittest. */
function invocation(runner: TestRunner, file: string, extraArgs: string[], scratch: string, index: number): Invocation {
  switch (runner) {
    // The frameworks take no extra arguments: their tests read FUNCTION_ARN from the environment.
    case 'pytest': {
      const junitFile = path.join(scratch, `${index}.xml`);
      return { args: ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', `--junitxml=${junitFile}`, '-o', `junit_suite_name=${file}`, file], junitFile };
    }
    case 'unittest': {
      const dir = path.posix.dirname(file);
      return { args: ['-m', 'unittest', 'discover', '-v', '-s', dir, '-t', dir, '-p', path.posix.basename(file)] };
    }
    default:
      return { args: [file, ...extraArgs] };
  }
}

function judge(runner: TestRunner, result: TestProcessResult): ReturnType<TestLauncher['judge']> {
  // unittest before Python 3.12 exits 0 when a file holds no tests.
  if (result.exitCode === 0 && runner === 'unittest' && /^Ran 0 tests in /m.test(result.output)) return { status: 'skipped', detail: 'no tests in file' };
  if (runner !== 'script' && result.exitCode === NO_TESTS_EXIT) return { status: 'skipped', detail: 'no tests in file' };
  return judgeExit(result);
}

/** The runner must import pytest (from the interpreter or the installed requirements). */
async function checkFramework(runner: TestRunner, python: string, env: NodeJS.ProcessEnv, requirements: string): Promise<void> {
  if (runner !== 'pytest') return;
  const probe = await run(python, ['-c', 'import pytest'], { env });
  if (probe.exitCode !== 0) {
    throw new ConfigError(`Runner pytest: pytest cannot be imported by ${python}; add pytest to ${requirements}`);
  }
}
