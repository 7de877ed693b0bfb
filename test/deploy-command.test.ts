/**
 * `lambda-cd deploy` against moto's server through the real SDK, on repositories packaged and
 * templated by lambda-cd itself. Where moto cannot produce a state (it never writes
 * CREATE_FAILED or ROLLBACK_* events), the stack is put into it through the test-only route of
 * test/helpers/moto-server.py before deploy runs; deploy reads it over moto's ordinary API.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CloudFormationClient, CreateStackCommand, DescribeStackEventsCommand, DescribeStacksCommand, ListExportsCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient, CreateLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs';
import { GetFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { setStackState, startMoto, type MotoServer } from './helpers/moto.js';
import { makeRepo, tempDir, writeFiles } from './helpers/repo.js';
import { describeFailure, firstFailure } from '../lib/stack-deploy.js';

let moto: MotoServer;
let cf: CloudFormationClient;
let env: Record<string, string>;
const BUCKET = 'deploy-artifacts';

/**
 * moto cannot run a handler without Docker, and its Docker-less Lambda does not see functions
 * CloudFormation made; so the test checks what is checkable: the function behind the export
 * runs the zip this build published.
 */
const INTEGRATION_TEST = `import json, os, sys
import boto3
arn = sys.argv[1]
function = boto3.client("lambda").get_function(FunctionName=arn)
sha256 = json.load(open("dist/function.zip.manifest.json"))["sha256"]
assert sha256 in function["Code"]["Location"], (sha256, function["Code"])
print("deployed", arn, "runs", sha256)
`;

