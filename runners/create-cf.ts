import { EnvironmentError } from '../lib/errors.js';
import type { RepositoryConfig } from '../lib/contract.js';
export interface CreateCfOptions { repository: RepositoryConfig; stack: string; stage?: string; outDir: string; format: 'json' | 'yaml'; python: string }
export interface CreateCfResult { files: string[] }
export async function runCreateCf(_options: CreateCfOptions): Promise<CreateCfResult> {
  throw new EnvironmentError('create-cf is not implemented yet');
}
