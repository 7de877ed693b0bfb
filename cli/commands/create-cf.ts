import { commaList, REPOSITORY_OPTIONS } from '../args.js';
import type { CommandSpec } from '../command.js';
import { openRepository, outputPath, printJson } from '../repository.js';
import { CACHE_DIR_OPTION, FIND_LINKS_OPTION, INDEX_URL_OPTION, JSON_OPTION, PYTHON_OPTION, STACK_OPTION, cacheDir, pipOptions, pythonOption } from './shared-options.js';

export const command: CommandSpec = {
  name: 'create-cf',
  summary: 'Write one CloudFormation template per stage (stackGamma.json ... stackPROD.json).',
  reads: 'config/config.yaml, config/<Stage>/env.{yaml,yml,json,py} and iam.{yaml,yml,json,py}, dist/function.zip.manifest.json (package; the zip too, when it is there, to check they match)',
  writes: 'stack<Stage>.json (or .yaml) for every stage, PROD included, in --out-dir',
  options: [
    ...REPOSITORY_OPTIONS,
    STACK_OPTION,
    { name: 'stage', type: 'string', valueName: 'STAGE', description: 'Write only this stage\'s template.' },
    { name: 'out-dir', type: 'string', valueName: 'DIR', defaultText: 'dist in the repository', description: 'Folder for the templates.' },
    { name: 'pipeline-stages', type: 'string', valueName: 'LIST', env: 'LAMBDA_CD_STAGES', description: "The stages the pipeline deploys, comma-separated, PROD last or left out (the generated pipeline sets it); an error when the repository's stages differ." },
    { name: 'zip', type: 'string', valueName: 'FILE', defaultText: 'dist/function.zip in the repository', description: 'The zip lambda-cd package wrote; its manifest FILE.manifest.json must exist (each template publishes a version named after the zip\'s sha256).' },
    { name: 'format', type: 'string', valueName: 'FORMAT', default: 'json', choices: ['json', 'yaml'], description: 'Template format.' },
    { ...PYTHON_OPTION, description: 'Python interpreter that runs env.py and iam.py (troposphere and awacs are installed for it into --cache-dir when they import them and it lacks them).' },
    { ...CACHE_DIR_OPTION, description: 'Where troposphere and awacs are installed when a 2018-style iam.py needs them.' },
    INDEX_URL_OPTION,
    FIND_LINKS_OPTION,
    { ...JSON_OPTION, description: 'Print the result (stack, format, zip sha256, each stage with its template path) as JSON.' },
  ],
  examples: ['lambda-cd create-cf --stack MyPipeline', 'lambda-cd create-cf --stack MyPipeline --json', 'lambda-cd create-cf --stack MyPipeline --stage Gamma --format yaml --out-dir /tmp/templates'],
  notes: [
    'Templates take the parameters S3Storage and S3Key (the zip\'s bucket and key) and export the function ARN as Name+Stack+Stage.',
    'Each template publishes a Lambda version named after the zip\'s sha256 and the settings a version freezes (unchanged build: no new version) and points the alias Name+Stack+Stage at it; outputs AliasArn (exported as Name+Stack+Stage:alias), FunctionVersion, ZipSha256. Run lambda-cd package first (exit 2 without the manifest).',
    'Deployment (config.yaml, top level or StageOverrides): Strategy (AllAtOnce before PROD, Canary10Percent5Minutes in PROD by default), Alarms, PreTraffic: a gradual strategy, alarms or a pre-traffic event add a CodeDeploy application and deployment group, an alarm on errors and throttles (unless Alarms names your own) and the hook function.',
    'env.yaml/env.yml/env.json: a flat map NAME: value (values may be {{resolve:ssm:/path}} or {{resolve:secretsmanager:...}}); env.py: get_env(stage) or get_env() returning such a dict.',
    'iam.yaml/iam.json: Statements (IAM policy statements), ManagedPolicyArns; iam.py: get_iam(ref_name) returning an AWS::IAM::Role dict, its Properties, or an object with to_dict() (troposphere Role). The role always trusts only lambda.amazonaws.com and can write to its own log group.',
    "Every role gets the pipeline's permissions boundary, policy/lambda-cd/<--stack>-function-boundary (the pipeline stack creates it); an iam file that sets another PermissionsBoundary is an error.",
    'An iam file that grants every action of a service ("*", "s3:*", "s3:?*", NotAction, AdministratorAccess, *FullAccess) is an error unless config/config.yaml says AllowWildcardActions: true (then a warning).',
    'The templates replace the previous ones as one set: a failure (bad input, a full disk) leaves every earlier template as it was.',
    'Intrinsic functions (Fn::Sub, Ref, Fn::GetAtt, ...) are accepted in env values and iam files wherever CloudFormation takes them; what they name must be in the stage template. Numbers in env files reach the function as written.',
    '2018 iam.py files may import awslambdacontinuousdelivery.tools and .tools.iam (alphanum, defaultAssumeRolePolicyDocument, oneClickCreateLogsPolicy, ...): lambda-cd ships them. The log group /aws/lambda/<Name><Stage> is declared only with LogRetentionInDays; otherwise Lambda creates it.',
  ],
  async run({ options }) {
    const repository = openRepository(options);
    const { runCreateCf } = await import('../../runners/create-cf.js');
    const result = await runCreateCf({
      repository,
      stack: options.stack as string,
      stage: options.stage as string | undefined,
      outDir: outputPath(options, 'out-dir', repository.root, 'dist'),
      format: options.format as 'json' | 'yaml',
      python: pythonOption(options),
      cacheDir: cacheDir(options, repository.root),
      pip: pipOptions(options),
      pipelineStages: typeof options['pipeline-stages'] === 'string' ? commaList(options['pipeline-stages']) : undefined,
      zipFile: outputPath(options, 'zip', repository.root, 'dist/function.zip'),
    });
    if (options.json) {
      printJson({ stack: options.stack, format: options.format, zipSha256: result.zipSha256, templates: result.stages.map((stage, i) => ({ stage, file: result.files[i] })) });
    } else for (const file of result.files) process.stdout.write(`${file}\n`);
    return 0;
  },
};
