import { REPOSITORY_OPTIONS } from '../args.js';
import type { CommandSpec } from '../command.js';
import { loadRepository } from '../../lib/contract.js';
import { optionalRepositoryRoot, printJson, requireStage } from '../repository.js';
import type { RollbackResult } from '../../runners/rollback.js';
import { AWS_OPTIONS, STACK_OPTION, applyAwsOptions } from './shared-options.js';

export const command: CommandSpec = {
  name: 'rollback',
  summary: "Point a stage's alias back at the version it served before the stage's last deploy, and say from which version to which.",
  reads: "the stage's stack <Stack>Functions<Stage> (its outputs and events), the alias and versions in Lambda",
  writes: "the alias Name+Stack+Stage (its version); the function's tag lambda-cd:rolled-back (the versions rolled back from)",
  options: [
    { ...REPOSITORY_OPTIONS[0]!, description: 'The function repository: when given, or found up from the current folder, --stage must be one of its stages (checked before any AWS call). Rollback needs no repository otherwise.' },
    STACK_OPTION,
    { name: 'stage', type: 'string', valueName: 'STAGE', env: 'LAMBDA_CD_STAGE', required: true, description: 'The stage whose alias goes back.' },
    { name: 'function-stack', type: 'string', valueName: 'NAME', env: 'LAMBDA_CD_FUNCTION_STACK', defaultText: '<Stack>Functions<Stage>', description: "The stage's stack name." },
    { name: 'to-version', type: 'string', valueName: 'N', description: 'Move the alias to this version of the function instead of the one before the last deploy.' },
    { name: 'only-after-failure', type: 'boolean', description: 'Do nothing unless the CI job has failed so far (CodeBuild post_build: CODEBUILD_BUILD_SUCCEEDING=0; GitLab after_script: CI_JOB_STATUS=failed).' },
    ...AWS_OPTIONS,
    { name: 'json', type: 'boolean', description: 'Print the result (operation, alias ARN, from, to) as JSON.' },
  ],
  examples: [
    'lambda-cd rollback --stack MyPipeline --stage Gamma',
    'lambda-cd rollback --stack MyPipeline --stage PROD --to-version 7',
    'lambda-cd rollback --only-after-failure      # in a buildspec post_build phase, with LAMBDA_CD_STACK and LAMBDA_CD_STAGE set',
  ],
  notes: [
    "The version before is the one the stack's last successful deploy replaced, as its events record it (versions are kept when replaced); a version rollback moved away from before is skipped.",
    'Nothing to do (the alias already serves that version) is exit 0. Exit 3 when the stack records no earlier version, publishes no versions (a 2018 template), is being deployed, when a CodeDeploy deployment is shifting the alias, or when the alias was moved outside the stack (then --to-version decides).',
    'The stack is not changed: deploying the same build again changes nothing; the next build publishes a new version and moves the alias to it.',
  ],
  async run({ options }) {
    // Rollback runs where the repository usually is (a CI job's post_build): check --stage against it first.
    const root = optionalRepositoryRoot(options);
    if (root !== undefined) requireStage('rollback', loadRepository(root), options.stage as string);
    await applyAwsOptions('rollback', options);
    const { runRollback } = await import('../../runners/rollback.js');
    const result = await runRollback({
      stack: options.stack as string,
      stage: options.stage as string,
      functionStack: options['function-stack'] as string | undefined,
      toVersion: options['to-version'] as string | undefined,
      onlyAfterFailure: options['only-after-failure'] === true,
    });
    report(result, options.json === true);
    return 0;
  },
};

function report(result: RollbackResult, json: boolean): void {
  if (json) {
    printJson(result);
    return;
  }
  const line = { moved: `${result.aliasArn} ${result.from} -> ${result.to}`, none: `${result.aliasArn} ${result.to} (unchanged)`, skipped: `${result.stack} skipped` }[result.operation];
  process.stdout.write(`${line}\n`);
}
