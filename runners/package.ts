import { EnvironmentError } from '../lib/errors.js';
import type { RepositoryConfig } from '../lib/contract.js';
import type { PipOptions } from '../lib/python.js';
export interface PackageOptions { repository: RepositoryConfig; outFile: string; cacheDir: string; python: string; allowSdist: boolean; pip: PipOptions }
export interface PackageResult { zipPath: string; manifest: { sha256: string } }
export async function runPackage(_options: PackageOptions): Promise<PackageResult> {
  throw new EnvironmentError('package is not implemented yet');
}
