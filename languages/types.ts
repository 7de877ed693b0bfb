/**
 * The language boundary: what a runner asks of the language of the function it works on
 * (chosen by Runtime, languages/index.ts). Each language answers the same questions; the
 * language-neutral parts (contract, zip writer, caches, templates, AWS, test scheduling and
 * JUnit, output) stay in lib/. See languages/README.md.
 */
import type { RepositoryConfig, TestSuite } from '../lib/contract.js';
import type { HandlerCheckOptions } from '../lib/handler-check.js';
import type { LanguageId } from '../lib/runtimes.js';
import type { TestFileKind, TestLauncher, TestRunOptions } from '../lib/test-execution.js';
import type { PackageOptions, PackageResult } from '../runners/package.js';

export interface TestPreparation {
  repository: RepositoryConfig;
  suite: TestSuite;
  /** Unit tests get the function's own dependencies too; integration tests only their own. */
  kind: 'unit' | 'integration';
  options: TestRunOptions;
  /** Progress label: `unit-test`. */
  step: string;
}

export interface Language {
  id: LanguageId;
  /** In messages: `Python`, `Node.js`. */
  label: string;
  /** Which files of a test folder are test files. */
  testFiles: TestFileKind;
  /** `lambda-cd package`: install the dependencies for Lambda's platform, write the zip and its manifest. */
  package(options: PackageOptions): Promise<PackageResult>;
  /** The handler must load from the built zip (before it is put in place); exit 1 when it cannot. */
  checkHandler(options: HandlerCheckOptions): Promise<void>;
  /** Installs what a test suite imports (isolated from the zip, cached) and says how each file runs. */
  prepareTests(request: TestPreparation): Promise<TestLauncher>;
}
