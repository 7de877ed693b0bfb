/**
 * `lambda-cd unit-test`: installs the function's and the tests' requirements into an isolated
 * cached folder, then runs every unit test file (see lib/test-execution.ts).
 */
import path from 'node:path';
import type { RepositoryConfig } from '../lib/contract.js';
import type { PipOptions } from '../lib/python.js';
import { discoverTestFiles, requireSuite, runSuite, type SuiteRun } from '../lib/test-execution.js';
import { installTestRequirements } from '../lib/test-requirements.js';

export interface UnitTestOptions { repository: RepositoryConfig; python: string; jobs: number; timeoutSeconds: number; reportPath: string; cacheDir: string; pip: PipOptions }
export type UnitTestResult = SuiteRun;

export async function runUnitTest(options: UnitTestOptions): Promise<UnitTestResult> {
  const { repository } = options;
  const suite = requireSuite(repository.unittests, 'Unittests', 'tests/unittests');
  const files = discoverTestFiles(repository.root, suite, 'Unittests');
  const requirements = await installTestRequirements({
    python: options.python,
    requirementFiles: [path.join(repository.root, 'requirements.txt'), path.join(suite.absoluteFolder, 'requirements.txt')],
    cacheDir: options.cacheDir,
    pip: options.pip,
    cwd: repository.root,
    step: 'unit-test',
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
  });
}