beforeAll(async () => {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  moto = await startMoto({ control: true });
  env = { ...moto.env, LAMBDA_CD_CACHE_DIR: await tempDir('lambda-cd-cache-') };
  const config = { endpoint: moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
  cf = new CloudFormationClient(config);
  const s3 = new S3Client({ ...config, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  s3.destroy();
});
afterAll(async () => {
  cf?.destroy();
  await moto?.stop();
});

/** A repository with stages Gamma and PROD, packaged and templated for `stack`. */
async function builtRepo(stack: string, files: Record<string, string> = {}): Promise<string> {
  // Each test its own function name: moto keeps the functions and log groups of every test.
  const name = stack.replace('Pipe', 'Fn');
  const root = await makeRepo({
    'config/config.yaml': `Name: ${name}\nHandler: app.handler\nStages: [Gamma]\nIntegrationtests: tests/integrationtests\nTags: {team: payments}\n`,
    'config/Gamma/env.yaml': 'STAGE: Gamma\n',
    'tests/integrationtests/test_invoke.py': INTEGRATION_TEST,
    'tests/integrationtests/requirements.txt': '',
    ...files,
  });
  for (const args of [['package'], ['create-cf', '--stack', stack]]) {
    const result = await runCli([...args, '--path', root], { env });
    expect(result.exitCode, result.stderr).toBe(0);
  }
  return root;
}

const deploy = (root: string, ...args: string[]) => runCli(['deploy', '--path', root, ...args], { env });

async function stackOf(name: string) {
  return (await cf.send(new DescribeStacksCommand({ StackName: name }))).Stacks![0]!;
}
async function eventCount(name: string): Promise<number> {
  return (await cf.send(new DescribeStackEventsCommand({ StackName: name }))).StackEvents!.length;
}

describe('lambda-cd deploy', () => {
  it('creates the stack (publishing first), exports Name+Stack+Stage, and integration-test passes against it; unchanged, it says "no changes"', async () => {
    const root = await builtRepo('PipeA');
    const first = await deploy(root, '--stack', 'PipeA', '--stage', 'Gamma', '--bucket', BUCKET);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stderr).toContain('dist/code-location.json does not exist: publishing the zip first');
    // No log group resource: Lambda creates it (as in 2018) unless LogRetentionInDays asks for one.
    for (const line of ['Add     FnAPipeAGammaIAM AWS::IAM::Role', 'Add     FnA AWS::Lambda::Function', 'Add     FnAPipeAGammaAlias AWS::Lambda::Alias']) {
      expect(first.stderr).toContain(line);
    }
    expect(first.stderr).toMatch(/\d\d:\d\d:\d\d PipeAFunctionsGamma AWS::CloudFormation::Stack CREATE_COMPLETE/);
    const lambda = new LambdaClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    const fn = await lambda.send(new GetFunctionCommand({ FunctionName: 'FnAGamma' }));
    expect(first.stdout).toBe(`PipeAFunctionsGamma CREATE_COMPLETE\nFnAPipeAGamma ${fn.Configuration!.FunctionArn}`);
    const exported = (await cf.send(new ListExportsCommand({}))).Exports!.find((e) => e.Name === 'FnAPipeAGamma');
    expect(exported?.Value).toBe(fn.Configuration!.FunctionArn);

    const stack = await stackOf('PipeAFunctionsGamma');
    expect(Object.fromEntries(stack.Tags!.map((t) => [t.Key, t.Value]))).toEqual({ team: 'payments', 'lambda-cd:stage': 'Gamma', 'lambda-cd:pipeline': 'PipeA' });
    expect(stack.EnableTerminationProtection).toBe(false);

    const tested = await runCli(['integration-test', '--path', root, '--stack', 'PipeA', '--stage', 'Gamma'], { env });
    expect(tested.stdout + tested.stderr).toContain('1 passed, 0 failed');
    expect(tested.exitCode).toBe(0);

    const events = await eventCount('PipeAFunctionsGamma');
    const again = await deploy(root, '--stack', 'PipeA', '--stage', 'Gamma', '--json');
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toContain('PipeAFunctionsGamma: no changes');
    const result = JSON.parse(again.stdout);
    expect(result).toMatchObject({ operation: 'none', status: 'CREATE_COMPLETE', published: false, functionArn: fn.Configuration!.FunctionArn, changes: [] });
    expect(await eventCount('PipeAFunctionsGamma')).toBe(events);
    lambda.destroy();
  });

  it('a changed zip is published and deployed through a change set: the function\'s code location changes', async () => {
    const root = await builtRepo('PipeB');
    expect((await deploy(root, '--stack', 'PipeB', '--stage', 'Gamma', '--bucket', BUCKET)).exitCode).toBe(0);
    const before = JSON.parse(await readFile(path.join(root, 'dist/code-location.json'), 'utf8')).Parameters.S3Key;
    await writeFile(path.join(root, 'src/app.py'), 'def handler(event, context):\n    return {"statusCode": 200, "v": 2}\n');
    expect((await runCli(['package', '--path', root], { env })).exitCode).toBe(0);

    const changed = await deploy(root, '--stack', 'PipeB', '--stage', 'Gamma', '--bucket', BUCKET, '--json');
    expect(changed.exitCode, changed.stderr).toBe(0);
    expect(changed.stderr).toMatch(/names the zip [0-9a-f]{12}\.\.\., but the package is [0-9a-f]{12}\.\.\.: publishing the zip first/);
    expect(changed.stderr).toMatch(/UPDATE_COMPLETE/);
    const result = JSON.parse(changed.stdout);
    expect(result).toMatchObject({ operation: 'update', status: 'UPDATE_COMPLETE', published: true });
    expect(result.codeLocation.key).not.toBe(before);
    expect(result.codeLocation.key).toBe(`lambda-cd/FnB/${result.zipSha256}.zip`);
    const lambda = new LambdaClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    const fn = await lambda.send(new GetFunctionCommand({ FunctionName: 'FnBGamma' }));
    expect(fn.Code!.Location).toContain(result.zipSha256);
    lambda.destroy();

    // Stale without a bucket to publish to: exit 2 before any AWS call, saying what to give.
    await writeFile(path.join(root, 'src/app.py'), 'def handler(event, context):\n    return 3\n');
    expect((await runCli(['package', '--path', root], { env })).exitCode).toBe(0);
    const noBucket = await deploy(root, '--stack', 'PipeB', '--stage', 'Gamma');
    expect(noBucket.exitCode).toBe(2);
    expect(noBucket.stderr).toMatch(/code-location.json names the zip .*; give --bucket \(or set LAMBDA_CD_ARTIFACT_BUCKET\)/);
  });

  it('--no-execute shows the change set and changes nothing; a new stack gets a CREATE change set left for review, which the next deploy replaces', async () => {
    const root = await builtRepo('PipeC');
    const review = await deploy(root, '--stack', 'PipeC', '--stage', 'Gamma', '--bucket', BUCKET, '--no-execute', '--json');
    expect(review.exitCode, review.stderr).toBe(0);
    expect(review.stderr).toContain('change set left for review (--no-execute)');
    expect(JSON.parse(review.stdout)).toMatchObject({ operation: 'change-set', status: 'REVIEW_IN_PROGRESS' });
    expect(JSON.parse(review.stdout).changes.map((c: { action: string }) => c.action)).toEqual(['Add', 'Add', 'Add']);
    expect((await stackOf('PipeCFunctionsGamma')).StackStatus).toBe('REVIEW_IN_PROGRESS');

    const created = await deploy(root, '--stack', 'PipeC', '--stage', 'Gamma');
    expect(created.exitCode, created.stderr).toBe(0);
    expect(created.stderr).toContain('it was never created (REVIEW_IN_PROGRESS');
    expect(created.stdout).toMatch(/^PipeCFunctionsGamma CREATE_COMPLETE\n/);

    await writeFile(path.join(root, 'src/app.py'), 'def handler(event, context):\n    return 4\n');
    expect((await runCli(['package', '--path', root], { env })).exitCode).toBe(0);
    const events = await eventCount('PipeCFunctionsGamma');
    const key = (await stackOf('PipeCFunctionsGamma')).Parameters!.find((p) => p.ParameterKey === 'S3Key')!.ParameterValue;
    const updateReview = await deploy(root, '--stack', 'PipeC', '--stage', 'Gamma', '--bucket', BUCKET, '--no-execute');
    expect(updateReview.exitCode, updateReview.stderr).toBe(0);
    expect(updateReview.stderr).toContain('change set left for review');
    expect(await eventCount('PipeCFunctionsGamma')).toBe(events);
    expect((await stackOf('PipeCFunctionsGamma')).Parameters!.find((p) => p.ParameterKey === 'S3Key')!.ParameterValue).toBe(key);
  });

  it('a stack left in ROLLBACK_COMPLETE by a failed first create is deleted and created again, naming the earlier failure', async () => {
    const root = await builtRepo('PipeD');
    await cf.send(new CreateStackCommand({ StackName: 'PipeDFunctionsGamma', TemplateBody: JSON.stringify({ Resources: { Placeholder: { Type: 'AWS::Logs::LogGroup', Properties: { LogGroupName: '/placeholder/d' } } } }) }));
    await setStackState(moto, 'PipeDFunctionsGamma', 'ROLLBACK_COMPLETE', [
      { status: 'CREATE_IN_PROGRESS', reason: 'User Initiated' },
      { logicalId: 'FnD', type: 'AWS::Lambda::Function', status: 'CREATE_FAILED', reason: 'Resource handler returned message: "Error occurred while GetObject. S3 Error Code: NoSuchKey"' },
      { logicalId: 'FnDAlias', type: 'AWS::Lambda::Alias', status: 'CREATE_FAILED', reason: 'Resource creation cancelled' },
      { status: 'ROLLBACK_IN_PROGRESS', reason: 'The following resource(s) failed to create: [FnD]. Rollback requested by user.' },
      { status: 'ROLLBACK_COMPLETE' },
    ]);
    const before = (await stackOf('PipeDFunctionsGamma')).StackId;

    const planned = await deploy(root, '--stack', 'PipeD', '--stage', 'Gamma', '--bucket', BUCKET, '--no-execute', '--json');
    expect(planned.exitCode, planned.stderr).toBe(0);
    expect(JSON.parse(planned.stdout)).toMatchObject({ operation: 'plan', status: 'ROLLBACK_COMPLETE' });
    expect(planned.stderr).toContain('deploy without --no-execute deletes it and creates it again');
    expect((await stackOf('PipeDFunctionsGamma')).StackId).toBe(before);

    const result = await deploy(root, '--stack', 'PipeD', '--stage', 'Gamma', '--bucket', BUCKET);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toContain('PipeDFunctionsGamma: its first create failed (FnD (AWS::Lambda::Function) CREATE_FAILED: Resource handler returned message: "Error occurred while GetObject. S3 Error Code: NoSuchKey") and was rolled back (ROLLBACK_COMPLETE)');
    expect(result.stderr).toContain('deleting it and creating it again');
    const stack = await stackOf('PipeDFunctionsGamma');
    expect(stack.StackId).not.toBe(before);
    expect(stack.StackStatus).toBe('CREATE_COMPLETE');
  });

  it('a stack CloudFormation cannot update is exit 3 with what to do: UPDATE_ROLLBACK_FAILED, an operation in progress', async () => {
    const root = await builtRepo('PipeE');
    expect((await deploy(root, '--stack', 'PipeE', '--stage', 'Gamma', '--bucket', BUCKET)).exitCode).toBe(0);
    await setStackState(moto, 'PipeEFunctionsGamma', 'UPDATE_ROLLBACK_FAILED', [
      { status: 'UPDATE_IN_PROGRESS', reason: 'User Initiated' },
      { logicalId: 'FnEPipeEGammaIAM', type: 'AWS::IAM::Role', status: 'UPDATE_FAILED', reason: 'User is not authorized to perform: iam:PutRolePolicy' },
      { status: 'UPDATE_ROLLBACK_IN_PROGRESS' },
      { logicalId: 'FnE', type: 'AWS::Lambda::Function', status: 'UPDATE_FAILED', reason: 'Function not found' },
      { status: 'UPDATE_ROLLBACK_FAILED' },
    ]);
    const failed = await deploy(root, '--stack', 'PipeE', '--stage', 'Gamma');
    expect(failed.exitCode).toBe(3);
    expect(failed.stderr.trim().split('\n').at(-1)).toBe(
      'lambda-cd: error: deploy: PipeEFunctionsGamma is UPDATE_ROLLBACK_FAILED: an update failed (FnEPipeEGammaIAM (AWS::IAM::Role) UPDATE_FAILED: User is not authorized to perform: iam:PutRolePolicy) ' +
        'and so did its rollback; CloudFormation updates it only after the rollback ends: fix the cause, run aws cloudformation continue-update-rollback --stack-name PipeEFunctionsGamma (--resources-to-skip for resources that cannot go back), then deploy again',
    );
    await setStackState(moto, 'PipeEFunctionsGamma', 'UPDATE_IN_PROGRESS', [{ status: 'UPDATE_IN_PROGRESS', reason: 'User Initiated' }]);
    const busy = await deploy(root, '--stack', 'PipeE', '--stage', 'Gamma');
    expect(busy.exitCode).toBe(3);
    expect(busy.stderr).toContain('deploy: PipeEFunctionsGamma is UPDATE_IN_PROGRESS: another operation is running on it');
  });

  it('a resource moto really fails (its log group exists outside the stack) is exit 3 naming it, before anything is created', async () => {
    // With a retention the template declares the log group, which then collides with Lambda's own.
    const root = await builtRepo('PipeF', { 'config/config.yaml': 'Name: FnF\nHandler: app.handler\nStages: [Gamma]\nLogRetentionInDays: 14\n' });
    const logs = new CloudWatchLogsClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    // What the 2018 system left behind: Lambda made the function's log group itself.
    await logs.send(new CreateLogGroupCommand({ logGroupName: '/aws/lambda/FnFPROD' }));
    logs.destroy();
    const result = await deploy(root, '--stack', 'PipeF', '--stage', 'PROD', '--bucket', BUCKET);
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toContain('lambda-cd: error: deploy: PipeFFunctionsPROD: FnFLogGroup (AWS::Logs::LogGroup) cannot be created: the log group /aws/lambda/FnFPROD already exists');
    expect(await cf.send(new DescribeStacksCommand({ StackName: 'PipeFFunctionsPROD' })).catch((error: Error) => error.message)).toMatch(/does not exist/);
  });

  it('a resource moto rejects in the CreateStack call is exit 3 with its reason and the state the stack was left in', async () => {
    const root = await builtRepo('PipeG');
    const file = path.join(root, 'dist/stackGamma.json');
    const template = JSON.parse(await readFile(file, 'utf8'));
    template.Resources.Queue = { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'not a queue name' } };
    await writeFile(file, JSON.stringify(template));
    const result = await deploy(root, '--stack', 'PipeG', '--stage', 'Gamma', '--bucket', BUCKET);
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toContain('Add     Queue AWS::SQS::Queue');
    expect(result.stderr).toMatch(/lambda-cd: error: CreateStack PipeGFunctionsGamma: InvalidParameterValue: Can only include alphanumeric characters.*; the stack was left CREATE_IN_PROGRESS/);
  });

  it('PROD gets termination protection; outputs go to $GITHUB_OUTPUT and the changes to the step summary', async () => {
    const root = await builtRepo('PipeH');
    const work = await tempDir();
    const outputs = path.join(work, 'output');
    const summary = path.join(work, 'summary');
    const result = await runCli(['deploy', '--path', root, '--stack', 'PipeH', '--stage', 'PROD', '--bucket', BUCKET], { env: { ...env, GITHUB_OUTPUT: outputs, GITHUB_STEP_SUMMARY: summary } });
    expect(result.exitCode, result.stderr).toBe(0);
    expect((await stackOf('PipeHFunctionsPROD')).EnableTerminationProtection).toBe(true);
    const written = await readFile(outputs, 'utf8');
    const sha = JSON.parse(await readFile(path.join(root, 'dist/function.zip.manifest.json'), 'utf8')).sha256;
    expect(parseGithubOutput(written)).toEqual({ 'function-arn': 'arn:aws:lambda:us-east-1:123456789012:function:FnHPROD', stack: 'PipeHFunctionsPROD', 'zip-sha256': sha });
    const markdown = await readFile(summary, 'utf8');
    expect(markdown).toContain('### lambda-cd deploy PROD: PipeHFunctionsPROD created (CREATE_COMPLETE)');
    expect(markdown).toContain('| Add | FnH | AWS::Lambda::Function |');
  });
});

describe('lambda-cd deploy: AWS settings and other templates', () => {
  it('--region and --profile win over the environment, as in the AWS CLI; an unknown profile is exit 3 naming it', async () => {
    const root = await builtRepo('PipeR');
    const home = await tempDir();
    await writeFiles(home, {
      config: '[profile ci]\nregion = eu-west-1\n',
      credentials: '[ci]\naws_access_key_id = ci-key\naws_secret_access_key = ci-secret\n',
    });
    const files = { AWS_CONFIG_FILE: path.join(home, 'config'), AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'credentials') };
    // The environment says us-west-2 and has keys; --region and --profile decide.
    const result = await runCli(['deploy', '--path', root, '--stack', 'PipeR', '--stage', 'Gamma', '--bucket', BUCKET, '--region', 'eu-central-1', '--profile', 'ci', '--json'], {
      env: { ...env, ...files, AWS_REGION: 'us-west-2', AWS_DEFAULT_REGION: 'us-west-2' },
    });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).stackId).toMatch(/^arn:aws:cloudformation:eu-central-1:/);
    const unknown = await runCli(['deploy', '--path', root, '--stack', 'PipeR', '--stage', 'Gamma', '--profile', 'nobody'], { env: { ...env, ...files } });
    expect(unknown.exitCode).toBe(3);
    expect(unknown.stderr).toContain('AWS profile "nobody" not found or unusable');
  });

  it('deploys a YAML template (create-cf --format yaml) to a --function-stack of its own, which integration-test --function-stack reads', async () => {
    const root = await builtRepo('PipeY');
    expect((await runCli(['create-cf', '--path', root, '--stack', 'PipeY', '--stage', 'Gamma', '--format', 'yaml'], { env })).exitCode).toBe(0);
    await rm(path.join(root, 'dist/stackGamma.json'));
    const result = await deploy(root, '--stack', 'PipeY', '--stage', 'Gamma', '--bucket', BUCKET, '--function-stack', 'orders-gamma');
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^orders-gamma CREATE_COMPLETE\n/);
    const tested = await runCli(['integration-test', '--path', root, '--stack', 'PipeY', '--stage', 'Gamma', '--function-stack', 'orders-gamma'], { env });
    expect(tested.exitCode, tested.stdout + tested.stderr).toBe(0);
  });

  it('names the first failed resource, not the ones CloudFormation cancelled after it', () => {
    const events = [
      { LogicalResourceId: 'Stack', ResourceType: 'AWS::CloudFormation::Stack', ResourceStatus: 'CREATE_IN_PROGRESS', ResourceStatusReason: 'User Initiated' },
      { LogicalResourceId: 'Alias', ResourceType: 'AWS::Lambda::Alias', ResourceStatus: 'CREATE_FAILED', ResourceStatusReason: 'Resource creation cancelled' },
      { LogicalResourceId: 'Fn', ResourceType: 'AWS::Lambda::Function', ResourceStatus: 'CREATE_FAILED', ResourceStatusReason: 'Layer version arn:aws:lambda:eu-west-1:1:layer:x:3 does not exist.\u001b[31m' },
      { LogicalResourceId: 'Role', ResourceType: 'AWS::IAM::Role', ResourceStatus: 'DELETE_FAILED', ResourceStatusReason: 'later' },
    ];
    const failure = firstFailure(events);
    expect(failure?.LogicalResourceId).toBe('Fn');
    expect(describeFailure(failure!)).toBe('Fn (AWS::Lambda::Function) CREATE_FAILED: Layer version arn:aws:lambda:eu-west-1:1:layer:x:3 does not exist.\\x1b[31m');
    expect(firstFailure(events.slice(0, 2))?.LogicalResourceId).toBe('Alias');
    expect(firstFailure(events.slice(0, 1))).toBeUndefined();
  });
});

