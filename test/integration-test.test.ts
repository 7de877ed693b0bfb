/**
 * integration-test against moto's server through the real AWS SDK: stacks with exports made
 * by CloudFormation CreateStack, a function made by Lambda CreateFunction. moto runs no
 * Lambda code here (no Docker): its "simple" Lambda answers an invoke with the event itself,
 * or with a response queued through /moto-api/static/lambda-simple/response.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { CloudFormationClient, CreateStackCommand, DescribeStacksCommand, ListExportsCommand } from '@aws-sdk/client-cloudformation';
import { CreateFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE, runCli } from './helpers/cli.js';
import { startMoto, type MotoServer } from './helpers/moto.js';
import { makeRepo, tempDir } from './helpers/repo.js';

/** The stages these tests name, as folders of the repository (--stage must be one of them; Gama and Gone have no function). */
const STAGE_FOLDERS = { 'config/Gamma/.keep': '', 'config/Gama/.keep': '', 'config/Gone/.keep': '' };
import { buildWheel, offlinePipEnv } from './helpers/wheels.js';

let moto: MotoServer;
let env: Record<string, string>;
let functionArn: string;
const STACK = 'Pipe';
const FUNCTION_STACK = 'PipeFunctionsGamma';

async function createStack(cf: CloudFormationClient, name: string, template: object): Promise<void> {
  await cf.send(new CreateStackCommand({ StackName: name, TemplateBody: JSON.stringify(template), Capabilities: ['CAPABILITY_NAMED_IAM'] }));
}

async function queueInvokeResponse(body: object): Promise<void> {
  const response = await fetch(`${moto.endpoint}/moto-api/static/lambda-simple/response`, {
    method: 'POST',
    body: JSON.stringify({ results: [JSON.stringify(body)], region: 'us-east-1' }),
  });
  expect(response.status).toBe(201);
}

beforeAll(async () => {
  // This process uses the SDK too (to set moto up); keep its Node-version notice out of the log.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  moto = await startMoto();
  // No Docker here: moto's Lambda must not try to run the code in a container.
  await fetch(`${moto.endpoint}/moto-api/config`, { method: 'POST', body: JSON.stringify({ lambda: { use_docker: false } }) });
  const wheelhouse = await tempDir('lambda-cd-wheels-');
  await buildWheel(wheelhouse, { name: 'itlib', version: '2.0', files: { 'itlib/__init__.py': 'VERSION = "2.0"\n' } });
  // One cache for every repository here: same requirements, so pip runs once (the cache at work).
  env = { ...moto.env, ...offlinePipEnv(wheelhouse), LAMBDA_CD_CACHE_DIR: await tempDir('lambda-cd-cache-') };

  const clientConfig = { endpoint: moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
  const cf = new CloudFormationClient(clientConfig);
  const lambda = new LambdaClient(clientConfig);
  // 120 other exports first, so the one the runner looks for is not on ListExports' first page.
  const filler = Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`Out${i}`, { Value: `value-${i}`, Export: { Name: `Other${String(i).padStart(3, '0')}` } }]));
  await createStack(cf, 'Filler', {
    Resources: {
      Role: { Type: 'AWS::IAM::Role', Properties: { RoleName: 'demo-role', AssumeRolePolicyDocument: { Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] } } },
    },
    Outputs: { ...filler, RoleArn: { Value: { 'Fn::GetAtt': ['Role', 'Arn'] } } },
  });
  const roleArn = (await cf.send(new DescribeStacksCommand({ StackName: 'Filler' }))).Stacks![0]!.Outputs!.find((o) => o.OutputKey === 'RoleArn')!.OutputValue!;

  const zipDir = await tempDir();
  const zipFile = path.join(zipDir, 'function.zip');
  await execa('python3', ['-c', 'import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], "w") as z: z.writestr("app.py", "def handler(event, context):\\n    return event\\n")', zipFile]);
  const created = await lambda.send(new CreateFunctionCommand({ FunctionName: 'DemoGamma', Runtime: 'python3.12', Role: roleArn, Handler: 'app.handler', Code: { ZipFile: readFileSync(zipFile) } }));
  functionArn = created.FunctionArn!;

  // The function stack as create-cf writes it: an output exported as Name+Stack+Stage.
  await createStack(cf, FUNCTION_STACK, {
    Resources: { Marker: { Type: 'AWS::SNS::Topic' } },
    Outputs: {
      DemoPipeGamma: { Value: functionArn, Export: { Name: `Demo${STACK}Gamma` }, Description: 'Gamma: ARN for Lambda Function' },
      ApiUrl: { Value: 'https://api.example.test/gamma' },
    },
  });
  // A stack exporting the ARN of a function that does not exist.
  await createStack(cf, 'PipeFunctionsGone', {
    Resources: { Marker: { Type: 'AWS::SNS::Topic' } },
    Outputs: { DemoPipeGone: { Value: functionArn.replace('DemoGamma', 'DemoGone'), Export: { Name: `Demo${STACK}Gone` } } },
  });

  const firstPage = await cf.send(new ListExportsCommand({}));
  expect(firstPage.NextToken).toBeTruthy();
  expect(firstPage.Exports!.map((e) => e.Name)).not.toContain(`Demo${STACK}Gamma`);
});

