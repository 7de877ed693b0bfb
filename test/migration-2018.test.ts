/**
 * A repository written for the 2018 system, unchanged, through check, package (with the handler
 * import check), create-cf, and an update on moto of a stack that the 2018 createCF.py template
 * created. troposphere and awacs are stand-in wheels built offline (test/helpers/troposphere.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  CloudFormationClient, CreateStackCommand, DescribeStackResourcesCommand, ListExportsCommand, UpdateStackCommand,
  waitUntilStackCreateComplete, waitUntilStackUpdateComplete,
} from '@aws-sdk/client-cloudformation';
import { GetFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadRepository } from '../lib/contract.js';
import { templateNames } from '../lib/template.js';
import { Intrinsic, loadYaml } from '../generator/cfn-yaml.js';
import { checkHandler } from '../lib/handler-check.js';
import { runCli } from './helpers/cli.js';
import { createOnlyProperties, LEGACY_NAME, makeLegacyRepo, template2018 } from './helpers/legacy-2018.js';
import { startMoto, type MotoServer } from './helpers/moto.js';
import { tempDir } from './helpers/repo.js';
import { buildTroposphereWheels } from './helpers/troposphere.js';
import { buildWheel, offlinePipEnv } from './helpers/wheels.js';

type Template = { Resources: Record<string, { Type: string; Properties: Record<string, any>; DeletionPolicy?: string }>; Outputs: Record<string, any> };

let wheelhouse: string;
let pipEnv: Record<string, string>;
/** troposphere and awacs installed (as the 2018 build had them), for computing the 2018 template. */
let toolsDir: string;
/** PATH with python3 (this machine's 3.11) and a python3.12 that is not one: the import check's choice is deterministic. */
let pathWithout312: string;

beforeAll(async () => {
  wheelhouse = await tempDir('lambda-cd-wheels-');
  await buildTroposphereWheels(wheelhouse);
  // A 2018 pin: requests 2.18.4 needs urllib3 1.22, whose _collections.py imports Mapping from collections.
  await buildWheel(wheelhouse, {
    name: 'urllib3', version: '1.22',
    files: { 'urllib3/__init__.py': 'from ._collections import HTTPHeaderDict\n', 'urllib3/_collections.py': 'from collections import Mapping, MutableMapping\n\nclass HTTPHeaderDict(dict):\n    pass\n' },
  });
  await buildWheel(wheelhouse, { name: 'requests', version: '2.18.4', requires: ['urllib3==1.22'], files: { 'requests/__init__.py': 'import urllib3\n__version__ = "2.18.4"\n' } });
  pipEnv = offlinePipEnv(wheelhouse);
  toolsDir = await tempDir('lambda-cd-tools-');
  await execa('python3', ['-m', 'pip', 'install', '--quiet', '--target', toolsDir, 'troposphere', 'awacs'], { env: pipEnv });
  const bin = await tempDir('lambda-cd-bin-');
  await symlink((await execa('python3', ['-c', 'import sys; print(sys.executable)'])).stdout.trim(), path.join(bin, 'python3'));
  await writeFile(path.join(bin, 'python3.12'), '#!/bin/sh\nexec python3 "$@"\n', { mode: 0o755 });
  pathWithout312 = bin;
}, 120_000);

async function lambdaCd(root: string, args: string[], env: Record<string, string> = {}) {
  return runCli(args, { cwd: root, env: { ...pipEnv, ...env } });
}

function errors(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.includes('error'));
}

