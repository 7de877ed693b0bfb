import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CloudFormationClient, CreateStackCommand, UpdateStackCommand, waitUntilStackCreateComplete } from '@aws-sdk/client-cloudformation';
import { GetFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { CreateBucketCommand, GetObjectCommand, ListObjectVersionsCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { startMoto, type MotoServer } from './helpers/moto.js';
import { makeRepo, tempDir } from './helpers/repo.js';
import { offlinePipEnv } from './helpers/wheels.js';

let moto: MotoServer;
let s3: S3Client;

beforeAll(async () => {
  moto = await startMoto();
  s3 = new S3Client({ endpoint: moto.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
});
afterAll(async () => {
  s3?.destroy();
  await moto?.stop();
});

async function bucket(name: string): Promise<string> {
  await s3.send(new CreateBucketCommand({ Bucket: name }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: name, VersioningConfiguration: { Status: 'Enabled' } }));
  return name;
}

/** A real zip (Python's zipfile) at dist/function.zip of a new repository. */
async function repoWithZip(content: string): Promise<{ root: string; zip: Buffer }> {
  const root = await makeRepo();
  const zipPath = path.join(root, 'dist/function.zip');
  await execa('python3', ['-c', 'import sys, zipfile, os; os.makedirs(os.path.dirname(sys.argv[1]), exist_ok=True); z = zipfile.ZipFile(sys.argv[1], "w"); z.writestr(zipfile.ZipInfo("app.py", (1980, 1, 1, 0, 0, 0)), sys.argv[2]); z.close()', zipPath, content]);
  return { root, zip: await readFile(zipPath) };
}

const publish = (root: string, args: string[] = []) => runCli(['publish', '--path', root, ...args], { env: moto.env });

describe('lambda-cd publish', () => {
  it('uploads the zip byte for byte under <prefix><Name>/<sha256>.zip and writes the TemplateConfiguration', async () => {
    const { root, zip } = await repoWithZip('def handler(e, c): return 1\n');
    const name = await bucket('publish-uploads');
    const sha = createHash('sha256').update(zip).digest('hex');
    const result = await publish(root, ['--bucket', name]);
    expect(result.exitCode, result.stderr).toBe(0);
    const key = `lambda-cd/Demo/${sha}.zip`;
    expect(result.stdout.split('\n')[0]).toBe(`s3://${name}/${key}`);
    const object = await s3.send(new GetObjectCommand({ Bucket: name, Key: key }));
    expect(Buffer.from(await object.Body!.transformToByteArray()).equals(zip)).toBe(true);
    const config = JSON.parse(await readFile(path.join(root, 'dist/code-location.json'), 'utf8'));
    expect(config).toEqual({ Parameters: { S3Storage: name, S3Key: key } });
  });

  it('skips the upload when the same zip is already there, so the key (and the deployed function) stays the same', async () => {
    const { root } = await repoWithZip('same\n');
    const name = await bucket('publish-skips');
    const first = await publish(root, ['--json', '--bucket', name]);
    expect(JSON.parse(first.stdout)).toMatchObject({ uploaded: true });
    const second = await runCli(['publish', '--path', root, '--json'], { env: { ...moto.env, LAMBDA_CD_ARTIFACT_BUCKET: name } });
    expect(second.exitCode, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ uploaded: false, key: JSON.parse(first.stdout).key });
    expect(second.stderr).toContain('already there: not uploaded');
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: name }));
    expect(versions.Versions).toHaveLength(1);

    await repoWithZip('changed\n').then(({ zip }) => writeFile(path.join(root, 'dist/function.zip'), zip));
    const third = await publish(root, ['--json', '--bucket', name, '--prefix', 'code']);
    expect(JSON.parse(third.stdout)).toMatchObject({ uploaded: true, key: expect.stringMatching(/^code\/Demo\/[0-9a-f]{64}\.zip$/) });
  });

  it('says what is missing: the bucket (exit 2), the zip (exit 2), a bucket that does not exist (exit 3)', async () => {
    const { root } = await repoWithZip('x\n');
    const noBucket = await publish(root);
    expect(noBucket).toMatchObject({ exitCode: 2 });
    expect(noBucket.stderr).toContain('--bucket BUCKET is required (or set LAMBDA_CD_ARTIFACT_BUCKET)');
    const noZip = await publish(await makeRepo(), ['--bucket', 'b']);
    expect(noZip).toMatchObject({ exitCode: 2 });
    expect(noZip.stderr).toContain('dist/function.zip: no deployment zip; run `lambda-cd package` first');
    const absent = await publish(root, ['--bucket', 'no-such-bucket-here']);
    expect(absent.exitCode).toBe(3);
    expect(absent.stderr).toMatch(/NoSuchBucket/);
  });

  it('as the pipeline runs it: Lambda gets the zip package built, byte for byte, and an unchanged build updates nothing', async () => {
    const root = await makeRepo({ 'config/config.yaml': 'Name: Demo\nHandler: app.handler\nStages: [Gamma]\n', 'config/Gamma/env.yaml': 'STAGE: Gamma\n' });
    const env = { ...moto.env, ...offlinePipEnv(await tempDir('lambda-cd-wheels-')), LAMBDA_CD_STACK: 'Pipe', LAMBDA_CD_ARTIFACT_BUCKET: await bucket('pipeline-artifacts') };
    // The build buildspec's three commands, with the variables the pipeline sets on the action.
    const build = async () => {
      for (const command of ['package', 'create-cf', 'publish']) {
        const result = await runCli([command, '--path', root], { env });
        expect(result.exitCode, `${command}: ${result.stderr}`).toBe(0);
      }
      return JSON.parse(await readFile(path.join(root, 'dist/code-location.json'), 'utf8')) as { Parameters: Record<string, string> };
    };
    const config = { endpoint: moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
    const cloudFormation = new CloudFormationClient(config);
    const lambda = new LambdaClient(config);
    // The deploy action: the stage template with the TemplateConfiguration's parameters.
    const deploy = async (Command: typeof CreateStackCommand | typeof UpdateStackCommand, location: { Parameters: Record<string, string> }) =>
      cloudFormation.send(new Command({
        StackName: 'PipeFunctionsGamma',
        TemplateBody: await readFile(path.join(root, 'dist/stackGamma.json'), 'utf8'),
        Parameters: Object.entries(location.Parameters).map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue })),
        Capabilities: ['CAPABILITY_NAMED_IAM'],
      }));
    try {
      const first = await build();
      await deploy(CreateStackCommand, first);
      await waitUntilStackCreateComplete({ client: cloudFormation, maxWaitTime: 60 }, { StackName: 'PipeFunctionsGamma' });
      const zip = await readFile(path.join(root, 'dist/function.zip'));
      const deployed = await lambda.send(new GetFunctionCommand({ FunctionName: 'DemoGamma' }));
      expect(deployed.Configuration!.CodeSha256).toBe(createHash('sha256').update(zip).digest('base64'));

      const second = await build();
      expect(second).toEqual(first);
      await expect(deploy(UpdateStackCommand, second)).rejects.toThrow(/No updates are to be performed/);
    } finally {
      cloudFormation.destroy();
      lambda.destroy();
    }
  });
});
