import { EnvironmentError } from '../lib/errors.js';

export interface GenerateBuildspecsOptions { outDir: string }
export interface GeneratePipelineOptions { stages: string[]; source: 'codecommit' | 'github'; image?: string; notify?: string; outFile: string }

export async function runGenerateBuildspecs(_options: GenerateBuildspecsOptions): Promise<{ files: string[] }> {
  throw new EnvironmentError('generate buildspecs is not implemented yet');
}

export async function runGeneratePipeline(_options: GeneratePipelineOptions): Promise<{ file: string }> {
  throw new EnvironmentError('generate pipeline is not implemented yet');
}
