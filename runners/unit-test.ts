import { EnvironmentError } from '../lib/errors.js';
import type { RepositoryConfig } from '../lib/contract.js';
import type { PipOptions } from '../lib/python.js';
export interface UnitTestOptions { repository: RepositoryConfig; python: string; jobs: number; timeoutSeconds: number; reportPath: string; cacheDir: string; pip: PipOptions }
export interface UnitTestResult { exitCode: number }
export async function runUnitTest(_options: UnitTestOptions): Promise<UnitTestResult> {
  throw new EnvironmentError('unit-test is not implemented yet');
}
