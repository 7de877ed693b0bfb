import { commaList } from '../args.js';
import type { CommandSpec } from '../command.js';

export const command: CommandSpec = {
  name: 'generate pipeline',
  summary: 'Write the CodePipeline CloudFormation template (YAML) that runs the runners for one function repository.',
  reads: 'nothing',
  writes: 'the pipeline template (--out)',
  options: [
    { name: 'stages', type: 'string', valueName: 'LIST', default: 'Gamma', description: 'Pre-production stages, comma-separated, in order (PROD is always added last).' },
    { name: 'source', type: 'string', valueName: 'KIND', default: 'codecommit', choices: ['codecommit', 'github'], description: 'Where the source comes from.' },
    { name: 'image', type: 'string', valueName: 'URI', defaultText: 'the published lambda-cd image', description: "Default for the template's image parameter." },
    { name: 'notify', type: 'string', valueName: 'EMAIL', description: "Default for the template's failure notification e-mail parameter." },
    {
      name: 'buildspecs', type: 'string', valueName: 'WHERE', default: 'inline', choices: ['inline', 'repository'],
      description: "inline: the buildspecs are written into the CodeBuild projects (the repository needs no buildspecs/ folder); repository: the projects read buildspecs/buildspec-<step>.yml from the source (lambda-cd generate buildspecs writes them).",
    },
    { name: 'out', type: 'string', valueName: 'FILE', default: 'pipeline.yaml', description: 'Where the template is written.' },
  ],
  examples: [
    'lambda-cd generate pipeline --stages Gamma --notify team@example.com',
    'lambda-cd generate pipeline --stages Gamma --buildspecs repository   # the projects read buildspecs/ from your source',
    'lambda-cd generate pipeline --stages Gamma,Beta --source github --out ci/pipeline.yaml',
  ],
  notes: [
    '--stages must match Stages in the repository\'s config/config.yaml (PROD is always added last); the FunctionName parameter must be its Name.',
    'Deploy with: aws cloudformation deploy --template-file pipeline.yaml --stack-name NAME --capabilities CAPABILITY_NAMED_IAM --parameter-overrides FunctionName=... RepositoryName=... NotificationEmail=... (github: ConnectionArn=... FullRepositoryId=owner/repo). The functions\' stacks are NAME+Functions+Stage.',
    "The stack creates NAME-function-boundary, the permissions boundary of every function role it deploys (the deploy role may create or change roles only with it); FunctionBoundaryExtraActions widens it.",
    'The Build step uploads the deployment zip under its sha256 (lambda-cd publish) and each deploy action reads its location from dist/code-location.json, so Lambda runs the zip lambda-cd package built, and an unchanged build updates nothing.',
  ],
  async run({ options }) {
    const { runGeneratePipeline } = await import('../../runners/generate.js');
    const result = await runGeneratePipeline({
      stages: commaList(options.stages as string),
      source: options.source as 'codecommit' | 'github',
      image: options.image as string | undefined,
      notify: options.notify as string | undefined,
      buildspecs: options.buildspecs as 'inline' | 'repository',
      outFile: options.out as string,
    });
    process.stdout.write(`${result.file}\n`);
    return 0;
  },
};
