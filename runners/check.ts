import { stageSettings, type RepositoryConfig, type StageSettings } from '../lib/contract.js';

export interface CheckOptions {
  repository: RepositoryConfig;
}

export interface CheckResult {
  name: string;
  handler: string;
  runtime: string;
  architecture: string;
  stages: { name: string; settings: StageSettings }[];
  unittests?: { folder: string; files?: string[]; runner: string };
  integrationtests?: { folder: string; files?: string[]; runner: string };
  warnings: string[];
}

/** Validates the repository contract and reports what the runners will see. */
export async function runCheck({ repository }: CheckOptions): Promise<CheckResult> {
  const suite = (s: RepositoryConfig['unittests']) => s && { folder: s.folder, files: s.files, runner: s.runner };
  return {
    name: repository.name,
    handler: repository.handler,
    runtime: repository.runtime,
    architecture: repository.architecture,
    stages: repository.stages.map((name) => ({ name, settings: stageSettings(repository, name) })),
    unittests: suite(repository.unittests),
    integrationtests: suite(repository.integrationtests),
    warnings: repository.warnings.map((w) => w.message),
  };
}
