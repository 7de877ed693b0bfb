/**
 * `lambda-cd unit-test`: the language installs what the tests import, isolated and cached
 * (Python: the function's requirements and the tests' own, each in its own pip run, plus the AWS
 * SDK its Runtime carries; Node.js: npm ci with dev dependencies), then every unit test file runs
 * (see lib/test-execution.ts). No unit tests is not an error: the run says so and passes.
 */
import type { RepositoryConfig } from '../lib/contract.js';
import { nothingToRun, nothingToRunReason, runSuite, suiteFiles, type SuiteRun, type TestRunOptions } from '../lib/test-execution.js';
import { languageOf } from '../languages/index.js';

export interface UnitTestOptions extends TestRunOptions {
  repository: RepositoryConfig;
}
export type UnitTestResult = SuiteRun;

export async function runUnitTest(options: UnitTestOptions): Promise<UnitTestResult> {
  const { repository } = options;
  const language = languageOf(repository);
  const suite = repository.unittests;
  const files = suite ? suiteFiles(repository.root, suite, language.testFiles) : [];
  const nothing = nothingToRunReason(suite, files, 'unit', language.testFiles);
  if (nothing !== undefined || !suite) return nothingToRun('unit-tests', options.reportPath, nothing!);
  const launcher = await language.prepareTests({ repository, suite, kind: 'unit', options, step: 'unit-test' });
  return runSuite({
    suiteName: 'unit-tests',
    step: 'unit-test',
    root: repository.root,
    files,
    launcher,
    args: [],
    env: {},
    jobs: options.jobs,
    timeoutSeconds: options.timeoutSeconds,
    reportPath: options.reportPath,
    blocks: options.blocks ?? process.stdout,
  });
}
