/**
 * `lambda-cd check`: the repository contract, plus everything create-cf would run (each stage's
 * env and iam files, the templates built from them) and what the test runners would find, so a
 * repository that passes check passes create-cf. Nothing is written.
 */
import { stageSettings, type RepositoryConfig, type StageSettings, type TestSuite } from '../lib/contract.js';
import { ConfigError } from '../lib/errors.js';
import type { PipOptions } from '../lib/python.js';
import { policyLabel } from '../lib/stage-iam.js';
import { suiteFiles } from '../lib/test-execution.js';
import { languageOf } from '../languages/index.js';
import { releasePlan, type ReleasePlan } from '../lib/release-template.js';
import { renderStages } from './create-cf.js';

export interface CheckOptions {
  repository: RepositoryConfig;
  /** The pipeline stack name get_iam's ref_name is made of (create-cf's --stack). */
  stack: string;
  python: string;
  cacheDir: string;
  pip: PipOptions;
}

export interface CheckedStage {
  name: string;
  settings: StageSettings;
  /** Variable names (values may be secrets: never shown), and the file they came from. */
  variables: string[];
  envSource?: string;
  /** Inline policies of the function's role as deployed, lambda-cd's own included. */
  policies: string[];
  managedPolicyArns: unknown[];
  iamSource?: string;
  /** How a new version reaches the alias (strategy, CodeDeploy or not, alarms, pre-traffic event). */
  release: ReleasePlan;
}

export interface CheckedSuite {
  folder: string;
  runner: string;
  /** The test files the runner would run. */
  files: string[];
}

export interface CheckResult {
  name: string;
  handler: string;
  runtime: string;
  architecture: string;
  stages: CheckedStage[];
  unittests?: CheckedSuite;
  integrationtests?: CheckedSuite;
  warnings: string[];
}

/** Validates the repository contract and reports what the runners will see. */
export async function runCheck(options: CheckOptions): Promise<CheckResult> {
  const { repository } = options;
  const rendered = await renderStages({ ...options, stages: repository.stages, step: 'check' });
  const stages = rendered.map(({ stage, env, iam, template }): CheckedStage => {
    const resources = template.Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>;
    const role = Object.values(resources).find((resource) => resource.Type === 'AWS::IAM::Role')!.Properties;
    return {
      name: stage,
      settings: stageSettings(repository, stage),
      variables: Object.keys(env.variables),
      envSource: env.source,
      policies: ((role.Policies as { PolicyName: unknown }[] | undefined) ?? []).map((policy) => policyLabel(policy.PolicyName)),
      managedPolicyArns: (role.ManagedPolicyArns as unknown[] | undefined) ?? [],
      iamSource: iam.source,
      release: releasePlan(repository, stage),
    };
  });
  return {
    name: repository.name,
    handler: repository.handler,
    runtime: repository.runtime,
    architecture: repository.architecture,
    stages,
    unittests: suite(repository, repository.unittests, 'Unittests'),
    integrationtests: suite(repository, repository.integrationtests, 'Integrationtests'),
    warnings: repository.warnings.map((w) => w.message),
  };
}

function suite(repository: RepositoryConfig, configured: TestSuite | undefined, key: string): CheckedSuite | undefined {
  if (!configured) return undefined;
  let files: string[];
  try {
    files = suiteFiles(repository.root, configured, languageOf(repository).testFiles);
  } catch (error) {
    // A folder without test files runs nothing; a listed file that is missing is the contract's error already.
    if (!(error instanceof ConfigError)) throw error;
    files = [];
  }
  return { folder: configured.folder, runner: configured.runner, files };
}
