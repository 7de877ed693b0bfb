/**
 * A Node.js function repository through the other runners: `init --runtime nodejs22.x`, its unit
 * tests and zip, create-cf with env.mjs / env.js files (getEnv(stage), run in a child node), and
 * integration-test against moto (the ARN as with Python: argument for Runner: script, FUNCTION_ARN
 * and the stack's details in the environment; the AWS SDK v3 as Lambda provides it).
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { CloudFormationClient, CreateStackCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CreateFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { startMoto, type MotoServer } from './helpers/moto.js';
import { makeNodeRepo, NODE_CONFIG } from './helpers/npm-packages.js';
import { tempDir, writeFiles } from './helpers/repo.js';

describe('a Node.js repository from init to templates', { timeout: 300_000 }, () => {
  it('init --runtime nodejs22.x writes a repository whose unit tests pass and which packages and templates', async () => {
    const root = path.join(await tempDir(), 'orders');
    const init = await runCli(['init', root, '--runtime', 'nodejs22.x']);
    expect(init.exitCode).toBe(0);
    expect(init.stdout).toMatch(/src\/index\.mjs/);
    expect(await readFile(path.join(root, 'config/config.yaml'), 'utf8')).toMatch(/Handler: index\.handler\nRuntime: nodejs22\.x/);
    const unit = await runCli(['unit-test', '--path', root]);
    expect(unit.exitCode).toBe(0);
    expect(unit.stdout).toMatch(/\n2 passed, 0 failed$/);
    const pkg = await runCli(['package', '--path', root]);
    expect(pkg.exitCode).toBe(0);
    expect(pkg.stderr).toMatch(/handler index\.handler loads from the zip/);

    await writeFiles(root, {
      'config/Gamma/env.yaml': '',
      'config/PROD/env.yaml': '',
    });
    const { rm } = await import('node:fs/promises');
    await rm(path.join(root, 'config/Gamma/env.yaml'));
    await rm(path.join(root, 'config/PROD/env.yaml'));
    await writeFiles(root, {
      'config/Gamma/env.mjs': "export async function getEnv(stage) {\n  console.log('building the env');\n  return { STAGE: stage, TABLE: `orders-${stage.toLowerCase()}`, LIMIT: 12345678901234567890 };\n}\n",
      // A .js file under "type": "module" (what init writes) is ESM.
      'config/PROD/env.js': "export const getEnv = (stage) => ({ STAGE: stage, TABLE: 'orders' });\n",
    });
    const cf = await runCli(['create-cf', '--path', root, '--stack', 'Pipe']);
    expect(cf.stderr).not.toMatch(/error/);
    expect(cf.exitCode).toBe(0);
    const gamma = JSON.parse(await readFile(path.join(root, 'dist/stackGamma.json'), 'utf8'));
    const fn = Object.values(gamma.Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>).find((resource) => resource.Type === 'AWS::Lambda::Function')!;
    expect(fn.Properties.Runtime).toBe('nodejs22.x');
    expect(fn.Properties.Handler).toBe('index.handler');
    expect((fn.Properties.Environment as { Variables: Record<string, string> }).Variables).toMatchObject({ STAGE: 'Gamma', TABLE: 'orders-gamma' });
    const prod = JSON.parse(await readFile(path.join(root, 'dist/stackPROD.json'), 'utf8'));
    expect(JSON.stringify(prod)).toContain('"TABLE":"orders"');

    await writeFiles(root, { 'config/PROD/env.js': 'export function getEnv() {\n  throw new TypeError("no table configured");\n}\n' });
    const thrown = await runCli(['create-cf', '--path', root, '--stack', 'Pipe']);
    expect(thrown.exitCode).toBe(2);
    expect(thrown.stderr).toMatch(/config\/PROD\/env\.js:2: getEnv\(\) threw TypeError: no table configured/);
  });

  it('init --runtime refuses a runtime Lambda does not offer', async () => {
    const result = await runCli(['init', path.join(await tempDir(), 'x'), '--runtime', 'nodejs18.x']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/init: --runtime: expected one of python3\.10, .*nodejs22\.x, nodejs24\.x, found "nodejs18\.x"/);
  });
});

describe('integration-test: a Node.js function on moto', { timeout: 300_000 }, () => {
  let moto: MotoServer;
  let env: Record<string, string>;
  let functionArn: string;

  beforeAll(async () => {
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
    moto = await startMoto();
    await fetch(`${moto.endpoint}/moto-api/config`, { method: 'POST', body: JSON.stringify({ lambda: { use_docker: false } }) });
    env = { ...moto.env, LAMBDA_CD_CACHE_DIR: await tempDir('lambda-cd-cache-') };
    const clientConfig = { endpoint: moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
    const cf = new CloudFormationClient(clientConfig);
    await cf.send(new CreateStackCommand({
      StackName: 'Roles', Capabilities: ['CAPABILITY_NAMED_IAM'],
      TemplateBody: JSON.stringify({
        Resources: { Role: { Type: 'AWS::IAM::Role', Properties: { RoleName: 'node-role', AssumeRolePolicyDocument: { Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] } } } },
        Outputs: { RoleArn: { Value: { 'Fn::GetAtt': ['Role', 'Arn'] } } },
      }),
    }));
    const roleArn = (await cf.send(new DescribeStacksCommand({ StackName: 'Roles' }))).Stacks![0]!.Outputs![0]!.OutputValue!;
    // The zip lambda-cd builds for the function (moto runs no code: its Lambda echoes the event).
    const repo = await makeNodeRepo();
    expect((await runCli(['package', '--path', repo])).exitCode).toBe(0);
    const lambda = new LambdaClient(clientConfig);
    const created = await lambda.send(new CreateFunctionCommand({ FunctionName: 'DemoNodeGamma', Runtime: 'nodejs22.x', Role: roleArn, Handler: 'index.handler', Code: { ZipFile: readFileSync(path.join(repo, 'dist/function.zip')) } }));
    functionArn = created.FunctionArn!;
    await cf.send(new CreateStackCommand({
      StackName: 'PipeFunctionsGamma',
      TemplateBody: JSON.stringify({ Resources: { Marker: { Type: 'AWS::SNS::Topic' } }, Outputs: { Export: { Value: functionArn, Export: { Name: 'DemoNodePipeGamma' } }, ApiUrl: { Value: 'https://api.example.test/gamma' } } }),
    }));
  });

  afterAll(async () => {
    await moto?.stop();
  });

  const INVOKE = `import test from 'node:test';
import assert from 'node:assert/strict';
import { LambdaClient, InvokeCommand } from '@aws-sdk/client-lambda';
test('invokes the deployed function with the SDK Lambda provides', async () => {
  assert.equal(process.env.FUNCTION_NAME, 'DemoNodeGamma');
  assert.equal(process.env.STAGE, 'Gamma');
  assert.equal(process.env.STACK_NAME, 'Pipe');
  assert.equal(process.env.ApiUrl, 'https://api.example.test/gamma');
  const response = await new LambdaClient({}).send(new InvokeCommand({ FunctionName: process.env.FUNCTION_ARN, Payload: JSON.stringify({ ping: 1 }) }));
  assert.deepEqual(JSON.parse(Buffer.from(response.Payload).toString()), { ping: 1 });
});
`;
  const SCRIPT = "if (process.argv[2] !== process.env.FUNCTION_ARN) { console.error('argv', process.argv); process.exit(1); }\nconsole.log('checked', process.argv[2]);\n";

  it('runs node --test files (and Runner: script with the ARN as argument) against the stage\'s function', async () => {
    const root = await makeNodeRepo({ files: { 'config/Gamma/.keep': '', 'tests/integrationtests/invoke.test.mjs': INVOKE } });
    const result = await runCli(['integration-test', '--path', root, '--stack', 'Pipe', '--stage', 'Gamma'], { env });
    expect(result.stderr).not.toMatch(/error/);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/==== PASS tests\/integrationtests\/invoke\.test\.mjs/);
    expect(result.stdout).toMatch(/\n1 passed, 0 failed$/);

    const script = await makeNodeRepo({ files: { 'config/Gamma/.keep': '', 'config/config.yaml': `${NODE_CONFIG}Integrationtests: {Folder: tests/integrationtests, Runner: script}\n`, 'tests/integrationtests/check.mjs': SCRIPT } });
    const byScript = await runCli(['integration-test', '--path', script, '--stack', 'Pipe', '--stage', 'Gamma'], { env });
    expect(byScript.exitCode).toBe(0);
    expect(byScript.stdout).toContain(`checked ${functionArn}`);
  });
});
