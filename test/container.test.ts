/**
 * The image, built from the repository's Dockerfile with podman over a local Debian base (the
 * Alpine base cannot be pulled here), running the runners on the example repository mounted at
 * /src the way people (`docker run -v "$PWD:/src" IMAGE unit-test`) and CodeBuild (`sh`, root,
 * `lambda-cd` from PATH) run them. pip sees only a wheelhouse mounted at /wheels; every run but
 * the one that talks to moto on the host has no network at all.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { chmod, readFile } from 'node:fs/promises';
import path from 'node:path';
import { CloudFormationClient, CreateStackCommand, waitUntilStackCreateComplete } from '@aws-sdk/client-cloudformation';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMoto, type MotoServer } from './helpers/moto.js';
import { IMAGE_PYTHON_VARIANTS } from '../generator/constants.js';
import { podman, podmanUnavailable, buildTestImage, imageSize, tryBuild, type TestImage } from './helpers/podman.js';
import { copyExample, tempDir, writeManifest } from './helpers/repo.js';
import { buildExampleWheels, offlinePipEnv } from './helpers/wheels.js';

/** .ci/run sets this: there the test must run, never skip. */
const required = process.env.LAMBDA_CD_REQUIRE_PODMAN === '1';
const unavailable = await podmanUnavailable();
if (unavailable && required) throw new Error(`LAMBDA_CD_REQUIRE_PODMAN=1 but ${unavailable}`);
if (unavailable) console.warn(`container tests skipped: ${unavailable}`);

const OUR_LAYER_LIMIT = 15 * 1024 * 1024;
/** A user that exists neither in the image nor (usually) here: no passwd entry, no home. */
const USER = { uid: 4321, gid: 4321 };

let built: TestImage;
let wheelhouse: string;
/** A failed build fails every test (a failing beforeAll would only mark them skipped). */
let setupError: unknown;
function image(): string {
  if (setupError) throw setupError;
  return built.image;
}

/** Environment flags for `podman run`: pip offline with the mounted wheelhouse. */
function pipEnvFlags(): string[] {
  return Object.entries(offlinePipEnv('/wheels')).flatMap(([name, value]) => ['-e', `${name}=${value}`]);
}

/** `podman run` of the image on `repo` mounted at /src. */
function run(repo: string, args: string[], flags: string[] = []) {
  return podman(['run', '--rm', '--network', 'none', '-v', `${repo}:/src`, '-v', `${wheelhouse}:/wheels:ro`, ...pipEnvFlags(), ...flags, image(), ...args]);
}

function chownTree(root: string, uid: number, gid: number): void {
  chownSync(root, uid, gid);
  for (const entry of readdirSync(root, { withFileTypes: true, recursive: true })) chownSync(path.join(entry.parentPath, entry.name), uid, gid);
}

/** Paths below `root` (relative) not owned by `uid`. */
function notOwnedBy(root: string, uid: number): string[] {
  return readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((relative) => statSync(path.join(root, relative)).uid !== uid);
}

function zipEntries(zip: string): string[] {
  return execFileSync('python3', ['-c', 'import sys, zipfile; print("\\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))', zip], { encoding: 'utf8' }).trim().split('\n');
}

