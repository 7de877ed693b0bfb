/**
 * Releases on moto's server through the real SDK and the CLI: versions published by the stage
 * templates, the alias moved to them, integration-test refusing an alias that does not serve the
 * build, and rollback along the versions the stack recorded. The test server adds to moto what
 * CloudFormation does with AWS::Lambda::Version and AWS::Lambda::Alias (versions published after
 * the function is updated, their ARNs, retained versions, the alias itself); moto has no
 * CodeDeploy, so the alias moves at once there whatever the strategy (see README).
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CloudFormationClient, CreateStackCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetAliasCommand, LambdaClient, ListTagsCommand, ListVersionsByFunctionCommand, UpdateAliasCommand } from '@aws-sdk/client-lambda';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { startMoto, type MotoServer } from './helpers/moto.js';
import { makeRepo, tempDir } from './helpers/repo.js';

let moto: MotoServer;
let cf: CloudFormationClient;
let lambda: LambdaClient;
let env: Record<string, string>;
const BUCKET = 'release-artifacts';

/** What the tests get: the ARN as argv[1] (2018), the alias and its version in the environment. */
const INTEGRATION_TEST = `import json, os, sys
arn = sys.argv[1]
assert arn == os.environ["FUNCTION_ARN"], arn
assert os.environ["FUNCTION_ALIAS_ARN"] == arn + ":" + os.environ["EXPECTED_ALIAS"], os.environ["FUNCTION_ALIAS_ARN"]
assert os.environ["FUNCTION_VERSION"] == os.environ["EXPECTED_VERSION"], os.environ["FUNCTION_VERSION"]
print("tested", os.environ["FUNCTION_ALIAS_ARN"], "version", os.environ["FUNCTION_VERSION"])
`;

