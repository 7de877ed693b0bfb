import { commaList } from '../args.js';
import type { CommandSpec } from '../command.js';

export const command: CommandSpec = {
  name: 'generate pipeline',
  summary: 'Write the CodePipeline CloudFormation template (YAML) that runs the runners for one function repository.',
  reads: 'lambda-cd.yaml and each function\'s config/config.yaml (Name) at --path, when there is a lambda-cd.yaml',
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
    { name: 'approve-before', type: 'string', valueName: 'LIST', description: "Stages (comma-separated, PROD allowed) whose deploy waits for a manual approval; the approval request goes to the pipeline's SNS topic." },
    { name: 'coordinate-with', type: 'string', valueName: 'PIPELINES', description: "Other pipelines (comma-separated CodePipeline names, same account and region): --coordinate-stage starts only once each of them passed the same preceding stage too." },
    { name: 'coordinate-stage', type: 'string', valueName: 'STAGE', default: 'PROD', description: 'The stage --coordinate-with holds back (its inbound transition starts disabled; a release gate opens it).' },
    { name: 'out', type: 'string', valueName: 'FILE', default: 'pipeline.yaml', description: 'Where the template is written.' },
    { name: 'path', type: 'string', valueName: 'DIR', default: '.', env: 'LAMBDA_CD_PATH', description: 'The repository: with a lambda-cd.yaml, a pipeline for all its functions (batch builds, a deploy and a test action per function and stage).' },
  ],
  examples: [
    'lambda-cd generate pipeline --stages Gamma --notify team@example.com',
    'lambda-cd generate pipeline --stages Gamma --buildspecs repository   # the projects read buildspecs/ from your source',
    'lambda-cd generate pipeline --stages Gamma,Beta --source github --out ci/pipeline.yaml',
    'lambda-cd generate pipeline --stages Gamma --approve-before PROD --coordinate-with OrdersPipeline,BillingPipeline',
  ],
  notes: [
    '--stages must match Stages in the repository\'s config/config.yaml (PROD is always added last); the FunctionName parameter must be its Name.',
    'Deploy with: aws cloudformation deploy --template-file pipeline.yaml --stack-name NAME --capabilities CAPABILITY_NAMED_IAM --parameter-overrides FunctionName=... RepositoryName=... NotificationEmail=... (github: ConnectionArn=... FullRepositoryId=owner/repo). The functions\' stacks are NAME+Functions+Stage.',
    "The stack creates NAME-function-boundary, the permissions boundary of every function role it deploys (the deploy role may create or change roles only with it); FunctionBoundaryExtraActions widens it.",
    'A failed integration test ends the pipeline in that stage and puts the stage\'s alias back on the version it served before (lambda-cd rollback in the project\'s post_build phase).',
    '--coordinate-with: the transition into --coordinate-stage is disabled; a small function, fed by an EventBridge rule with the stage changes of this pipeline and the named ones, enables it while an execution waits there and every named pipeline\'s latest run of the preceding stage succeeded, and disables it again once the stage starts (README: failure modes).',
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
      approveBefore: typeof options['approve-before'] === 'string' ? commaList(options['approve-before']) : [],
      coordinateWith: typeof options['coordinate-with'] === 'string' ? commaList(options['coordinate-with']) : undefined,
      coordinateStage: options['coordinate-stage'] as string,
      outFile: options.out as string,
      root: options.path as string,
    });
    process.stdout.write(`${result.file}\n`);
    return 0;
  },
};
