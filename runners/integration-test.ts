import { EnvironmentError } from '../lib/errors.js';
import type { RepositoryConfig } from '../lib/contract.js';
import type { PipOptions } from '../lib/python.js';
export interface IntegrationTestOptions { repository: RepositoryConfig; stack: string; stage: string; functionStack?: string; invokeEvents: string[]; waitSeconds: number; python: string; jobs: number; timeoutSeconds: number; reportPath: string; cacheDir: string; pip: PipOptions }
export interface IntegrationTestResult { exitCode: number }
export async function runIntegrationTest(_options: IntegrationTestOptions): Promise<IntegrationTestResult> {
  throw new EnvironmentError('integration-test is not implemented yet');
}