describe('lambda-cd deploy: bad input stops before any AWS call', () => {
  // No endpoint at all: any AWS call would fail with "cannot reach".
  const offline = { AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' };

  it('a stage the repository lacks lists the repository\'s stages', async () => {
    const root = await makeRepo({ 'config/config.yaml': 'Name: Demo\nHandler: app.handler\nStages: [Gamma, Beta]\n', 'config/Gamma/env.yaml': '', 'config/Beta/env.yaml': '' });
    const result = await runCli(['deploy', '--path', root, '--stack', 'Pipe', '--stage', 'Gama'], { env: offline });
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim()).toBe('lambda-cd: error: deploy: --stage expects one of the repository\'s stages Gamma, Beta, PROD (the folders in config/), found "Gama"; did you mean Gamma?');
    const fromEnv = await runCli(['deploy', '--path', root], { env: { ...offline, LAMBDA_CD_STACK: 'Pipe', LAMBDA_CD_STAGE: 'QA' } });
    expect(fromEnv.exitCode).toBe(2);
    expect(fromEnv.stderr).toContain('found "QA"');
  });

  it('a template written for another --stack, a zip that does not match its manifest, a missing template or manifest: exit 2 naming the file', async () => {
    const root = await builtRepo('PipeX');
    const other = await runCli(['deploy', '--path', root, '--stack', 'PipeY', '--stage', 'Gamma'], { env: offline });
    expect(other.exitCode).toBe(2);
    expect(other.stderr).toContain('dist/stackGamma.json: exports FnXPipeXGamma, not FnXPipeYGamma (Name+Stack+Stage): it was written for another --stack or function; run `lambda-cd create-cf --stack PipeY` again');

    const zip = path.join(root, 'dist/function.zip');
    await writeFile(zip, Buffer.concat([await readFile(zip), Buffer.from('tampered')]));
    const mixed = await runCli(['deploy', '--path', root, '--stack', 'PipeX', '--stage', 'Gamma'], { env: offline });
    expect(mixed.exitCode).toBe(2);
    expect(mixed.stderr).toMatch(/function.zip \(sha256 [0-9a-f]{12}\.\.\.\) does not match \S+\/function.zip.manifest.json/);

    await rm(path.join(root, 'dist/function.zip.manifest.json'));
    const noManifest = await runCli(['deploy', '--path', root, '--stack', 'PipeX', '--stage', 'Gamma'], { env: offline });
    expect(noManifest.exitCode).toBe(2);
    expect(noManifest.stderr).toContain('dist/function.zip.manifest.json: no package manifest; run `lambda-cd package` first');

    await rm(path.join(root, 'dist/stackPROD.json'));
    const noTemplate = await runCli(['deploy', '--path', root, '--stack', 'PipeX', '--stage', 'PROD'], { env: offline });
    expect(noTemplate.exitCode).toBe(2);
    expect(noTemplate.stderr).toContain('dist/stackPROD.json: no template; run `lambda-cd create-cf --stack PipeX` first');
  });

  it('--region is checked; --stack and --stage are required', async () => {
    const root = await makeRepo();
    const region = await runCli(['deploy', '--path', root, '--stack', 'Pipe', '--stage', 'PROD', '--region', 'Frankfurt'], { env: offline });
    expect(region.exitCode).toBe(2);
    expect(region.stderr).toContain('deploy: --region expects an AWS region such as eu-west-1, found "Frankfurt"');
    const missing = await runCli(['deploy', '--path', root, '--stage', 'PROD'], { env: offline });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain('deploy: --stack NAME is required (or set LAMBDA_CD_STACK)');
  });
});

function parseGithubOutput(text: string): Record<string, string> {
  const result: Record<string, string> = {};
  const pattern = /^([^<\n]+)<<(\S+)\n([\s\S]*?)\n\2\n/gm;
  for (const match of text.matchAll(pattern)) result[match[1]!] = match[3]!;
  return result;
}
