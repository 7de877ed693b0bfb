import path from 'node:path';
import { REPOSITORY_OPTIONS } from '../args.js';
import type { CommandSpec } from '../command.js';
import { openRepository, outputPath, printJson } from '../repository.js';
import { BRANCH_OPTION, JSON_OPTION, CACHE_DIR_OPTION, FIND_LINKS_OPTION, INDEX_URL_OPTION, PYTHON_OPTION, STACK_OPTION, cacheDir, pipOptions, pythonOption } from './shared-options.js';

export const command: CommandSpec = {
  name: 'generate ci-bootstrap',
  summary: 'Write the CloudFormation template a GitHub Actions or GitLab CI pipeline needs once: bucket, OIDC provider, deploy roles, permissions boundary.',
  reads: 'config/ (stages, Name, the stage iam files for the boundary)',
  writes: 'the template (--out)',
  options: [
    ...REPOSITORY_OPTIONS,
    { ...STACK_OPTION, description: 'The pipeline name (the PipelineName parameter\'s default): stage stacks <Stack>Functions<Stage>, boundary lambda-cd/<Stack>-function-boundary.' },
    { name: 'ci', type: 'string', valueName: 'KIND', default: 'github', choices: ['github', 'gitlab'], description: 'Which CI system\'s tokens the deploy role trusts.' },
    { name: 'repository', type: 'string', valueName: 'ID', description: 'OWNER/REPO (GitHub) or GROUP/PROJECT (GitLab): the Repository parameter\'s default.' },
    BRANCH_OPTION,
    { name: 'gitlab-url', type: 'string', valueName: 'URL', default: 'https://gitlab.com', description: 'Your GitLab (the issuer of its tokens), for --ci gitlab.' },
    { name: 'out', type: 'string', valueName: 'FILE', defaultText: 'ci-bootstrap.yaml in the repository', description: 'Where the template is written.' },
    { ...PYTHON_OPTION, description: 'Python interpreter that runs a 2018-style iam.py to read its actions.' },
    CACHE_DIR_OPTION,
    INDEX_URL_OPTION,
    FIND_LINKS_OPTION,
    { ...JSON_OPTION, description: 'Print the path written as JSON ({"file": ...}).' },
  ],
  examples: [
    'lambda-cd generate ci-bootstrap --stack OrdersPipeline --repository acme/orders',
    'lambda-cd generate ci-bootstrap --ci gitlab --stack OrdersPipeline --repository acme/team/orders --gitlab-url https://gitlab.example.com',
  ],
  notes: [
    'Deploy with: aws cloudformation deploy --template-file ci-bootstrap.yaml --stack-name OrdersPipeline-ci --capabilities CAPABILITY_NAMED_IAM (add --parameter-overrides CreateOidcProvider=false when the account has the provider).',
    'The deploy role trusts only tokens of --repository on --branch (GitHub: also its stage environments); CloudFormation acts as a second role scoped as the CodePipeline deploy role, which may create the function roles only with the boundary.',
    'The boundary is the one the CodePipeline template creates (lambda-cd\'s own grants and a list of run-time actions); what the stage iam files grant beyond that list becomes the default of its FunctionBoundaryExtraActions parameter. Regenerate and redeploy it when they change.',
  ],
  async run({ options }) {
    const repository = openRepository(options);
    const { runGenerateCiBootstrap } = await import('../../runners/generate-ci.js');
    const result = await runGenerateCiBootstrap({
      repository,
      stack: options.stack as string,
      branch: options.branch as string,
      outFile: outputPath(options, 'out', repository.root, 'ci-bootstrap.yaml'),
      ci: options.ci as 'github' | 'gitlab',
      repositoryId: options.repository as string | undefined,
      gitlabUrl: options['gitlab-url'] as string,
      python: pythonOption(options),
      cacheDir: cacheDir(options, repository.root),
      pip: pipOptions(options),
    });
    if (options.json) printJson({ file: path.resolve(result.file) });
    else process.stdout.write(`${result.file}\n`);
    return 0;
  },
};