afterAll(async () => {
  await moto?.stop();
});

/** A test file that checks what the runner passes: the ARN as sys.argv[1] and the environment. */
const CHECK_ENV = `import os, sys
import itlib
arn = sys.argv[1]
assert arn == os.environ["FUNCTION_ARN"], (arn, os.environ["FUNCTION_ARN"])
assert os.environ["FUNCTION_NAME"] == "DemoGamma", os.environ["FUNCTION_NAME"]
assert os.environ["STAGE"] == "Gamma"
assert os.environ["STACK_NAME"] == "Pipe"
assert os.environ["AWS_REGION"] == "us-east-1"
assert os.environ["ApiUrl"] == "https://api.example.test/gamma"
assert os.getcwd() == os.environ["EXPECTED_CWD"], os.getcwd()
print("checked", arn, "itlib", itlib.VERSION)
`;

async function integrationRepo(files: Record<string, string>): Promise<string> {
  return makeRepo({ ...STAGE_FOLDERS,  'tests/integrationtests/requirements.txt': 'itlib==2.0\n', ...files });
}

function integrationTest(root: string, ...args: string[]) {
  return runCli(['integration-test', '--path', root, '--stack', STACK, '--stage', 'Gamma', ...args], { env: { ...env, EXPECTED_CWD: root } });
}

/**
 * moto's functions are Active at once, so the states a deployment passes through come from a
 * stand-in for Lambda's GetFunctionConfiguration: each request gets the next state (the last repeats).
 */