describe('a 2018 repository, unchanged', () => {
  it('passes check, which runs the env and iam files as create-cf does and reports variables, policies and test files', async () => {
    const root = await makeLegacyRepo();
    const result = await lambdaCd(root, ['check']);
    expect(errors(result.stderr)).toEqual([]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.split('\n')).toEqual([
      `${LEGACY_NAME}: weather.handler on python3.12 (x86_64)`,
      'stages: Gamma (256 MB, 60 s) -> PROD (256 MB, 60 s)',
      '  Gamma: 3 variables (BUCKET, ORDER_ID, REGIONAL) from config/Gamma/env.py; policies S3Access-${AWS::StackName}, lambda-cd-logs from config/Gamma/iam.py',
      '  PROD: 1 variable (BUCKET) from config/PROD/env.py; policies lambda-cd-logs from config/PROD/iam.py',
      'unit tests: tests/unittests/ (script): 1 test file',
      'integration tests: test/ (script): no test files: nothing to run',
    ]);
    // Said once each: the Runtime chosen, and the logs grant narrowed (for both stages' files).
    expect(result.stderr.match(/no Runtime: lambda-cd builds and deploys for python3\.12/g)).toHaveLength(1);
    expect(result.stderr.match(/narrows that to the function's own log group/g)).toHaveLength(1);
    expect(result.stderr).toContain("config/Gamma/iam.py, config/PROD/iam.py: policy OneClickCreateLogsPolicy-${AWS::StackName} lets the function write logs to arn:aws:logs:*:*:*; lambda-cd narrows that to the function's own log group, /aws/lambda/IotWeather<Stage>");
    expect(result.stderr).toContain('installing troposphere and awacs for the stage files');
    expect(result.stderr).not.toContain('test requirements');
    expect(existsSync(path.join(root, 'dist'))).toBe(false);
  });

  it('check fails exactly where create-cf fails (a broken iam.py), with the same line', async () => {
    const root = await makeLegacyRepo({ 'config/PROD/iam.py': 'def get_iam(ref_name):\n  return {"Policies": [{"PolicyName": {"Ref": "NoSuchThing"}, "PolicyDocument": {"Statement": []}}]}\n' });
    const check = await lambdaCd(root, ['check']);
    const create = await lambdaCd(root, ['create-cf', '--stack', 'Pipe']);
    expect(check.exitCode).toBe(2);
    expect(create.exitCode).toBe(2);
    const line = 'config/PROD/iam.py: Policies[0].PolicyName: Ref names "NoSuchThing", which the stage template does not hold';
    expect(errors(check.stderr)).toEqual([expect.stringContaining(line)]);
    expect(errors(create.stderr)).toEqual([expect.stringContaining(line)]);
  });

  it('create-cf: the helper library, Sub policy names, a dict get_iam, get_env() and get_env(stage); lint-clean templates', async () => {
    const root = await makeLegacyRepo();
    const result = await lambdaCd(root, ['create-cf', '--stack', 'Pipe']);
    expect(errors(result.stderr)).toEqual([]);
    expect(result.exitCode).toBe(0);
    expect(result.stderr.match(/narrows that/g)).toHaveLength(1);
    // create-cf leaves the Runtime note to package (once per build).
    expect(result.stderr).not.toContain('no Runtime');
    const gamma = JSON.parse(readFileSync(path.join(root, 'dist/stackGamma.json'), 'utf8')) as Template;
    const role = gamma.Resources.IotWeatherPipeGammaIAM!.Properties;
    expect(role.RoleName).toBe('IotWeatherPipeGammaIAM');
    expect(role.Path).toBeUndefined();
    expect(role.Policies.map((p: any) => p.PolicyName)).toEqual([{ 'Fn::Sub': 'S3Access-${AWS::StackName}' }, 'lambda-cd-logs']);
    // A Sub without variables is its text (cfn-lint W1020); the logs grant is lambda-cd's, on the function's own group only.
    expect(role.Policies[0].PolicyDocument.Statement).toEqual([{ Action: ['s3:PutObject'], Effect: 'Allow', Resource: ['arn:aws:s3:::iotweatherdata-gamma*'] }]);
    expect(JSON.stringify(role)).not.toContain('arn:aws:logs:*:*:*');
    expect(gamma.Resources.IotWeather!.Properties.Environment.Variables).toEqual({ BUCKET: 'iotweatherdata-gamma', ORDER_ID: '12345678901234567890', REGIONAL: { 'Fn::Sub': 'iotweather-${AWS::Region}' } });
    const prod = JSON.parse(readFileSync(path.join(root, 'dist/stackPROD.json'), 'utf8')) as Template;
    expect(prod.Resources.IotWeather!.Properties.Environment.Variables).toEqual({ BUCKET: 'iotweatherdata-prod' });
    expect(prod.Resources.IotWeatherPipePRODIAM!.Properties.Policies.map((p: any) => p.PolicyName)).toEqual(['lambda-cd-logs']);
    const lint = await execa('cfn-lint', ['--format', 'parseable', '--', path.join(root, 'dist/stackGamma.json'), path.join(root, 'dist/stackPROD.json')], { reject: false });
    expect(lint.stdout + lint.stderr).toBe('');
  });

  it('package says once which Runtime it chose, and that the import check was skipped without a Python of that version', async () => {
    const root = await makeLegacyRepo();
    const result = await lambdaCd(root, ['package'], { PATH: pathWithout312 });
    expect(errors(result.stderr)).toEqual([]);
    expect(result.exitCode).toBe(0);
    expect(result.stderr.match(/no Runtime: lambda-cd builds and deploys for python3\.12 \(the 2018 system deployed python3\.6/g)).toHaveLength(1);
    expect(result.stderr).toContain('handler import check skipped: no Python 3.12 for python3.12 here (tried python3, python3.12); pass --python with a Python 3.12');
    expect(existsSync(path.join(root, 'dist/function.zip'))).toBe(true);
  });
});

describe('package: the handler must import from the built zip', () => {
  /** Runtime python3.11: this machine's python3 checks it. */
  const at311 = (files: Record<string, string>) => makeLegacyRepo({
    'config/config.yaml': `Name: ${LEGACY_NAME}\nRuntime: python3.11\nHandler: weather.handler\nUnittests:\n  Folder: tests/unittests\n`,
    ...files,
  });

  it('an old pin that cannot import on today\'s Python fails the build (exit 1) with the error and its distribution, and leaves no zip', async () => {
    const root = await at311({ 'requirements.txt': 'requests==2.18.4\n', 'src/weather.py': 'import requests\n\ndef handler(event, context):\n  return requests.__version__\n' });
    // An earlier good zip must not survive either: it is not what these sources build.
    await mkdir(path.join(root, 'dist'));
    await writeFile(path.join(root, 'dist/function.zip'), 'old');
    const result = await lambdaCd(root, ['package']);
    expect(result.exitCode).toBe(1);
    expect(errors(result.stderr)).toEqual([
      "lambda-cd: error: src/weather.py: the handler's module does not import on Python 3.11 from the built zip: ImportError: cannot import name 'Mapping' from 'collections' at urllib3/_collections.py:1 (urllib3 1.22, imported through your code -> requests 2.18.4); urllib3 1.22 does not work on Python 3.11: pin a version of it that does in requirements.txt (--no-import-check skips this check)",
    ]);
    expect(existsSync(path.join(root, 'dist/function.zip'))).toBe(false);
    expect(existsSync(path.join(root, 'dist/function.zip.manifest.json'))).toBe(false);

    const skipped = await lambdaCd(root, ['package', '--no-import-check']);
    expect(skipped.exitCode).toBe(0);
    expect(skipped.stderr).toContain('handler import check skipped (--no-import-check)');
  });

  const failing: [string, Record<string, string>, RegExp][] = [
    ['a module the zip lacks', { 'src/weather.py': 'import yamlish_settings\n\ndef handler(e, c):\n  pass\n' },
      /src\/weather\.py: the handler's module does not import on Python 3\.11 from the built zip: ModuleNotFoundError: No module named 'yamlish_settings' at src\/weather\.py:1; nothing in the zip provides yamlish_settings: add the distribution that provides it to requirements\.txt/],
    ['a syntax error', { 'src/helpers.py': 'def broken(:\n', 'src/weather.py': 'import helpers\n\ndef handler(e, c):\n  pass\n' },
      /SyntaxError: .* at src\/helpers\.py:1; fix the code/],
    ['no handler function', { 'src/weather.py': 'def main(e, c):\n  pass\n' },
      /src\/weather\.py: the module imports on Python 3\.11 but has no function handler \(Handler weather\.handler\); Lambda could not call it/],
    ['a crash at import', { 'src/weather.py': 'import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n' },
      /src\/weather\.py: importing the handler's module on python3 ended the interpreter \(signal SIGSEGV\)/],
  ];
  it.concurrent.each(failing)('%s fails the build, exit 1', async (_name, files, message) => {
    const root = await at311(files);
    const result = await lambdaCd(root, ['package']);
    expect(result.exitCode).toBe(1);
    expect(errors(result.stderr)).toHaveLength(1);
    expect(errors(result.stderr)[0]).toMatch(message);
    expect(existsSync(path.join(root, 'dist/function.zip'))).toBe(false);
  });

  it('imports without AWS credentials, without PYTHONPATH, with boto3-less Lambda variables; a KeyError from the stage\'s variables only warns', async () => {
    const root = await at311({
      'src/weather.py': [
        'import os, sys',
        'leaked = [k for k in os.environ if k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")]',
        'assert not leaked, leaked',
        'assert os.environ["AWS_REGION"] == "eu-west-1" and os.environ["AWS_LAMBDA_FUNCTION_NAME"]',
        'assert not any("site-packages" in p for p in sys.path), sys.path',
        'TABLE = os.environ["TABLE"]',
        'def handler(e, c):',
        '  return TABLE',
        '',
      ].join('\n'),
    });
    const result = await lambdaCd(root, ['package'], {
      AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE', AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', AWS_SESSION_TOKEN: 'token-token-token',
      AWS_PROFILE: 'prod', AWS_REGION: 'eu-west-1', PYTHONPATH: '/nonexistent/site-packages',
    });
    expect(result.exitCode).toBe(0);
    // Got as far as TABLE: the credentials and site-packages assertions held.
    expect(result.stderr).toContain("src/weather.py: importing the handler's module on Python 3.11 raised KeyError: 'TABLE' at src/weather.py:6 (without the stage's environment variables and AWS credentials); not counted, as it may work in Lambda");
    expect(existsSync(path.join(root, 'dist/function.zip'))).toBe(true);
  });

  it('a module whose import does not finish is stopped at the timeout and only warned about', async () => {
    const root = await at311({ 'src/weather.py': 'import time\ntime.sleep(3600)\n\ndef handler(e, c):\n  pass\n' });
    const built = await lambdaCd(root, ['package', '--no-import-check']);
    expect(built.exitCode).toBe(0);
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => written.push(String(chunk)) > 0);
    try {
      await checkHandler({ zipFile: path.join(root, 'dist/function.zip'), repository: loadRepository(root), python: 'python3', enabled: true, timeoutMs: 1500 });
    } finally {
      spy.mockRestore();
    }
    expect(written.join('')).toContain("src/weather.py: importing the handler's module did not finish within 1.5 s on python3 (does its top level wait for the network?); the import check is not counted");
  });

  it("compiled code this machine cannot load (another CPU) is not held against the zip; broken compiled code for this machine is", async () => {
    const wheels = await tempDir('lambda-cd-wheels-');
    const fake = Buffer.from('not an ELF file');
    for (const [machine, python] of [['aarch64', 'aarch64'], ['x86_64', 'x86_64']]) {
      await buildWheel(wheels, { name: 'fastlib', version: '1.0', tag: `cp311-cp311-manylinux_2_17_${machine}`, files: { 'fastlib/__init__.py': 'from ._speedups import go\n', [`fastlib/_speedups.cpython-311-${python}-linux-gnu.so`]: fake } });
    }
    const files = { 'requirements.txt': 'fastlib==1.0\n', 'src/weather.py': 'import fastlib\n\ndef handler(e, c):\n  pass\n' };
    const arm = await makeLegacyRepo({ ...files, 'config/config.yaml': `Name: ${LEGACY_NAME}\nRuntime: python3.11\nArchitecture: arm64\nHandler: weather.handler\n` });
    const onArm = await lambdaCd(arm, ['package'], offlinePipEnv(wheels));
    expect(errors(onArm.stderr)).toEqual([]);
    expect(onArm.exitCode).toBe(0);
    expect(onArm.stderr).toContain('handler import check incomplete: compiled code of fastlib 1.0 is built for Lambda (manylinux, arm64) and cannot load on this machine; checked up to there');
    const x86 = await at311(files);
    const onX86 = await lambdaCd(x86, ['package'], offlinePipEnv(wheels));
    expect(onX86.exitCode).toBe(1);
    expect(errors(onX86.stderr)[0]).toMatch(/does not import on Python 3\.11 from the built zip: ImportError: fastlib\/_speedups\.cpython-311-x86_64-linux-gnu\.so: .+ at fastlib\/__init__\.py:1 \(fastlib 1\.0, imported through your code\); fastlib 1\.0 does not work on Python 3\.11/);
  });

  it('gets past boto3 and botocore when the checking Python lacks them (Lambda provides them), to the old pin behind them', async () => {
    const venv = path.join(await tempDir('lambda-cd-venv-'), 'venv');
    await execa('python3', ['-m', 'venv', venv]); // pip runs with --python too
    const files = {
      'requirements.txt': 'requests==2.18.4\n',
      'src/weather.py': 'import boto3\nfrom botocore.exceptions import ClientError\nfrom boto3.dynamodb.conditions import Key\nTABLE = boto3.resource("dynamodb").Table("t")\nimport requests\n\ndef handler(e, c):\n  pass\n',
    };
    const broken = await at311(files);
    const result = await lambdaCd(broken, ['package', '--python', path.join(venv, 'bin/python')]);
    expect(result.exitCode).toBe(1);
    expect(errors(result.stderr)[0]).toContain("ImportError: cannot import name 'Mapping' from 'collections' at urllib3/_collections.py:1 (urllib3 1.22, imported through your code -> requests 2.18.4)");
    const fine = await at311({ 'src/weather.py': files['src/weather.py'].replace('import requests\n', '') });
    const passed = await lambdaCd(fine, ['package', '--python', path.join(venv, 'bin/python')]);
    expect(errors(passed.stderr)).toEqual([]);
    expect(passed.stderr).toMatch(/imports from the zip on \S+venv\/bin\/python \(Python 3\.11, [^)]+\); boto3, botocore, which Lambda provides and \S+ lacks, stood in by placeholders/);
  });

  it('passes a handler that imports fine, saying so; the next build reuses the unpacked files it can trust, and only those', async () => {
    const root = await at311({ 'requirements.txt': 'troposphere\n', 'src/weather.py': 'import troposphere\n\ndef handler(e, c):\n  return 1\n' });
    const result = await lambdaCd(root, ['package']);
    expect(errors(result.stderr)).toEqual([]);
    expect(result.stderr).toContain('handler weather.handler imports from the zip on python3 (Python 3.11');
    expect(result.exitCode).toBe(0);
    // Kept in .lambda-cd/ (not in the cache CI saves). A kept file changed since is unpacked again.
    const kept = path.join(root, '.lambda-cd/import-check/tree/troposphere/__init__.py');
    expect(existsSync(kept)).toBe(true);
    expect(existsSync(path.join(root, '.lambda-cd/cache/import-check'))).toBe(false);
    await writeFile(kept, 'raise ImportError("tampered")\n');
    await writeFile(path.join(root, 'src/weather.py'), 'import troposphere\nfrom troposphere.iam import Role\n\ndef handler(e, c):\n  return 2\n');
    const again = await lambdaCd(root, ['package']);
    expect(errors(again.stderr)).toEqual([]);
    expect(again.exitCode).toBe(0);
    expect(readFileSync(kept, 'utf8')).not.toContain('tampered');
    // A name that is not defined fails wherever the function runs.
    await writeFile(path.join(root, 'src/weather.py'), 'import troposphere\nsettings = load_settings()\n\ndef handler(e, c):\n  return 2\n');
    const undefinedName = await lambdaCd(root, ['package']);
    expect(undefinedName.exitCode).toBe(1);
    expect(errors(undefinedName.stderr)[0]).toContain("NameError: name 'load_settings' is not defined at src/weather.py:2; fix the code");
  });
});

describe('the generated pipeline and a stack the 2018 system deployed', () => {
  it("lets the deploy role update the role a 2018 iam.py named after its ref_name, and no other outside /lambda-cd/<Name>/", async () => {
    const file = path.join(await tempDir(), 'pipeline.yaml');
    expect((await runCli(['generate', 'pipeline', '--stages', 'Gamma', '--out', file])).exitCode).toBe(0);
    const doc = loadYaml(readFileSync(file, 'utf8')) as any;
    const statements = doc.Resources.DeployRole.Properties.Policies[0].PolicyDocument.Statement as { Action: string[]; Resource: unknown[] }[];
    const roleStatement = statements.find((statement) => statement.Action.includes('iam:PutRolePolicy'))!;
    const passRole = statements.find((statement) => statement.Action.includes('iam:PassRole'))!;
    // What CloudFormation makes of the ARNs for FunctionName Iot-Weather_1 in stack My-Pipe.
    const resolve = (value: any): any => {
      if (value instanceof Intrinsic) return value.fn === 'Ref' ? ({ FunctionName: 'Iot-Weather_1', 'AWS::StackName': 'My-Pipe' } as Record<string, string>)[value.value] : value.value;
      if (value?.['Fn::Join']) return resolve(value['Fn::Join'][1]).join(value['Fn::Join'][0]);
      if (value?.['Fn::Split']) return resolve(value['Fn::Split'][1]).split(value['Fn::Split'][0]);
      if (value?.['Fn::Sub']) {
        const [text, variables] = value['Fn::Sub'] as [string, Record<string, unknown>];
        return text.replace(/\$\{(\w+)\}/g, (_m, name: string) => resolve(variables[name]));
      }
      return value;
    };
    for (const statement of [roleStatement, passRole]) {
      const arns = statement.Resource.map(resolve).filter((arn: string) => !arn.includes('/lambda-cd/'));
      expect(arns).toEqual(['Gamma', 'PROD'].map((stage) => `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/${templateNames('Iot-Weather_1', 'My-Pipe', stage).roleId}`));
    }
  });
});

describe('a stack the 2018 system deployed, updated with lambda-cd\'s template', () => {
  let moto: MotoServer;
  beforeAll(async () => {
    moto = await startMoto();
  });
  afterAll(async () => {
    await moto?.stop();
  });

  it('keeps the logical ids and every create-only property, and updates in place on moto next to the log group Lambda made', async () => {
    const root = await makeLegacyRepo();
    const stack = 'Pipe';
    const created = await lambdaCd(root, ['create-cf', '--stack', stack]);
    expect(created.exitCode).toBe(0);
    const ours = JSON.parse(readFileSync(path.join(root, 'dist/stackGamma.json'), 'utf8')) as Template;
    const old = await template2018(root, stack, 'Gamma', toolsDir, { BUCKET: 'iotweatherdata-gamma' }) as unknown as Template;

    // Statically, against the resource schemas cfn-lint ships: same ids, same types, same create-only values.
    const createOnly = await createOnlyProperties([...new Set(Object.values(ours.Resources).map((r) => r.Type))]);
    for (const [id, resource] of Object.entries(old.Resources)) {
      expect(ours.Resources[id]?.Type, id).toBe(resource.Type);
      for (const property of createOnly[resource.Type]!) {
        expect(ours.Resources[id]!.Properties[property], `${id}.${property}`).toEqual(resource.Properties[property]);
      }
    }
    expect(Object.keys(ours.Outputs)).toEqual(Object.keys(old.Outputs));
    expect(Object.values(ours.Outputs)[0].Export).toEqual(Object.values(old.Outputs)[0].Export);
    // Nothing new that is named like something Lambda creates by itself.
    const added = Object.entries(ours.Resources).filter(([id]) => !(id in old.Resources));
    expect(added.filter(([, r]) => r.Type === 'AWS::Logs::LogGroup')).toEqual([]);

    const config = {
      endpoint: moto.endpoint,
      region: moto.env.AWS_REGION,
      credentials: { accessKeyId: moto.env.AWS_ACCESS_KEY_ID!, secretAccessKey: moto.env.AWS_SECRET_ACCESS_KEY!, sessionToken: moto.env.AWS_SESSION_TOKEN },
    };
    const s3 = new S3Client({ ...config, forcePathStyle: true });
    const cloudFormation = new CloudFormationClient(config);
    const lambda = new LambdaClient(config);
    await s3.send(new CreateBucketCommand({ Bucket: 'artifacts-2018' }));
    await s3.send(new PutObjectCommand({ Bucket: 'artifacts-2018', Key: 'old.zip', Body: await zipOf({ 'weather.py': 'def handler(e, c):\n  return 1\n' }) }));
    await s3.send(new PutObjectCommand({ Bucket: 'artifacts-2018', Key: 'new.zip', Body: await zipOf({ 'weather.py': 'def handler(e, c):\n  return 2\n' }) }));
    const StackName = `${stack}FunctionsGamma`;
    const parameters = (key: string) => [{ ParameterKey: 'S3Storage', ParameterValue: 'artifacts-2018' }, { ParameterKey: 'S3Key', ParameterValue: key }];
    await cloudFormation.send(new CreateStackCommand({ StackName, TemplateBody: JSON.stringify(old), Parameters: parameters('old.zip'), Capabilities: ['CAPABILITY_NAMED_IAM'] }));
    expect((await waitUntilStackCreateComplete({ client: cloudFormation, maxWaitTime: 60, minDelay: 1, maxDelay: 2 }, { StackName })).state).toBe('SUCCESS');
    const before = await physicalIds(cloudFormation, StackName);
    // The function ran in 2018: Lambda created its log group, outside the stack.
    await logGroups(moto, 'create', `/aws/lambda/${LEGACY_NAME}Gamma`);

    await cloudFormation.send(new UpdateStackCommand({ StackName, TemplateBody: JSON.stringify(ours), Parameters: parameters('new.zip'), Capabilities: ['CAPABILITY_NAMED_IAM'] }));
    expect((await waitUntilStackUpdateComplete({ client: cloudFormation, maxWaitTime: 60, minDelay: 1, maxDelay: 2 }, { StackName })).state).toBe('SUCCESS');
    const after = await physicalIds(cloudFormation, StackName);
    for (const id of Object.keys(before)) expect(after[id], id).toBe(before[id]);
    expect(Object.keys(before).sort()).toEqual([LEGACY_NAME, `${LEGACY_NAME}${stack}GammaIAM`]);

    const fn = await lambda.send(new GetFunctionCommand({ FunctionName: `${LEGACY_NAME}Gamma` }));
    expect(fn.Configuration).toMatchObject({ Runtime: 'python3.12', Environment: { Variables: { BUCKET: 'iotweatherdata-gamma', ORDER_ID: '12345678901234567890', REGIONAL: 'iotweather-us-east-1' } } });
    expect(fn.Configuration!.Role).toMatch(/:role\/IotWeatherPipeGammaIAM$/);
    const exported = (await cloudFormation.send(new ListExportsCommand({}))).Exports!.find((e) => e.Name === `${LEGACY_NAME}${stack}Gamma`);
    expect(exported?.Value).toBe(fn.Configuration!.FunctionArn);
    expect(await logGroups(moto, 'list', `/aws/lambda/${LEGACY_NAME}Gamma`)).toEqual([`/aws/lambda/${LEGACY_NAME}Gamma`]);
    for (const client of [s3, cloudFormation, lambda]) client.destroy();
  });
});

/** CloudWatch Logs through boto3 (the project's SDK has no logs client): create a group, or list groups by prefix. */
async function logGroups(moto: MotoServer, action: 'create' | 'list', name: string): Promise<string[]> {
  const script = 'import boto3, json, sys\nlogs = boto3.client("logs")\nif sys.argv[1] == "create":\n    logs.create_log_group(logGroupName=sys.argv[2])\nprint(json.dumps([g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix=sys.argv[2])["logGroups"]]))';
  return JSON.parse((await execa('python3', ['-c', script, action, name], { env: moto.env })).stdout) as string[];
}

async function physicalIds(client: CloudFormationClient, StackName: string): Promise<Record<string, string>> {
  const { StackResources } = await client.send(new DescribeStackResourcesCommand({ StackName }));
  // moto lists the alias it does not implement without a logical id.
  return Object.fromEntries(StackResources!.filter((r) => r.LogicalResourceId).map((r) => [r.LogicalResourceId!, r.PhysicalResourceId!]));
}

async function zipOf(files: Record<string, string>): Promise<Buffer> {
  const dir = await tempDir('lambda-cd-zip-');
  const zip = path.join(dir, 'code.zip');
  await execa('python3', ['-c', 'import json, sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], "w") as z:\n    [z.writestr(n, c) for n, c in json.loads(sys.argv[2]).items()]', zip, JSON.stringify(files)]);
  return readFile(zip);
}
