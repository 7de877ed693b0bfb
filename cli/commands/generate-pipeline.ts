import path from 'node:path';
import { commaList, REPOSITORY_OPTIONS } from '../args.js';
import type { CommandSpec } from '../command.js';
import { optionalRepositoryRoot, openRepository, outputPath, printJson } from '../repository.js';
import { safeName } from '../../lib/redact.js';
import { JSON_OPTION } from './shared-options.js';

export const command: CommandSpec = {
  name: 'generate pipeline',
  summary: 'Write the CodePipeline CloudFormation template (YAML) that runs the runners for one function repository.',
  reads: 'config/config.yaml (Stages, Name, Runtime); at a multi-function root, lambda-cd.yaml and each function\'s config/config.yaml (one deploy and test action per function and stage)',
  writes: 'the pipeline template (--out)',
  options: [
    ...REPOSITORY_OPTIONS,
    { name: 'stages', type: 'string', valueName: 'LIST', defaultText: "the repository's Stages", description: 'Pre-production stages, comma-separated, in order (PROD is always added last); in a repository they must be its Stages (exit 2 otherwise); outside one the default is Gamma.' },
    { name: 'name', type: 'string', valueName: 'NAME', defaultText: "the repository's Name", description: "The FunctionName parameter's default; in a repository it must be its Name (exit 2 otherwise)." },
    { name: 'source', type: 'string', valueName: 'KIND', default: 'codecommit', choices: ['codecommit', 'github'], description: 'Where the source comes from.' },
    { name: 'image', type: 'string', valueName: 'URI', defaultText: "the published lambda-cd image for the repository's Runtime (<version>-pythonX.Y)", description: "Default for the template's ImageUri parameter (your own copy, e.g. in your ECR)." },
    { name: 'notify', type: 'string', valueName: 'EMAIL', description: "Default for the template's failure notification e-mail parameter." },
    {
      name: 'buildspecs', type: 'string', valueName: 'WHERE', default: 'inline', choices: ['inline', 'repository'],
      description: "inline: the buildspecs are written into the CodeBuild projects (the repository needs no buildspecs/ folder); repository: the projects read buildspecs/buildspec-<step>.yml from the source (lambda-cd generate buildspecs writes them).",
    },
    { name: 'approve-before', type: 'string', valueName: 'LIST', description: "Stages (comma-separated, PROD allowed) whose deploy waits for a manual approval; the approval request goes to the pipeline's SNS topic." },
    { name: 'coordinate-with', type: 'string', valueName: 'PIPELINES', description: "Other pipelines (comma-separated CodePipeline names, same account and region): --coordinate-stage starts only once each of them passed the same preceding stage too." },
    { name: 'coordinate-stage', type: 'string', valueName: 'STAGE', default: 'PROD', description: 'The stage --coordinate-with holds back (its inbound transition starts disabled; a release gate opens it).' },
    { name: 'out', type: 'string', valueName: 'FILE', defaultText: 'pipeline.yaml in the repository (in the current folder outside one)', description: 'Where the template is written.' },
    { ...JSON_OPTION, description: 'Print the result (file, stages, function name, image) as JSON.' },
  ],
  examples: [
    'lambda-cd generate pipeline --notify team@example.com          # in the repository: its stages, Name and Runtime',
    'lambda-cd generate pipeline --buildspecs repository   # the projects read buildspecs/ from your source',
    'lambda-cd generate pipeline --source github --out ci/pipeline.yaml',
    'lambda-cd generate pipeline --approve-before PROD --coordinate-with OrdersPipeline,BillingPipeline',
    'lambda-cd generate pipeline --stages Gamma,Beta --out pipeline.yaml   # outside a repository',
  ],
  notes: [
    "The stages, the FunctionName parameter's default and the image variant come from the repository's config/config.yaml (found up from the current folder, or --path); PROD is always added last. --stages or --name that differ from it are exit 2 (the pipeline would fail in its Build step, or could not deploy the function).",
    'Deploy with: aws cloudformation deploy --template-file pipeline.yaml --stack-name NAME --capabilities CAPABILITY_NAMED_IAM --parameter-overrides FunctionName=... RepositoryName=... NotificationEmail=... (github: ConnectionArn=... FullRepositoryId=owner/repo). The functions\' stacks are NAME+Functions+Stage.',
    "The stack creates NAME-function-boundary, the permissions boundary of every function role it deploys (the deploy role may create or change roles only with it); FunctionBoundaryExtraActions widens it.",
    'A failed integration test ends the pipeline in that stage and puts the stage\'s alias back on the version it served before (lambda-cd rollback in the project\'s post_build phase).',
    '--coordinate-with: the transition into --coordinate-stage is disabled; a small function, fed by an EventBridge rule with the stage changes of this pipeline and the named ones, enables it while an execution waits there and every named pipeline\'s latest run of the preceding stage succeeded, and disables it again once the stage starts (README: failure modes).',
    'The Build step uploads the deployment zip under its sha256 (lambda-cd publish) and each deploy action reads its location from dist/code-location.json, so Lambda runs the zip lambda-cd package built, and an unchanged build updates nothing.',
  ],
  async run({ options }) {
    const { pipelineInputs, runGeneratePipeline, workspacePipelineRepository } = await import('../../runners/generate.js');
    const { isWorkspace } = await import('../../lib/workspace.js');
    const root = optionalRepositoryRoot(options);
    // A multi-function root (lambda-cd.yaml): its functions' configs give the stages; each function's Name is its own.
    const workspace = root !== undefined && isWorkspace(root);
    const repository = root === undefined ? undefined : workspace ? workspacePipelineRepository(root) : openRepository(options);
    const inputs = pipelineInputs(repository, { stages: typeof options.stages === 'string' ? commaList(options.stages) : undefined, name: workspace ? undefined : options.name as string | undefined }, safeName(process.cwd(), 200));
    const result = await runGeneratePipeline({
      ...inputs,
      source: options.source as 'codecommit' | 'github',
      image: options.image as string | undefined,
      notify: options.notify as string | undefined,
      buildspecs: options.buildspecs as 'inline' | 'repository',
      approveBefore: typeof options['approve-before'] === 'string' ? commaList(options['approve-before']) : [],
      coordinateWith: typeof options['coordinate-with'] === 'string' ? commaList(options['coordinate-with']) : undefined,
      coordinateStage: options['coordinate-stage'] as string,
      outFile: outputPath(options, 'out', root ?? process.cwd(), 'pipeline.yaml'),
      root,
    });
    // At a multi-function root the result names its functions, not one FunctionName.
    const functionNames = workspace ? { functions: (await import('../../lib/workspace.js')).loadWorkspace(root!).functions.map((fn) => fn.name) } : { functionName: inputs.functionName ?? null };
    if (options.json) printJson({ file: path.resolve(result.file), stages: [...inputs.stages, 'PROD'], ...functionNames, image: result.image });
    else process.stdout.write(`${result.file}\n`);
    return 0;
  },
};
