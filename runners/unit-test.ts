/**
 * `lambda-cd unit-test`: installs the function's requirements and the tests' own, each in its
 * own pip run (the function's first on PYTHONPATH, plus the AWS SDK its Runtime carries), into
 * an isolated cached folder, then runs every unit test file (see lib/test-execution.ts). No
 * unit tests is not an error: the run says so and passes.
 */
import path from 'node:path';
import type { RepositoryConfig } from '../lib/contract.js';
import { discoverTestFiles, nothingToRun, nothingToRunReason, runSuite, type SuiteRun, type TestRunOptions } from '../lib/test-execution.js';
import { installTestRequirements } from '../lib/test-requirements.js';

export interface UnitTestOptions extends TestRunOptions {
  repository: RepositoryConfig;
}
export type UnitTestResult = SuiteRun;

export async function runUnitTest(options: UnitTestOptions): Promise<UnitTestResult> {
  const { repository } = options;
  const suite = repository.unittests;
  const files = suite ? discoverTestFiles(repository.root, suite) : [];
  const nothing = nothingToRunReason(suite, files, 'unit');
  if (nothing !== undefined || !suite) return nothingToRun('unit-tests', options.reportPath, nothing!);
  const requirements = await installTestRequirements({
    python: options.python,
    requirementFiles: [path.join(repository.root, 'requirements.txt'), path.join(suite.absoluteFolder, 'requirements.txt')],
    cacheDir: options.cacheDir,
    pip: options.pip,
    cwd: repository.root,
    step: 'unit-test',
    lambda: { runtime: repository.runtime, functionFirst: true },
  });
  return runSuite({
    suiteName: 'unit-tests',
    step: 'unit-test',
    root: repository.root,
    files,
    runner: suite.runner,
    python: options.python,
    args: [],
    env: {},
    pythonPath: [path.join(repository.root, 'src'), ...requirements.dirs],
    jobs: options.jobs,
    timeoutSeconds: options.timeoutSeconds,
    reportPath: options.reportPath,
    blocks: options.blocks ?? process.stdout,
  });
}