describe.skipIf(unavailable !== undefined)(unavailable ? `container image (skipped: ${unavailable})` : 'container image', () => {
  beforeAll(async () => {
    // This process uses the SDK too (to deploy to moto); keep its Node-version notice out of the log.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
    wheelhouse = await tempDir('lambda-cd-wheels-');
    await buildExampleWheels(wheelhouse);
    // mkdtemp makes it private to root; users inside the container read it too.
    await chmod(wheelhouse, 0o755);
    try {
      built = await buildTestImage('localhost/lambda-cd:test');
    } catch (error) {
      setupError = error;
    }
  }, 900_000);

  it('has the CLI on PATH for sh (as CodeBuild runs it), the OCI labels, and our layers within 15 MB', async () => {
    const onPath = await podman(['run', '--rm', '--network', 'none', '--entrypoint', 'sh', image(), '-c', 'lambda-cd --version && command -v python3 pip3 >/dev/null']);
    expect(onPath.stderr).toBe('');
    expect(onPath.stdout.trim()).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version);
    expect(onPath.exitCode).toBe(0);

    const labels = JSON.parse((await podman(['image', 'inspect', '--format', '{{json .Labels}}', built.image])).stdout) as Record<string, string>;
    expect(labels['org.opencontainers.image.source']).toBe('https://example.test/lambda-cd');
    expect(labels['org.opencontainers.image.version']).toBe(onPath.stdout.trim());
    expect(labels['org.opencontainers.image.revision']).toMatch(/^[0-9a-f]{40}$/);

    const ours = (await imageSize(built.image)) - (await imageSize(built.runtimeBase));
    expect(ours).toBeGreaterThan(0);
    expect(ours).toBeLessThanOrEqual(OUR_LAYER_LIMIT);
  });

  it('runs unit-test and package as the owner of the mounted repository, leaving no root-owned files', async () => {
    const repo = await copyExample();
    chownTree(repo, USER.uid, USER.gid);
    // Started as root, as `docker run` does by default: the entrypoint switches to the repository's owner.
    const unit = await run(repo, ['unit-test']);
    expect(unit.stdout).toMatch(/\n2 passed, 0 failed$/);
    expect(unit.exitCode).toBe(0);
    expect(readFileSync(path.join(repo, '.lambda-cd/reports/unit-tests.xml'), 'utf8')).toContain('failures="0"');

    const packaged = await run(repo, ['package']);
    expect(packaged.stderr).not.toContain('error:');
    expect(packaged.exitCode).toBe(0);
    expect(zipEntries(path.join(repo, 'dist/function.zip'))).toEqual(expect.arrayContaining(['app.py', 'dateutil/parser.py']));
    expect(notOwnedBy(repo, USER.uid)).toEqual([]);
  });

  it('runs with --user as a user without a home, writing only files that user owns', async () => {
    const repo = await copyExample();
    chownTree(repo, USER.uid, USER.gid);
    const unit = await run(repo, ['unit-test'], ['--user', `${USER.uid}:${USER.gid}`]);
    expect(unit.stderr).not.toMatch(/Permission denied|not writable/i);
    expect(unit.exitCode).toBe(0);
    const packaged = await run(repo, ['package'], ['--user', `${USER.uid}:${USER.gid}`]);
    expect(packaged.exitCode).toBe(0);
    expect(notOwnedBy(repo, USER.uid)).toEqual([]);
  });

  it('runs create-cf the CodeBuild way: sh as root, lambda-cd from PATH, with the 2018 helper library for stage files', async () => {
    const repo = await copyExample();
    // The image ships lambda-cd's awslambdacontinuousdelivery.tools (python/) for 2018 env.py and iam.py files.
    writeFileSync(path.join(repo, 'config/PROD/env.py'), 'from awslambdacontinuousdelivery.tools import alphanum\n\ndef get_env(stage):\n    return {"REF": alphanum("Hello-Python_" + stage)}\n');
    await writeManifest(repo);
    const result = await run(repo, ['-c', 'cd /src && lambda-cd create-cf --stack Pipe'], ['--entrypoint', 'sh']);
    expect(result.exitCode).toBe(0);
    for (const stage of ['Gamma', 'PROD']) {
      const template = JSON.parse(readFileSync(path.join(repo, `dist/stack${stage}.json`), 'utf8')) as { Resources: Record<string, { Type: string }> };
      expect(Object.values(template.Resources).map((r) => r.Type)).toContain('AWS::Lambda::Function');
    }
    const prod = JSON.parse(readFileSync(path.join(repo, 'dist/stackPROD.json'), 'utf8'));
    expect(prod.Resources.HelloPython.Properties.Environment.Variables).toEqual({ REF: 'HelloPythonPROD' });
  });

  it('runs the command the GitHub Action passes as INPUT_COMMAND and INPUT_ARGS (action.yml), without a shell', async () => {
    const repo = await copyExample();
    const result = await run(repo, [], ['-e', 'INPUT_COMMAND=check', '-e', 'INPUT_ARGS=--strict  --json']);
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ name: 'HelloPython', runtime: 'python3.12' });
  });

  it('as the GitHub Action, writes the step outputs action.yml declares and the job summary', async () => {
    const repo = await copyExample();
    const commands = await tempDir();
    const result = await run(repo, [], [
      '-v', `${commands}:/github/file_commands`, '-e', 'GITHUB_OUTPUT=/github/file_commands/output', '-e', 'GITHUB_STEP_SUMMARY=/github/file_commands/summary',
      '-e', 'INPUT_COMMAND=package',
    ]);
    expect(result.exitCode, result.stderr).toBe(0);
    const sha = JSON.parse(readFileSync(path.join(repo, 'dist/function.zip.manifest.json'), 'utf8')).sha256;
    expect(readFileSync(path.join(commands, 'output'), 'utf8')).toMatch(new RegExp(`^zip-sha256<<(lambda_cd_[0-9a-f]+)\n${sha}\n\\1\n$`));
    expect(readFileSync(path.join(commands, 'summary'), 'utf8')).toContain(`### lambda-cd package: `);
  });

  describe('integration-test against moto on the host', () => {
    let moto: MotoServer;
    beforeAll(async () => {
      moto = await startMoto();
    });
    afterAll(async () => {
      await moto?.stop();
    });

    it('finds the function deployed from the image-built zip and template, and runs the tests against it', async () => {
      const repo = await copyExample();
      // boto3 is not in the offline wheelhouse; this test reaches the endpoint with the standard library.
      writeFileSync(path.join(repo, 'tests/integrationtests/requirements.txt'), '');
      writeFileSync(path.join(repo, 'tests/integrationtests/test_invoke.py'), [
        'import os, sys, urllib.request',
        'arn = sys.argv[1]',
        'assert arn.endswith(":function:HelloPythonGamma"), arn',
        'with urllib.request.urlopen(os.environ["AWS_ENDPOINT_URL"] + "/moto-api/") as response:',
        '    assert response.status == 200',
        'print("reached", arn)',
        '',
      ].join('\n'));
      expect((await run(repo, ['package'])).exitCode).toBe(0);
      expect((await run(repo, ['create-cf', '--stack', 'Pipe', '--stage', 'Gamma'])).exitCode).toBe(0);

      const config = {
        endpoint: moto.endpoint,
        region: moto.env.AWS_REGION,
        credentials: { accessKeyId: moto.env.AWS_ACCESS_KEY_ID!, secretAccessKey: moto.env.AWS_SECRET_ACCESS_KEY! },
      };
      const s3 = new S3Client({ ...config, forcePathStyle: true });
      await s3.send(new CreateBucketCommand({ Bucket: 'artifacts' }));
      await s3.send(new PutObjectCommand({ Bucket: 'artifacts', Key: 'function.zip', Body: await readFile(path.join(repo, 'dist/function.zip')) }));
      const cloudFormation = new CloudFormationClient(config);
      const StackName = 'PipeFunctionsGamma';
      await cloudFormation.send(new CreateStackCommand({
        StackName,
        TemplateBody: await readFile(path.join(repo, 'dist/stackGamma.json'), 'utf8'),
        Parameters: [{ ParameterKey: 'S3Storage', ParameterValue: 'artifacts' }, { ParameterKey: 'S3Key', ParameterValue: 'function.zip' }],
        Capabilities: ['CAPABILITY_NAMED_IAM'],
      }));
      await waitUntilStackCreateComplete({ client: cloudFormation, maxWaitTime: 60, minDelay: 1, maxDelay: 2 }, { StackName });
      s3.destroy();
      cloudFormation.destroy();

      // moto listens on the host's 127.0.0.1, which only the host network reaches.
      const awsEnv = Object.entries(moto.env).flatMap(([name, value]) => ['-e', `${name}=${value}`]);
      const result = await podman(['run', '--rm', '--network', 'host', '-v', `${repo}:/src`, ...awsEnv, image(), 'integration-test', '--stack', 'Pipe', '--stage', 'Gamma']);
      expect(result.stderr).toContain('(from export HelloPythonPipeGamma)');
      expect(result.stdout).toContain('reached arn:aws:lambda:us-east-1:');
      expect(result.stdout).toMatch(/\n1 passed, 0 failed$/);
      expect(result.exitCode).toBe(0);
    });
  });

  it('is built as the Python variant of its base (PYTHON_VERSION), labelled with it; tests run on that Python', async () => {
    const labels = JSON.parse((await podman(['image', 'inspect', '--format', '{{json .Labels}}', image()])).stdout) as Record<string, string>;
    expect(labels['io.lambda-cd.python-version']).toBe(built.pythonVersion);
    const python = await podman(['run', '--rm', '--network', 'none', '--entrypoint', 'python3', image(), '-c', 'import sys; print("%d.%d" % sys.version_info[:2])']);
    expect(python.stdout.trim()).toBe(built.pythonVersion);
  });

  it('PYTHON_VERSION=X.Y alone picks python:X.Y-slim-trixie for every runtime with a variant (resolved by podman, nothing pulled)', async () => {
    image();
    for (const runtime of IMAGE_PYTHON_VARIANTS) {
      const version = runtime.replace('python', '');
      const result = await tryBuild(built.buildBase, { PYTHON_VERSION: version });
      expect(result.exitCode, runtime).not.toBe(0);
      // The build stage passed (cached); the runtime stage named the variant's base.
      expect(result.stdout + result.stderr, runtime).toContain(`python:${version}-slim-trixie: image not known`);
    }
  });

  it('a variant whose base carries another Python fails the build, naming both versions', async () => {
    image();
    const other = built.pythonVersion === '3.12' ? '3.13' : '3.12';
    const result = await tryBuild(built.buildBase, { RUNTIME_BASE: built.runtimeBase, PYTHON_VERSION: other, SYSTEM_PACKAGES: '' });
    expect(result.exitCode).not.toBe(0);
    expect(result.stdout + result.stderr).toContain(`check-runtime: PYTHON_VERSION=${other}, but the base's python3 is ${built.pythonVersion}`);
  });
});