beforeAll(async () => {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  moto = await startMoto();
  env = { ...moto.env, LAMBDA_CD_CACHE_DIR: await tempDir('lambda-cd-cache-'), LAMBDA_CD_ARTIFACT_BUCKET: BUCKET };
  const config = { endpoint: moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
  cf = new CloudFormationClient(config);
  lambda = new LambdaClient(config);
  const s3 = new S3Client({ ...config, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  s3.destroy();
});
afterAll(async () => {
  cf?.destroy();
  lambda?.destroy();
  await moto?.stop();
});

/** A repository (stages Gamma, PROD) named after `stack`; each test its own, since moto keeps every function. */
async function repo(stack: string, extraConfig = ''): Promise<{ root: string; name: string }> {
  const name = stack.replace('Pipe', 'Fn');
  const root = await makeRepo({
    'config/config.yaml': `Name: ${name}\nHandler: app.handler\nStages: [Gamma]\nIntegrationtests: tests/integrationtests\n${extraConfig}`,
    'config/Gamma/env.yaml': 'STAGE: Gamma\n',
    'tests/integrationtests/test_release.py': INTEGRATION_TEST,
    'tests/integrationtests/requirements.txt': '',
  });
  return { root, name };
}

/** package + create-cf (what the Build step does), after writing `code` as the handler. */
async function build(root: string, stack: string, code: string): Promise<void> {
  await writeFile(path.join(root, 'src/app.py'), `def handler(event, context):\n    return ${code}\n`);
  for (const args of [['package', '--no-import-check'], ['create-cf', '--stack', stack]]) {
    const result = await runCli([...args, '--path', root], { env });
    expect(result.exitCode, result.stderr).toBe(0);
  }
}

const deploy = (root: string, stack: string, stage = 'Gamma') => runCli(['deploy', '--path', root, '--stack', stack, '--stage', stage, '--json'], { env });
const rollback = (stack: string, ...args: string[]) => runCli(['rollback', '--stack', stack, '--stage', 'Gamma', ...args], { env });
const integrationTest = (root: string, stack: string, alias: string, version: string) =>
  runCli(['integration-test', '--path', root, '--stack', stack, '--stage', 'Gamma'], { env: { ...env, EXPECTED_ALIAS: alias, EXPECTED_VERSION: version } });

async function versions(functionName: string): Promise<string[]> {
  return (await lambda.send(new ListVersionsByFunctionCommand({ FunctionName: functionName }))).Versions!.map((v) => v.Version!);
}
async function aliasVersion(functionName: string, alias: string): Promise<string> {
  return (await lambda.send(new GetAliasCommand({ FunctionName: functionName, Name: alias }))).FunctionVersion!;
}

describe('immutable versions', () => {
  it('an unchanged build publishes nothing; a changed zip or a setting a version freezes publishes one, and the alias moves to it; a tag publishes none', async () => {
    const { root, name } = await repo('PipeV');
    const fn = `${name}Gamma`;
    const alias = `${name}PipeVGamma`;
    await build(root, 'PipeV', '1');
    const first = await deploy(root, 'PipeV');
    expect(first.exitCode, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ operation: 'create', functionVersion: '1', aliasArn: expect.stringMatching(new RegExp(`:function:${fn}:${alias}$`)) });
    expect(await versions(fn)).toEqual(['$LATEST', '1']);

    // The same build again: same template, same parameters: nothing changes, no version.
    await build(root, 'PipeV', '1');
    const same = await deploy(root, 'PipeV');
    expect(same.exitCode, same.stderr).toBe(0);
    expect(JSON.parse(same.stdout)).toMatchObject({ operation: 'none', functionVersion: '1' });
    expect(await versions(fn)).toEqual(['$LATEST', '1']);

    // New code: exactly one version, the alias on it.
    await build(root, 'PipeV', '2');
    const changed = await deploy(root, 'PipeV');
    expect(changed.exitCode, changed.stderr).toBe(0);
    expect(JSON.parse(changed.stdout)).toMatchObject({ operation: 'update', functionVersion: '2', previousVersion: '1' });
    expect(changed.stderr).toContain('PipeVFunctionsGamma: the alias moved from version 1 to version 2');
    expect(changed.stderr).toMatch(/Add     FnVVersion[0-9a-f]{16} AWS::Lambda::Version/);
    expect(await versions(fn)).toEqual(['$LATEST', '1', '2']);
    expect(await aliasVersion(fn, alias)).toBe('2');

    // A setting a version freezes (MemorySize), same code: one version.
    const config = path.join(root, 'config/config.yaml');
    await writeFile(config, `${await readFile(config, 'utf8')}MemorySize: 256\n`);
    await build(root, 'PipeV', '2');
    const memory = await deploy(root, 'PipeV');
    expect(memory.exitCode, memory.stderr).toBe(0);
    expect(JSON.parse(memory.stdout)).toMatchObject({ functionVersion: '3' });
    expect(await versions(fn)).toEqual(['$LATEST', '1', '2', '3']);

    // Tags and reserved concurrency belong to the function, not to a version: a new version would
    // be refused ("Version already exists"), so none is published and the deploy succeeds.
    await writeFile(config, `${await readFile(config, 'utf8')}Tags: {team: payments}\nReservedConcurrency: 3\n`);
    await build(root, 'PipeV', '2');
    const tagged = await deploy(root, 'PipeV');
    expect(tagged.exitCode, tagged.stderr).toBe(0);
    expect(JSON.parse(tagged.stdout)).toMatchObject({ operation: 'update', functionVersion: '3' });
    expect(await versions(fn)).toEqual(['$LATEST', '1', '2', '3']);
  });
});

describe('integration-test against the released alias', () => {
  it('hands the tests the alias and its version, and refuses (exit 3) when the alias lags the build or the stack runs another zip', async () => {
    const { root, name } = await repo('PipeT');
    const fn = `${name}Gamma`;
    const alias = `${name}PipeTGamma`;
    await build(root, 'PipeT', '1');
    expect((await deploy(root, 'PipeT')).exitCode).toBe(0);
    await build(root, 'PipeT', '2');
    expect((await deploy(root, 'PipeT')).exitCode).toBe(0);

    const passed = await integrationTest(root, 'PipeT', alias, '2');
    expect(passed.stdout + passed.stderr).toContain('1 passed, 0 failed');
    expect(passed.stderr).toMatch(/the alias FnTPipeTGamma serves version 2, this build's zip [0-9a-f]{12}/);
    expect(passed.exitCode).toBe(0);

    // The alias moved back behind the stack's back (or CodeDeploy rolled it back): no test runs.
    await lambda.send(new UpdateAliasCommand({ FunctionName: fn, Name: alias, FunctionVersion: '1' }));
    const lagging = await integrationTest(root, 'PipeT', alias, '2');
    expect(lagging.exitCode).toBe(3);
    expect(lagging.stderr.trim().split('\n').at(-1)).toBe(
      'lambda-cd: error: the alias FnTPipeTGamma serves version 1, not version 2, which the last deploy of the stack of export FnTPipeTGamma published ' +
        '(CodeDeploy rolled it back, lambda-cd rollback moved it, or it was moved by hand): the tests would run against other code; deploy again',
    );
    expect(lagging.stdout).not.toContain('passed');
    await lambda.send(new UpdateAliasCommand({ FunctionName: fn, Name: alias, FunctionVersion: '2' }));

    // A new build not deployed yet: its manifest names another zip than the stack's.
    await build(root, 'PipeT', '3');
    const stale = await integrationTest(root, 'PipeT', alias, '2');
    expect(stale.exitCode).toBe(3);
    expect(stale.stderr).toMatch(/the stack of export FnTPipeTGamma runs the zip [0-9a-f]{12}\.\.\. \(version 2\), not this build's [0-9a-f]{12}\.\.\. \(.*dist\/function\.zip\.manifest\.json\): deploy this build first/);
  });
});

describe('lambda-cd rollback', () => {
  it('moves the alias to the version before the last deploy, says from which to which, is idempotent, and never returns to a version it rolled back from', async () => {
    const { root, name } = await repo('PipeR');
    const fn = `${name}Gamma`;
    const alias = `${name}PipeRGamma`;
    await build(root, 'PipeR', '1');
    expect((await deploy(root, 'PipeR')).exitCode).toBe(0);
    // Nothing before the first version.
    const first = await rollback('PipeR');
    expect(first.exitCode).toBe(3);
    expect(first.stderr).toContain('rollback: PipeRFunctionsGamma records no version before version 1');

    await build(root, 'PipeR', '2');
    expect((await deploy(root, 'PipeR')).exitCode).toBe(0);
    const back = await rollback('PipeR');
    expect(back.exitCode, back.stderr).toBe(0);
    expect(back.stderr).toMatch(/Gamma: moved the alias FnRPipeRGamma from version 2 \(zip [0-9a-f]{12}\) to version 1 \(zip [0-9a-f]{12}\)/);
    expect(back.stdout.trim()).toBe(`arn:aws:lambda:us-east-1:123456789012:function:${fn}:${alias} 2 -> 1`);
    expect(await aliasVersion(fn, alias)).toBe('1');
    const tags = await lambda.send(new ListTagsCommand({ Resource: `arn:aws:lambda:us-east-1:123456789012:function:${fn}` }));
    expect(tags.Tags!['lambda-cd:rolled-back']).toBe('2');

    const again = await rollback('PipeR', '--json');
    expect(again.exitCode, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ operation: 'none', from: '1', to: '1' });
    expect(again.stderr).toContain('already serves version 1: nothing to do');

    // The same build deployed again: no change, the alias stays on the good version.
    expect(JSON.parse((await deploy(root, 'PipeR')).stdout)).toMatchObject({ operation: 'none' });
    expect(await aliasVersion(fn, alias)).toBe('1');

    // A fix that fails too: back to 1, not to 2 (which failed before).
    await build(root, 'PipeR', '3');
    expect(JSON.parse((await deploy(root, 'PipeR')).stdout)).toMatchObject({ functionVersion: '3' });
    expect(await aliasVersion(fn, alias)).toBe('3');
    const skip = await rollback('PipeR');
    expect(skip.exitCode, skip.stderr).toBe(0);
    expect(skip.stdout.trim()).toMatch(/ 3 -> 1$/);
    expect(await aliasVersion(fn, alias)).toBe('1');

    // By hand, any version; moved outside the stack, the recorded rollback refuses rather than guess.
    const pinned = await rollback('PipeR', '--to-version', '2');
    expect(pinned.exitCode, pinned.stderr).toBe(0);
    expect(await aliasVersion(fn, alias)).toBe('2');
    const outside = await rollback('PipeR');
    expect(outside.exitCode).toBe(3);
    expect(outside.stderr).toContain('the alias FnRPipeRGamma serves version 2, not version 3, which PipeRFunctionsGamma last published: it was moved outside the stack; not moving it (give --to-version 1');
    const missing = await rollback('PipeR', '--to-version', '9');
    expect(missing.exitCode).toBe(3);
    expect(missing.stderr).toContain('has no version 9 (--to-version)');
  });

  it('--only-after-failure acts only when the CI job failed; bad options are exit 2; a stack without versions or none at all is exit 3', async () => {
    const { root } = await repo('PipeQ');
    await build(root, 'PipeQ', '1');
    expect((await deploy(root, 'PipeQ')).exitCode).toBe(0);
    await build(root, 'PipeQ', '2');
    expect((await deploy(root, 'PipeQ')).exitCode).toBe(0);

    const succeeding = await runCli(['rollback', '--only-after-failure'], { env: { ...env, LAMBDA_CD_STACK: 'PipeQ', LAMBDA_CD_STAGE: 'Gamma', CODEBUILD_BUILD_SUCCEEDING: '1' } });
    expect(succeeding.exitCode, succeeding.stderr).toBe(0);
    expect(succeeding.stdout.trim()).toBe('PipeQFunctionsGamma skipped');
    const failing = await runCli(['rollback', '--only-after-failure'], { env: { ...env, LAMBDA_CD_STACK: 'PipeQ', LAMBDA_CD_STAGE: 'Gamma', CODEBUILD_BUILD_SUCCEEDING: '0' } });
    expect(failing.exitCode, failing.stderr).toBe(0);
    expect(failing.stdout.trim()).toMatch(/ 2 -> 1$/);
    const gitlab = await runCli(['rollback', '--only-after-failure'], { env: { ...env, LAMBDA_CD_STACK: 'PipeQ', LAMBDA_CD_STAGE: 'Gamma', CI_JOB_STATUS: 'success' } });
    expect(gitlab.stdout.trim()).toBe('PipeQFunctionsGamma skipped');
    const unknown = await runCli(['rollback', '--only-after-failure', '--stack', 'PipeQ', '--stage', 'Gamma'], { env });
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('--only-after-failure needs CODEBUILD_BUILD_SUCCEEDING (CodeBuild post_build) or CI_JOB_STATUS (GitLab after_script)');

    for (const [args, message] of [
      [['--to-version', 'latest'], '--to-version expects a version number (1, 2, ...), found "latest"'],
      [['--stage', 'Gam-ma'], '--stage expects a stage name (letters and digits), found "Gam-ma"'],
    ] as const) {
      const bad = await rollback('PipeQ', ...args);
      expect(bad.exitCode).toBe(2);
      expect(bad.stderr).toContain(message);
    }

    const none = await rollback('PipeNone');
    expect(none.exitCode).toBe(3);
    expect(none.stderr).toContain('rollback: stack PipeNoneFunctionsGamma does not exist in us-east-1: nothing to roll back');
    // A stack as the 2018 template made it: the function ARN exported, no versions.
    await cf.send(new CreateStackCommand({
      StackName: 'Pipe2018FunctionsGamma',
      TemplateBody: JSON.stringify({ Resources: { Marker: { Type: 'AWS::SNS::Topic' } }, Outputs: { Fn2018Pipe2018Gamma: { Value: 'arn:aws:lambda:us-east-1:123456789012:function:Fn2018Gamma', Export: { Name: 'Fn2018Pipe2018Gamma' } } } }),
    }));
    expect((await cf.send(new DescribeStacksCommand({ StackName: 'Pipe2018FunctionsGamma' }))).Stacks![0]!.StackStatus).toBe('CREATE_COMPLETE');
    const legacy = await rollback('Pipe2018');
    expect(legacy.exitCode).toBe(3);
    expect(legacy.stderr).toContain('rollback: Pipe2018FunctionsGamma publishes no versions (no output AliasArn');
  });
});
