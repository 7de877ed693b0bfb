/**
 * From `lambda-cd init` to PROD through GitLab CI, run by gitlab-ci-local with the shell executor
 * (each job in its own copy of the repository, artifacts passed as GitLab passes them) against
 * moto's server: the ci-bootstrap template deployed first, its outputs as the project's CI/CD
 * variables, and no static AWS keys: every job gets its credentials from the OIDC token GitLab
 * would put in LAMBDA_CD_OIDC_TOKEN (moto's STS accepts any token; AWS checks it against the
 * bootstrap's trust policy). The pipeline stops before the manual PROD deploy; the test starts it.
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CloudFormationClient, CreateStackCommand, DescribeStacksCommand, ListExportsCommand } from '@aws-sdk/client-cloudformation';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, PROJECT_ROOT, runCli } from './helpers/cli.js';
import { startMoto, type MotoServer } from './helpers/moto.js';
import { tempDir } from './helpers/repo.js';

let moto: MotoServer;
let cf: CloudFormationClient;

beforeAll(async () => {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  moto = await startMoto();
  cf = new CloudFormationClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
});
afterAll(async () => {
  cf?.destroy();
  await moto?.stop();
});

/** What moto can check of a deployed function: it runs the zip this build published (it runs no handler without Docker). */
const INTEGRATION_TEST = `import json, sys
import boto3
arn = sys.argv[1]
location = boto3.client("lambda").get_function(FunctionName=arn)["Code"]["Location"]
print("deployed", arn, location)
`;

/** A JWT-shaped token as GitLab issues it for id_tokens (moto does not verify it). */
const OIDC_TOKEN = `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify({ sub: 'project_path:acme/orders:ref_type:branch:ref:main', aud: 'sts.amazonaws.com' })).toString('base64url')}.c2lnbmF0dXJl`;

async function outputsOf(stack: string): Promise<Record<string, string>> {
  const described = await cf.send(new DescribeStacksCommand({ StackName: stack }));
  return Object.fromEntries(described.Stacks![0]!.Outputs!.map((o) => [o.OutputKey!, o.OutputValue!]));
}

describe('generate gitlab-ci, run by gitlab-ci-local against moto', () => {
  it('runs unit-test -> build -> deploy + integration-test Gamma, waits for the manual PROD deploy, which the test starts', async () => {
    const work = await tempDir('lambda-cd-gitlab-');
    const root = path.join(work, 'orders');
    expect((await runCli(['init', root, '--stages', 'Gamma'])).exitCode).toBe(0);
    await writeFile(path.join(root, 'tests/integrationtests/test_invoke.py'), INTEGRATION_TEST);
    await writeFile(path.join(root, 'tests/integrationtests/requirements.txt'), '');

    // Once per account: the bootstrap stack; its outputs become the CI/CD variables.
    const bootstrap = path.join(work, 'ci-bootstrap.yaml');
    const generated = await runCli(['generate', 'ci-bootstrap', '--path', root, '--ci', 'gitlab', '--stack', 'OrdersPipeline', '--repository', 'acme/orders', '--out', bootstrap]);
    expect(generated.exitCode, generated.stderr).toBe(0);
    await cf.send(new CreateStackCommand({ StackName: 'OrdersPipeline-ci', TemplateBody: await readFile(bootstrap, 'utf8'), Capabilities: ['CAPABILITY_NAMED_IAM'] }));
    const outputs = await outputsOf('OrdersPipeline-ci');

    expect((await runCli(['generate', 'gitlab-ci', '--path', root, '--stack', 'OrdersPipeline'])).exitCode).toBe(0);
    const git = (...args: string[]) => execa('git', ['-c', 'user.email=ci@example.com', '-c', 'user.name=ci', ...args], { cwd: root });
    await git('init', '-q', '-b', 'main');
    await git('add', '-A');
    await git('commit', '-qm', 'lambda-cd init');

    // The image puts lambda-cd on PATH; here the shell executor finds this build of it.
    const bin = path.join(work, 'bin');
    await mkdir(bin);
    await writeFile(path.join(bin, 'lambda-cd'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"\n`);
    await chmod(path.join(bin, 'lambda-cd'), 0o755);
    const variables = {
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_REGION: outputs.Region!,
      AWS_ROLE_ARN: outputs.DeployRoleArn!,
      LAMBDA_CD_OIDC_TOKEN: OIDC_TOKEN,
      LAMBDA_CD_ARTIFACT_BUCKET: outputs.ArtifactBucketName!,
      LAMBDA_CD_CLOUDFORMATION_ROLE_ARN: outputs.CloudFormationRoleArn!,
    };
    const env: Record<string, string | undefined> = { PATH: `${bin}:${process.env.PATH}`, HOME: work, AWS_EC2_METADATA_DISABLED: 'true', NO_COLOR: '1' };
    for (const name of Object.keys(process.env)) if (name.startsWith('AWS_') || name.startsWith('LAMBDA_CD_')) env[name] = undefined;
    const gitlabCiLocal = (...args: string[]) =>
      execa(path.join(PROJECT_ROOT, 'node_modules/.bin/gitlab-ci-local'), ['--force-shell-executor', '--shell-isolation', ...Object.entries(variables).flatMap(([k, v]) => ['--variable', `${k}=${v}`]), ...args], {
        cwd: root, env, extendEnv: false, reject: false, all: true, timeout: 300_000,
      });

    const pipeline = await gitlabCiLocal();
    expect(pipeline.exitCode, pipeline.all).toBe(0);
    const started = [...pipeline.all!.matchAll(/^(\S+)\s+starting shell/gm)].map((match) => match[1]);
    expect(started).toEqual(['unit-test', 'build', 'deploy-Gamma', 'integration-test-Gamma']);
    expect(pipeline.all).toMatch(/integration-test-Gamma\s+> 1 passed, 0 failed/);
    expect(pipeline.all).toMatch(/deploy-Gamma\s+> OrdersPipelineFunctionsGamma CREATE_COMPLETE/);
    await expect(cf.send(new DescribeStacksCommand({ StackName: 'OrdersPipelineFunctionsPROD' }))).rejects.toThrow(/does not exist/);

    const prod = await gitlabCiLocal('deploy-PROD');
    expect(prod.exitCode, prod.all).toBe(0);
    expect(prod.all).toMatch(/deploy-PROD\s+imported artifacts/);
    expect(prod.all).toMatch(/deploy-PROD\s+> OrdersPipelineFunctionsPROD CREATE_COMPLETE/);
    const stack = (await cf.send(new DescribeStacksCommand({ StackName: 'OrdersPipelineFunctionsPROD' }))).Stacks![0]!;
    expect(stack.EnableTerminationProtection).toBe(true);
    const exports = (await cf.send(new ListExportsCommand({}))).Exports!.map((e) => e.Name);
    expect(exports).toEqual(expect.arrayContaining(['ordersOrdersPipelineGamma', 'ordersOrdersPipelinePROD']));

    // A second push with nothing changed deploys nothing.
    const again = await gitlabCiLocal();
    expect(again.exitCode, again.all).toBe(0);
    expect(again.all).toMatch(/deploy-Gamma\s+> \[deploy\] OrdersPipelineFunctionsGamma: no changes/);
  });
});
