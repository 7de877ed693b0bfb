import path from 'node:path';
import { REPOSITORY_OPTIONS } from '../args.js';
import type { CommandSpec } from '../command.js';
import { openRepository, outputPath, printJson } from '../repository.js';
import { defaultImageUri } from '../../generator/constants.js';
import { GITLAB_CI_FILE } from '../../generator/gitlab-ci.js';
import { BRANCH_OPTION, JSON_OPTION, STACK_OPTION } from './shared-options.js';

export const command: CommandSpec = {
  name: 'generate gitlab-ci',
  summary: 'Write .gitlab-ci.yml: unit-test, build + publish, deploy and integration-test per stage, PROD as a manual job.',
  reads: 'config/ (stages, Name, Runtime)',
  writes: `${GITLAB_CI_FILE} in the repository (--out)`,
  options: [
    ...REPOSITORY_OPTIONS,
    { ...STACK_OPTION, description: 'The pipeline name: the stage stacks are <Stack>Functions<Stage>, the exports Name+Stack+Stage.' },
    BRANCH_OPTION,
    { name: 'image', type: 'string', valueName: 'URI', defaultText: "the published lambda-cd image for the repository's Runtime (<version>-pythonX.Y)", description: 'The image the jobs run in.' },
    { name: 'out', type: 'string', valueName: 'FILE', defaultText: `${GITLAB_CI_FILE} in the repository`, description: 'Where the file is written.' },
    { ...JSON_OPTION, description: 'Print the path written as JSON ({"file": ...}).' },
  ],
  examples: ['lambda-cd generate gitlab-ci --stack OrdersPipeline', 'lambda-cd generate gitlab-ci --stack OrdersPipeline --image registry.example.com/lambda-cd:0.1.0'],
  notes: [
    'Deploy `lambda-cd generate ci-bootstrap --ci gitlab` once, then set the CI/CD variables AWS_REGION, AWS_ROLE_ARN, LAMBDA_CD_ARTIFACT_BUCKET and LAMBDA_CD_CLOUDFORMATION_ROLE_ARN from its outputs; protect the PROD environment.',
    'The AWS jobs get an OIDC token in LAMBDA_CD_OIDC_TOKEN (id_tokens); lambda-cd exchanges it for AWS_ROLE_ARN\'s credentials, for itself and the integration tests.',
  ],
  async run({ options }) {
    const repository = openRepository(options);
    const { runGenerateGitlabCi } = await import('../../runners/generate-ci.js');
    const result = await runGenerateGitlabCi({
      repository,
      stack: options.stack as string,
      branch: options.branch as string,
      image: (options.image as string | undefined) ?? defaultImageUri(repository.runtime),
      outFile: outputPath(options, 'out', repository.root, GITLAB_CI_FILE),
    });
    if (options.json) printJson({ file: path.resolve(result.file) });
    else process.stdout.write(`${result.file}\n`);
    return 0;
  },
};
