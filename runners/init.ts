import { EnvironmentError } from '../lib/errors.js';

export interface InitOptions { dir: string; name?: string; stages: string[]; force: boolean }

export async function runInit(_options: InitOptions): Promise<{ files: string[] }> {
  throw new EnvironmentError('init is not implemented yet');
}