async function lambdaWithStates(states: object[]): Promise<{ endpoint: string; close(): Promise<void> }> {
  let served = 0;
  const server = createServer((request, response) => {
    const state = states[Math.min(served++, states.length - 1)];
    const ok = request.method === 'GET' && /\/2015-03-31\/functions\/[^/]+\/configuration/.test(request.url ?? '');
    response.writeHead(ok ? 200 : 404, { 'content-type': 'application/json' });
    response.end(JSON.stringify(ok ? { FunctionName: 'DemoGamma', FunctionArn: functionArn, ...state } : { message: 'unexpected request' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('integration-test: waiting for the function', () => {
  const run = (root: string, lambda: string, ...args: string[]) =>
    runCli(['integration-test', '--path', root, '--stack', STACK, '--stage', 'Gamma', ...args], { env: { ...env, EXPECTED_CWD: root, AWS_ENDPOINT_URL_LAMBDA: lambda } });

  it('waits while the function is Pending or updating, with progress, then tests', async () => {
    const lambda = await lambdaWithStates([{ State: 'Pending' }, { State: 'Active', LastUpdateStatus: 'InProgress' }, { State: 'Active', LastUpdateStatus: 'Successful' }]);
    try {
      const root = await makeRepo({ ...STAGE_FOLDERS,  'tests/integrationtests/test_a_ok.py': 'print("fine")\n' });
      const result = await run(root, lambda.endpoint);
      expect(result.stderr).toMatch(/waiting for DemoGamma: state Pending \(0 s of at most 300 s\)/);
      expect(result.stderr).toContain('waiting for DemoGamma: an update in progress');
      expect(result.exitCode).toBe(0);
    } finally {
      await lambda.close();
    }
  });

  it('a Failed function is exit 3 with Lambda\'s reason; a function still Pending after --wait is exit 3', async () => {
    const failed = await lambdaWithStates([{ State: 'Failed', StateReason: 'The provided execution role does not have permissions', StateReasonCode: 'InvalidConfiguration' }]);
    const root = await makeRepo({ ...STAGE_FOLDERS,  'tests/integrationtests/test_a_ok.py': 'print("fine")\n' });
    try {
      const result = await run(root, failed.endpoint);
      expect(result.exitCode).toBe(3);
      expect(result.stderr).toContain(`Lambda function ${functionArn} is in state Failed: The provided execution role does not have permissions (InvalidConfiguration)`);
    } finally {
      await failed.close();
    }
    const pending = await lambdaWithStates([{ State: 'Pending' }]);
    try {
      const result = await run(root, pending.endpoint, '--wait', '1');
      expect(result.exitCode).toBe(3);
      expect(result.stderr).toMatch(/still has state Pending after 1 s \(--wait 1\)/);
    } finally {
      await pending.close();
    }
  });
});

describe('integration-test', () => {
  it('finds the export beyond the first page and gives each test the ARN (sys.argv[1]) and the environment', async () => {
    const root = await integrationRepo({
      'tests/integrationtests/test_env.py': CHECK_ENV,
      // The bundled example's 2018-style test, unchanged: boto3 invokes the ARN from sys.argv[1].
      'tests/integrationtests/test_invoke.py': readFileSync(path.join(EXAMPLE, 'tests/integrationtests/test_invoke.py'), 'utf8'),
    });
    await queueInvokeResponse({ statusCode: 200, body: '{"message": "Hello, pipeline!"}' });
    const result = await integrationTest(root);
    expect(result.stderr).toContain(`function ${functionArn} (from export DemoPipeGamma)`);
    expect(result.stderr).not.toContain('NodeVersionSupportWarning');
    expect(result.stdout).toContain(`checked ${functionArn} itlib 2.0`);
    expect(result.stdout).toContain(`invoked ${functionArn} {'statusCode': 200`);
    expect(result.stdout).toMatch(/\n2 passed, 0 failed$/);
    expect(result.exitCode).toBe(0);
    const report = readFileSync(path.join(root, '.lambda-cd/reports/integration-tests.xml'), 'utf8');
    expect(report).toMatch(/<testsuite name="integration-tests" tests="2" failures="0"/);
  });

  it('--function-stack reads the stack outputs with DescribeStacks instead of the exports', async () => {
    const root = await integrationRepo({ 'tests/integrationtests/test_env.py': CHECK_ENV });
    // No export DemoPipeGamma exists for this stage name, but the stack names the function.
    const result = await integrationTest(root, '--function-stack', FUNCTION_STACK);
    expect(result.stderr).toContain(`(from stack ${FUNCTION_STACK} output DemoPipeGamma)`);
    expect(result.exitCode).toBe(0);

    const missing = await integrationTest(root, '--function-stack', 'NoSuchStack');
    expect(missing.exitCode).toBe(3);
    expect(missing.stderr).toContain('CloudFormation stack "NoSuchStack" does not exist in us-east-1');
  });

  it('a missing export is exit 3 naming the export and the closest existing ones', async () => {
    const root = await integrationRepo({ 'tests/integrationtests/test_env.py': CHECK_ENV });
    const result = await runCli(['integration-test', '--path', root, '--stack', STACK, '--stage', 'Gama'], { env });
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toMatch(/no CloudFormation export named "DemoPipeGama" \(Name\+Stack\+Stage\); closest of the 12\d exports in us-east-1: DemoPipeGamma, DemoPipeGone,/);
  });

  it('a function that does not exist is exit 3 with a clear message', async () => {
    const root = await integrationRepo({ 'tests/integrationtests/test_env.py': CHECK_ENV });
    const result = await runCli(['integration-test', '--path', root, '--stack', STACK, '--stage', 'Gone'], { env });
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toContain(`Lambda function ${functionArn.replace('DemoGamma', 'DemoGone')} does not exist in us-east-1`);
  });

  it('a failing test is exit 1 and a failure in the JUnit report', async () => {
    const root = await integrationRepo({
      'tests/integrationtests/test_a_ok.py': 'print("fine")\n',
      'tests/integrationtests/test_b_bad.py': 'import sys\nprint("expected 200, got 500")\nsys.exit(1)\n',
    });
    const result = await integrationTest(root);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/==== FAIL tests\/integrationtests\/test_b_bad\.py .*exit 1\)\nexpected 200, got 500/);
    expect(result.stdout).toMatch(/\n1 passed, 1 failed$/);
    const report = readFileSync(path.join(root, '.lambda-cd/reports/integration-tests.xml'), 'utf8');
    expect(report).toContain('<failure message="exit 1" type="failure">expected 200, got 500</failure>');
  });

  it('--invoke smoke-tests the function: a response passes, a function error fails with the error shown', async () => {
    const root = await integrationRepo({ 'tests/integrationtests/test_a_ok.py': 'print("fine")\n' });
    const events = await tempDir();
    const ping = path.join(events, 'ping.json');
    writeFileSync(ping, JSON.stringify({ name: 'smoke' }));
    await queueInvokeResponse({ statusCode: 200, body: 'pong' });
    const ok = await integrationTest(root, '--invoke', ping);
    expect(ok.stdout).toMatch(/==== PASS invoke \S*ping\.json/);
    expect(ok.stdout).toContain('response: {"statusCode":200,"body":"pong"}');
    expect(ok.stdout).toMatch(/\n2 passed, 0 failed$/);
    expect(ok.exitCode).toBe(0);

    // moto's simple Lambda answers with the event; one over 6 MB is its one FunctionError ("Unhandled").
    const huge = path.join(events, 'huge.json');
    writeFileSync(huge, JSON.stringify({ blob: 'x'.repeat(6_100_000) }));
    const failed = await integrationTest(root, '--invoke', huge);
    expect(failed.exitCode).toBe(1);
    expect(failed.stdout).toMatch(/==== FAIL invoke \S*huge\.json \(.*function error Unhandled\)/);
    expect(failed.stdout).toContain('Response payload size exceeded maximum allowed payload size');
    expect(failed.stdout).toMatch(/\n1 passed, 1 failed$/);

    const bad = await integrationTest(root, '--invoke', path.join(events, 'nope.json'));
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('nope.json: expected a JSON event file, found no such file');
  });

  it('--json prints the function, every --invoke and file with status and duration; test output goes to stderr', async () => {
    const root = await integrationRepo({ 'tests/integrationtests/test_env.py': CHECK_ENV, 'tests/integrationtests/test_fail.py': 'raise SystemExit("no pong")\n' });
    const events = await tempDir();
    const ping = path.join(events, 'ping.json');
    writeFileSync(ping, JSON.stringify({ name: 'smoke' }));
    const result = await integrationTest(root, '--json', '--invoke', ping);
    expect(result.exitCode).toBe(1);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ command: 'integration-test', suite: 'integration-tests', result: 'failed', exitCode: 1, passed: 2, failed: 1, stack: STACK, stage: 'Gamma', functionArn });
    expect(summary.cases.map((c: { kind: string; file?: string; name?: string; status: string }) => [c.kind, c.file ?? c.name, c.status])).toEqual([
      ['invoke', `invoke ${ping}`, 'passed'],
      ['file', 'tests/integrationtests/test_env.py', 'passed'],
      ['file', 'tests/integrationtests/test_fail.py', 'failed'],
    ]);
    expect(summary.cases.every((c: { durationMs: unknown }) => typeof c.durationMs === 'number')).toBe(true);
    expect(result.stderr).toContain('==== FAIL tests/integrationtests/test_fail.py');
    expect(result.stderr).toContain('no pong');
  });

  it("tests get boto3 even when the index lacks the Runtime's: the interpreter's, with one warning", async () => {
    // This wheelhouse has no boto3 (the example's test_invoke.py needs the real one to reach moto).
    const root = await makeRepo({ ...STAGE_FOLDERS,  'tests/integrationtests/test_invoke.py': readFileSync(path.join(EXAMPLE, 'tests/integrationtests/test_invoke.py'), 'utf8') });
    await queueInvokeResponse({ statusCode: 200, body: '{}' });
    const result = await integrationTest(root);
    expect(result.exitCode, result.stderr).toBe(0);
    const said = result.stderr.split('\n').filter((line) => line.includes('could not be installed for the tests'));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/boto3 1\.28\.72 and botocore 1\.31\.72 \(as python3\.12 carries them\) could not be installed for the tests: the package index offers no boto3; they import boto3 \S+ and botocore \S+ from python3 \(lambda-cd tries again after \d{4}-\d\d-\d\d \d\d:\d\d UTC, or once \S+sdk-[0-9a-f]{32} is deleted\)$/);
    // The failure is remembered: the next run does not ask the index again, and says the same.
    await queueInvokeResponse({ statusCode: 200, body: '{}' });
    const again = await integrationTest(root);
    expect(again.exitCode).toBe(0);
    expect(again.stderr.split('\n').filter((line) => line.includes('could not be installed for the tests'))).toEqual(said);
    expect(again.stderr).not.toContain('installing boto3');
  });

  it('no AWS region is exit 3 saying what to set', async () => {
    const root = await integrationRepo({ 'tests/integrationtests/test_env.py': CHECK_ENV });
    const result = await runCli(['integration-test', '--path', root, '--stack', STACK, '--stage', 'Gamma'], {
      env: { ...env, AWS_REGION: undefined, AWS_DEFAULT_REGION: undefined, AWS_PROFILE: undefined, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_EC2_METADATA_DISABLED: 'true' },
    });
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toContain('no AWS region; set AWS_REGION');
  });

  it('--stage and --stack are required (or their environment variables)', async () => {
    const result = await runCli(['integration-test', '--path', EXAMPLE, '--stack', STACK], { env: { ...env, LAMBDA_CD_STAGE: '' } });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('--stage STAGE is required (or set LAMBDA_CD_STAGE)');
  });
});

describe('integration-test: nothing to run', () => {
  it('no integration tests (nothing configured, or the 2018 default test/ holding no test files) passes without calling AWS', async () => {
    // No AWS configuration at all: any call would fail.
    const noAws = { ...env, AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_REGION: undefined, AWS_DEFAULT_REGION: undefined };
    const none = await makeRepo(STAGE_FOLDERS);
    const result = await runCli(['integration-test', '--path', none, '--stack', STACK, '--stage', 'Gamma'], { env: noAws });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout.trim().split('\n').pop()).toBe('no integration tests configured: nothing to run');
    expect(readFileSync(path.join(none, '.lambda-cd/reports/integration-tests.xml'), 'utf8')).toContain('value="no integration tests configured: nothing to run"');

    const empty = await makeRepo({ ...STAGE_FOLDERS,  'test/README.md': 'integration tests go here\n', 'test/requirements.txt': 'itlib==2.0\n' });
    const emptyRun = await runCli(['integration-test', '--path', empty, '--stack', STACK, '--stage', 'Gamma', '--json'], { env: noAws });
    expect(emptyRun.exitCode, emptyRun.stderr).toBe(0);
    expect(JSON.parse(emptyRun.stdout)).toMatchObject({ result: 'nothing to run', message: 'no integration tests in test/ (no *.py files in it): nothing to run', functionArn: null, cases: [] });
  });

  it('an empty folder with --invoke still smoke-tests the function; a TestFolder that does not exist is exit 2', async () => {
    const root = await makeRepo({ ...STAGE_FOLDERS,  'config/config.yaml': 'Name: Demo\nHandler: app.handler\nTestFolder: test\n', 'test/.keep': '' });
    const ping = path.join(await tempDir(), 'ping.json');
    writeFileSync(ping, '{}');
    await queueInvokeResponse({ statusCode: 200, body: 'pong' });
    const result = await integrationTest(root, '--invoke', ping);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/==== PASS invoke \S*ping\.json/);
    expect(result.stdout).toMatch(/\n1 passed, 0 failed\nno integration tests in test\/ \(no \*\.py files in it\): only the --invoke events ran$/);

    const missing = await makeRepo({ ...STAGE_FOLDERS,  'config/config.yaml': 'Name: Demo\nHandler: app.handler\nTestFolder: tests/it\n' });
    const failed = await integrationTest(missing);
    expect(failed.exitCode).toBe(2);
    expect(failed.stderr).toContain('expected the test folder "tests/it" to exist, found nothing there');
  });
});
