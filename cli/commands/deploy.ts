import path from 'node:path';
import { REPOSITORY_OPTIONS } from '../args.js';
import type { CommandSpec } from '../command.js';
import { openRepository, outputPath, requireStage } from '../repository.js';
import { CODE_LOCATION_FILE, PUBLISH_PREFIX } from '../../generator/constants.js';
import type { DeployResult } from '../../runners/deploy.js';
import { AWS_OPTIONS, STACK_OPTION, applyAwsOptions } from './shared-options.js';

export const command: CommandSpec = {
  name: 'deploy',
  summary: "Deploy a stage's template (create-cf) with the published zip to the stack <Stack>Functions<Stage>, showing the change set and the stack's events.",
  reads: 'dist/stack<Stage>.json (create-cf), dist/code-location.json (publish), dist/function.zip.manifest.json and dist/function.zip (package), config/config.yaml; CloudFormation',
  writes: 'the stack <Stack>Functions<Stage>; dist/code-location.json and the zip in S3 when it publishes first',
  options: [
    ...REPOSITORY_OPTIONS,
    STACK_OPTION,
    { name: 'stage', type: 'string', valueName: 'STAGE', env: 'LAMBDA_CD_STAGE', required: true, description: 'The stage to deploy (a folder in config/).' },
    { name: 'function-stack', type: 'string', valueName: 'NAME', env: 'LAMBDA_CD_FUNCTION_STACK', defaultText: '<Stack>Functions<Stage>', description: "The stage's stack name (the generated pipeline's name is the default)." },
    { name: 'template', type: 'string', valueName: 'FILE', defaultText: 'dist/stack<Stage>.json (or .yaml) in the repository', description: "The stage's template from create-cf." },
    { name: 'zip', type: 'string', valueName: 'FILE', defaultText: 'dist/function.zip in the repository', description: 'The zip lambda-cd package wrote (its manifest is FILE.manifest.json); needed only to publish.' },
    { name: 'code-location', type: 'string', valueName: 'FILE', defaultText: 'dist/code-location.json in the repository', description: 'Where lambda-cd publish recorded the zip\'s bucket and key.' },
    { name: 'bucket', type: 'string', valueName: 'BUCKET', env: 'LAMBDA_CD_ARTIFACT_BUCKET', description: 'Publish the zip to this bucket first when dist/code-location.json is missing or names another zip or bucket.' },
    { name: 'prefix', type: 'string', valueName: 'PREFIX', default: PUBLISH_PREFIX, description: 'Key prefix when publishing (as for lambda-cd publish).' },
    { name: 'no-execute', type: 'boolean', description: 'Create and show the change set, then stop (it stays for review).' },
    { name: 'wait', type: 'number', valueName: 'SECONDS', min: 1, default: 1800, description: 'How long to wait for CloudFormation before giving up (exit 3; CloudFormation carries on).' },
    { name: 'role-arn', type: 'string', valueName: 'ARN', env: 'LAMBDA_CD_CLOUDFORMATION_ROLE_ARN', description: 'The role CloudFormation acts as (ci-bootstrap\'s CloudFormationRoleArn); default: your own rights.' },
    ...AWS_OPTIONS,
    { name: 'json', type: 'boolean', description: 'Print the result (status, changes, outputs, function ARN, alias ARN, version) as JSON.' },
  ],
  examples: [
    'lambda-cd deploy --stack MyPipeline --stage Gamma',
    'lambda-cd deploy --stack MyPipeline --stage PROD --no-execute',
    'LAMBDA_CD_STACK=MyPipeline LAMBDA_CD_STAGE=Gamma lambda-cd deploy --bucket my-artifacts --json',
  ],
  notes: [
    'A new stack is created (every resource listed as Add); an existing one changes through a change set listed one line per resource (Add, Modify, Remove, Replace) before it runs. Nothing to change: "no changes", exit 0.',
    'Progress and the stack events go to stderr; stdout gets the stack, its status and its outputs (--json: all of it).',
    'A stack a failed first create left in ROLLBACK_COMPLETE is deleted and created again. PROD stacks get termination protection. Stack tags: lambda-cd:stage, lambda-cd:pipeline and the Tags of config/config.yaml.',
    'Exit 2 for bad options or dist/ files (another --stack, a zip that does not match its manifest); 3 when AWS fails, a resource fails (named, with the rollback\'s end state), or the stack is in a state CloudFormation cannot update (with what to do).',
    'In GitHub Actions it also writes the outputs function-arn, alias-arn, function-version, stack and zip-sha256 to $GITHUB_OUTPUT and the changes to the step summary.',
    'The template publishes a version (a new one only when the zip or the settings a version freezes changed) and moves the alias to it: at once, or through CodeDeploy as config.yaml\'s Deployment says (CloudFormation waits for the traffic shift; an alarm or a failed pre-traffic hook rolls the deployment and the stack back).',
  ],
  async run({ options }) {
    const repository = openRepository(options);
    requireStage('deploy', repository, options.stage as string);
    await applyAwsOptions('deploy', options);
    const { runDeploy } = await import('../../runners/deploy.js');
    const zipFile = outputPath(options, 'zip', repository.root, 'dist/function.zip');
    const result = await runDeploy({
      repository,
      stack: options.stack as string,
      stage: options.stage as string,
      functionStack: options['function-stack'] as string | undefined,
      templateFile: typeof options.template === 'string' ? path.resolve(options.template) : undefined,
      zipFile,
      manifestFile: `${zipFile}.manifest.json`,
      codeLocationFile: outputPath(options, 'code-location', repository.root, CODE_LOCATION_FILE),
      bucket: options.bucket as string | undefined,
      prefix: options.prefix as string,
      execute: options['no-execute'] !== true,
      waitSeconds: options.wait as number,
      roleArn: options['role-arn'] as string | undefined,
    });
    await report(result, options.json === true);
    return 0;
  },
};

/** stdout: the stack, its status and outputs (or all of it as JSON); in GitHub Actions, step outputs and summary. */
async function report(result: DeployResult, json: boolean): Promise<void> {
  if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else process.stdout.write(`${result.stack} ${result.status}\n${Object.entries(result.outputs).map(([key, value]) => `${key} ${value}\n`).join('')}`);
  const { githubOutputs, githubSummary, markdownCell } = await import('../../lib/github.js');
  const { formatBytes } = await import('../../lib/output.js');
  githubOutputs({ 'function-arn': result.functionArn, 'alias-arn': result.aliasArn, 'function-version': result.functionVersion, stack: result.stack, 'zip-sha256': result.zipSha256 });
  const what = { create: 'created', update: 'updated', none: 'no changes', 'change-set': 'change set left for review', plan: 'to be deleted and created again' }[result.operation];
  const rows = result.changes.map((change) => `| ${change.action} | ${markdownCell(change.logicalId)} | ${markdownCell(change.type)} |`);
  githubSummary([
    `### lambda-cd deploy ${markdownCell(result.stage)}: ${markdownCell(result.stack)} ${what} (${result.status})`,
    '',
    `Zip \`${result.zipSha256.slice(0, 12)}\`${result.zipSize !== undefined ? ` (${formatBytes(result.zipSize)})` : ''}${result.published ? ', published by this deploy' : ''}${result.functionArn ? `; function ${markdownCell(result.functionArn)}` : ''}` +
      `${result.functionVersion ? `; version ${markdownCell(result.functionVersion)}${result.previousVersion ? ` (was ${markdownCell(result.previousVersion)})` : ''}` : ''}`,
    ...(rows.length ? ['', '| change | resource | type |', '|---|---|---|', ...rows] : []),
    '',
  ].join('\n'));
}
