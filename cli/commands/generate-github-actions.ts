import path from 'node:path';
import { REPOSITORY_OPTIONS } from '../args.js';
import type { CommandSpec } from '../command.js';
import { openRepository, outputPath, printJson } from '../repository.js';
import { WORKFLOW_FILE } from '../../generator/github-actions.js';
import { BRANCH_OPTION, JSON_OPTION, STACK_OPTION } from './shared-options.js';

export const command: CommandSpec = {
  name: 'generate github-actions',
  summary: 'Write the GitHub Actions workflow: unit-test, build + publish, deploy and integration-test per stage, PROD behind its environment.',
  reads: 'config/ (stages, Runtime)',
  writes: `${WORKFLOW_FILE} in the repository (--out)`,
  options: [
    ...REPOSITORY_OPTIONS,
    { ...STACK_OPTION, description: 'The pipeline name: the stage stacks are <Stack>Functions<Stage>, the exports Name+Stack+Stage.' },
    BRANCH_OPTION,
    { name: 'out', type: 'string', valueName: 'FILE', defaultText: `${WORKFLOW_FILE} in the repository`, description: 'Where the workflow is written.' },
    { ...JSON_OPTION, description: 'Print the path written as JSON ({"file": ...}).' },
  ],
  examples: ['lambda-cd generate github-actions --stack OrdersPipeline', 'lambda-cd generate github-actions --stack OrdersPipeline --branch release'],
  notes: [
    'Deploy `lambda-cd generate ci-bootstrap --ci github` once, then set the repository variables AWS_REGION, LAMBDA_CD_ROLE_ARN, LAMBDA_CD_ARTIFACT_BUCKET and LAMBDA_CD_CLOUDFORMATION_ROLE_ARN from its outputs, and create one environment per stage (PROD with required reviewers).',
    'Credentials come from the job\'s OIDC token (id-token: write) through aws-actions/configure-aws-credentials; no secrets are stored. The JUnit reports are uploaded as artifacts; each lambda-cd step writes the job summary.',
  ],
  async run({ options }) {
    const repository = openRepository(options);
    const { runGenerateGithubActions } = await import('../../runners/generate-ci.js');
    const result = await runGenerateGithubActions({ repository, stack: options.stack as string, branch: options.branch as string, outFile: outputPath(options, 'out', repository.root, WORKFLOW_FILE) });
    if (options.json) printJson({ file: path.resolve(result.file) });
    else process.stdout.write(`${result.file}\n`);
    return 0;
  },
};
