/**
 * A generated template deployed to moto's CloudFormation over HTTP with the real AWS SDK:
 * the zip from `lambda-cd package` in a bucket, S3Storage/S3Key as parameters, and the
 * export Name+Stack+Stage pointing at the created function (what integration-test reads).
 * The test server adds to moto what CloudFormation does with AWS::Lambda::Version and
 * AWS::Lambda::Alias (test/helpers/moto-server.py): the template publishes version 1 and the
 * alias Name+Stack+Stage points at it.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { CloudFormationClient, CreateStackCommand, DescribeStackResourcesCommand, DescribeStacksCommand, ListExportsCommand, waitUntilStackCreateComplete } from '@aws-sdk/client-cloudformation';
import { GetAliasCommand, GetFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { startMoto, type MotoServer } from './helpers/moto.js';
import { copyExample, tempDir } from './helpers/repo.js';
import { buildExampleWheels, offlinePipEnv } from './helpers/wheels.js';

let moto: MotoServer;
beforeAll(async () => {
  moto = await startMoto();
});
afterAll(async () => {
  await moto?.stop();
});

function clientConfig() {
  return {
    endpoint: moto.endpoint,
    region: moto.env.AWS_REGION,
    credentials: { accessKeyId: moto.env.AWS_ACCESS_KEY_ID!, secretAccessKey: moto.env.AWS_SECRET_ACCESS_KEY!, sessionToken: moto.env.AWS_SESSION_TOKEN },
  };
}

describe('a create-cf template deployed to CloudFormation (moto)', () => {
  it('creates the function and exports its ARN as Name+Stack+Stage', async () => {
    const repo = await copyExample();
    const work = await tempDir();
    const wheelhouse = path.join(work, 'wheels');
    await buildExampleWheels(wheelhouse);
    const zip = path.join(work, 'function.zip');
    const packaged = await runCli(['package', '--path', repo, '--out', zip], { env: offlinePipEnv(wheelhouse) });
    expect(packaged.stderr).not.toContain('error:');
    expect(packaged.exitCode).toBe(0);

    const created = await runCli(['create-cf', '--path', repo, '--stack', 'Pipe', '--stage', 'Gamma', '--out-dir', work, '--zip', zip]);
    expect(created.exitCode).toBe(0);
    expect(created.stdout.trim()).toBe(path.join(work, 'stackGamma.json'));

    const s3 = new S3Client({ ...clientConfig(), forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: 'pipeline-artifacts' }));
    await s3.send(new PutObjectCommand({ Bucket: 'pipeline-artifacts', Key: 'build/function.zip', Body: await readFile(zip) }));

    const cloudFormation = new CloudFormationClient(clientConfig());
    const StackName = 'PipeFunctionsGamma';
    await cloudFormation.send(new CreateStackCommand({
      StackName,
      TemplateBody: await readFile(path.join(work, 'stackGamma.json'), 'utf8'),
      Parameters: [
        { ParameterKey: 'S3Storage', ParameterValue: 'pipeline-artifacts' },
        { ParameterKey: 'S3Key', ParameterValue: 'build/function.zip' },
      ],
      Capabilities: ['CAPABILITY_NAMED_IAM'],
    }));
    const waited = await waitUntilStackCreateComplete({ client: cloudFormation, maxWaitTime: 60, minDelay: 1, maxDelay: 2 }, { StackName });
    expect(waited.state).toBe('SUCCESS');

    const resources = await cloudFormation.send(new DescribeStackResourcesCommand({ StackName }));
    const types = resources.StackResources!.filter((r) => r.LogicalResourceId).map((r) => `${r.LogicalResourceId.replace(/Version[0-9a-f]{16}$/, 'Version<id>')} ${r.ResourceType} ${r.ResourceStatus}`);
    expect(types.sort()).toEqual([
      'HelloPython AWS::Lambda::Function CREATE_COMPLETE',
      'HelloPythonLogGroup AWS::Logs::LogGroup CREATE_COMPLETE',
      'HelloPythonPipeGammaAlias AWS::Lambda::Alias CREATE_COMPLETE',
      'HelloPythonPipeGammaIAM AWS::IAM::Role CREATE_COMPLETE',
      'HelloPythonVersion<id> AWS::Lambda::Version CREATE_COMPLETE',
    ]);

    const exports = await cloudFormation.send(new ListExportsCommand({}));
    const exported = exports.Exports!.find((e) => e.Name === 'HelloPythonPipeGamma');
    const lambda = new LambdaClient(clientConfig());
    const fn = await lambda.send(new GetFunctionCommand({ FunctionName: 'HelloPythonGamma' }));
    expect(exported?.Value).toBe(fn.Configuration!.FunctionArn);
    expect(fn.Configuration).toMatchObject({
      Handler: 'app.handler',
      Runtime: 'python3.12',
      Timeout: 30,
      Environment: { Variables: { GREETING: 'Hello from Gamma', LOG_LEVEL: 'DEBUG' } },
    });
    expect(fn.Configuration!.Role).toMatch(/:role\/.+/);
    expect(fn.Configuration!.CodeSize).toBe((await readFile(zip)).length);
    // Version 1 of exactly this zip, and the alias on it.
    const alias = await lambda.send(new GetAliasCommand({ FunctionName: 'HelloPythonGamma', Name: 'HelloPythonPipeGamma' }));
    expect(alias.FunctionVersion).toBe('1');
    const version = await lambda.send(new GetFunctionCommand({ FunctionName: 'HelloPythonGamma', Qualifier: '1' }));
    expect(version.Configuration!.CodeSha256).toBe(createHash('sha256').update(await readFile(zip)).digest('base64'));
    const outputs = Object.fromEntries((await cloudFormation.send(new DescribeStacksCommand({ StackName }))).Stacks![0]!.Outputs!.map((o) => [o.OutputKey, o.OutputValue]));
    expect(outputs).toMatchObject({ AliasArn: `${fn.Configuration!.FunctionArn}:HelloPythonPipeGamma`, FunctionVersion: '1' });
    cloudFormation.destroy();
    lambda.destroy();
    s3.destroy();
  });
});
