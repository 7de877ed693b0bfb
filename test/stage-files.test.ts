/**
 * What env and iam files may say and how lambda-cd reads them: numbers exactly as written,
 * intrinsic functions where CloudFormation takes them (and what they name checked), scripts
 * that return nothing or end the process, missing modules, and the 2018 helper library that
 * lambda-cd ships (python/awslambdacontinuousdelivery/tools).
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, runCli } from './helpers/cli.js';
import { makeRepo, tempDir } from './helpers/repo.js';
import { buildTroposphereWheels } from './helpers/troposphere.js';
import { offlinePipEnv } from './helpers/wheels.js';

type Template = { Resources: Record<string, { Type: string; Properties: Record<string, any> }> };

async function createCf(root: string, env: Record<string, string> = {}) {
  return runCli(['create-cf', '--path', root, '--stack', 'Pipe'], { cwd: root, env });
}

function template(root: string, stage = 'PROD'): Template {
  return JSON.parse(readFileSync(path.join(root, `dist/stack${stage}.json`), 'utf8')) as Template;
}

const variables = (root: string) => template(root).Resources.Demo!.Properties.Environment.Variables;

describe('env values keep exactly what was written', () => {
  const BIG = '12345678901234567890';
  const cases: [string, Record<string, string>][] = [
    ['yaml', { 'config/PROD/env.yaml': `ORDER_ID: ${BIG}\nRATIO: 1.10\nNEGATIVE: -0\nEXP: 1e3\nHEX: 0x1F\nSMALL: 7\nFLAG: true\nTEXT: "${BIG}"\n` }],
    ['json', { 'config/PROD/env.json': `{"ORDER_ID": ${BIG}, "RATIO": 1.10, "NEGATIVE": -0, "EXP": 1e3, "SMALL": 7, "FLAG": true, "TEXT": "${BIG} \\"1.10\\""}` }],
    ['env.py', { 'config/PROD/env.py': `def get_env():\n    return {"ORDER_ID": ${BIG}, "POWER": 2 ** 64, "SMALL": 7, "RATIO": 1.1, "FLAG": True}\n` }],
  ];
  it.concurrent.each(cases)('%s: integers beyond 2^53, decimals and exponents as written', async (kind, files) => {
    const root = await makeRepo(files);
    const result = await createCf(root);
    expect(result.exitCode, result.stderr).toBe(0);
    const got = variables(root);
    expect(got.ORDER_ID).toBe(BIG);
    expect(got.SMALL).toBe('7');
    expect(got.FLAG).toBe('true');
    if (kind === 'env.py') {
      expect(got.POWER).toBe('18446744073709551616');
      expect(got.RATIO).toBe('1.1');
    } else {
      expect(got).toMatchObject({ RATIO: '1.10', NEGATIVE: '-0', EXP: '1e3' });
      expect(got.TEXT).toBe(kind === 'json' ? `${BIG} "1.10"` : BIG);
    }
    if (kind === 'yaml') expect(got.HEX).toBe('0x1F');
  });
});

describe('stage scripts that return nothing or end the process: exit 2 naming the file', () => {
  const cases: [string, Record<string, string>, string][] = [
    ['get_env returning None (a forgotten return)', { 'config/PROD/env.py': 'def get_env(stage):\n    env = {"A1": "x"}\n' },
      'config/PROD/env.py: get_env() returned None; expected it to return a dict of variables (a missing return statement?), {} for none'],
    ['get_iam returning None', { 'config/PROD/iam.py': 'def get_iam(ref_name):\n    pass\n' },
      'config/PROD/iam.py: get_iam() returned None; expected it to return the role (a missing return statement?)'],
    ['env.py ending the process with exit 0 before returning', { 'config/PROD/env.py': 'import os\ndef get_env():\n    os._exit(0)\n' },
      'config/PROD/env.py: the process ended (exit 0) before get_env() returned a result; a stage file must return its value, not exit'],
    ['iam.py exiting 0 at import', { 'config/PROD/iam.py': 'import sys\nsys.exit(0)\n' },
      'config/PROD/iam.py:2: get_iam() raised SystemExit: 0'],
    ['iam.py killed by a signal at import', { 'config/PROD/iam.py': 'import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n' },
      'config/PROD/iam.py: the process ended'],
  ];
  it.concurrent.each(cases)('%s', async (_name, files, message) => {
    const root = await makeRepo(files);
    const result = await createCf(root);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringContaining(`lambda-cd: error: ${message}`)]);
    expect(existsSync(path.join(root, 'dist'))).toBe(false);
  });

  it('an empty env.yaml is still no variables', async () => {
    const root = await makeRepo({ 'config/PROD/env.yaml': '# none yet\n' });
    expect((await createCf(root)).exitCode).toBe(0);
    expect(template(root).Resources.Demo!.Properties.Environment).toBeUndefined();
  });
});

describe('intrinsic functions wherever CloudFormation takes them', () => {
  it('in env values and iam files (YAML tags, JSON, Python), with references to what the template holds; cfn-lint clean', async () => {
    const root = await makeRepo({
      'config/config.yaml': 'Name: Demo\nHandler: app.handler\nStages: [Gamma]\n',
      'config/Gamma/env.yaml': 'QUEUE_URL: !ImportValue shared-queue-url\nROLE_ARN: !GetAtt DemoPipeGammaIAM.Arn\nSTACK: !Sub "${AWS::StackName}-${AWS::Region}"\nCODE: !Join ["/", [!Ref S3Storage, !Ref S3Key]]\n',
      'config/Gamma/iam.yaml': 'Statements:\n  - Effect: Allow\n    Action: !Split [",", "s3:GetObject,s3:PutObject"]\n    Resource: !Sub "arn:${AWS::Partition}:s3:::data-${AWS::AccountId}/*"\nManagedPolicyArns: [!Sub "arn:${AWS::Partition}:iam::aws:policy/AWSXrayWriteOnlyAccess"]\n',
      'config/PROD/iam.py': 'def get_iam(ref_name):\n    return {"RoleName": {"Fn::Sub": "demo-${AWS::Region}"}, "Policies": [{"PolicyName": {"Fn::Join": ["-", ["read", {"Ref": "AWS::StackName"}]]}, "PolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": {"Fn::ImportValue": "shared-queue-arn"}}]}}]}\n',
      'config/PROD/env.json': '{"BUCKET": {"Fn::Sub": "data-${AWS::AccountId}"}, "LITERAL": {"Fn::Sub": "cost-${!NotAVariable}"}}',
    });
    const result = await createCf(root);
    expect(result.stderr).not.toContain('error');
    expect(result.exitCode).toBe(0);
    const gamma = template(root, 'Gamma').Resources;
    expect(gamma.Demo!.Properties.Environment.Variables).toEqual({
      CODE: { 'Fn::Join': ['/', [{ Ref: 'S3Storage' }, { Ref: 'S3Key' }]] },
      QUEUE_URL: { 'Fn::ImportValue': 'shared-queue-url' },
      ROLE_ARN: { 'Fn::GetAtt': ['DemoPipeGammaIAM', 'Arn'] },
      STACK: { 'Fn::Sub': '${AWS::StackName}-${AWS::Region}' },
    });
    const prod = template(root).Resources;
    expect(prod.DemoPipePRODIAM!.Properties).toMatchObject({ RoleName: { 'Fn::Sub': 'demo-${AWS::Region}' } });
    expect(prod.DemoPipePRODIAM!.Properties.Path).toBeUndefined();
    // A Sub that substitutes nothing is its text, ${!x} being a literal ${x}.
    expect(prod.Demo!.Properties.Environment.Variables).toEqual({ BUCKET: { 'Fn::Sub': 'data-${AWS::AccountId}' }, LITERAL: 'cost-${NotAVariable}' });
    const lint = await execa('cfn-lint', ['--format', 'parseable', '--', path.join(root, 'dist/stackGamma.json'), path.join(root, 'dist/stackPROD.json')], { reject: false });
    expect(lint.stdout + lint.stderr).toBe('');
  });

  const bad: [string, Record<string, string>, string][] = [
    ['a Ref to nothing in the template', { 'config/PROD/env.yaml': 'TABLE: !Ref OrdersTable\n' },
      'config/PROD/env.yaml: TABLE: Ref names "OrdersTable", which the stage template does not hold (it has S3Storage, S3Key, DemoPipePRODIAM, AWS::StackName, AWS::Region, ...)'],
    ['a Sub variable that is nothing', { 'config/PROD/iam.yaml': 'Statements:\n  - Effect: Allow\n    Action: s3:GetObject\n    Resource: !Sub "arn:aws:s3:::${Bucket}/*"\n' },
      'config/PROD/iam.yaml: Policies[0].PolicyDocument.Statement[0].Resource: Fn::Sub refers to "Bucket", which the stage template does not hold'],
    ['the role naming its own function (a cycle)', { 'config/PROD/iam.py': 'def get_iam(ref_name):\n    return {"Policies": [{"PolicyName": "self", "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": {"Fn::GetAtt": ["Demo", "Arn"]}}]}}]}\n' },
      'config/PROD/iam.py: Policies[0].PolicyDocument.Statement[0].Resource: Fn::GetAtt names Demo, the function, whose role this is: the function depends on the role (a circular dependency CloudFormation rejects)'],
    ['the function\'s environment naming the function', { 'config/PROD/env.yaml': 'SELF: !GetAtt Demo.Arn\n' },
      'config/PROD/env.yaml: SELF: Fn::GetAtt names Demo, the function itself'],
    ['Fn::If without conditions', { 'config/PROD/env.json': '{"MODE": {"Fn::If": ["IsProd", "live", "test"]}}' },
      'config/PROD/env.json: MODE: Fn::If: needs a condition, and a stage template has no Conditions'],
    ['an unknown function', { 'config/PROD/env.json': '{"MODE": {"Fn::Lower": "X"}}' },
      'config/PROD/env.json: MODE: Fn::Lower: not a CloudFormation intrinsic function'],
    ['a policy name that is neither text nor an intrinsic', { 'config/PROD/iam.py': 'def get_iam(ref_name):\n    return {"Policies": [{"PolicyName": 7, "PolicyDocument": {"Statement": []}}]}\n' },
      'config/PROD/iam.py: Policies[0]: expected {PolicyName: text or an intrinsic function such as Fn::Sub, PolicyDocument: {...}}'],
  ];
  it.concurrent.each(bad)('%s: exit 2 naming the file and the place', async (_name, files, message) => {
    const root = await makeRepo(files);
    const result = await createCf(root);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringContaining(`lambda-cd: error: ${message}`)]);
  });
});

describe('a missing module in a stage script', () => {
  const cases: [string, string, string][] = [
    ['a part of the 2018 library lambda-cd does not provide', 'from awslambdacontinuousdelivery.pipeline.source import getGitHub',
      'config/PROD/env.py:1: imports awslambdacontinuousdelivery.pipeline, which lambda-cd does not provide: of the 2018 library it provides awslambdacontinuousdelivery.tools and awslambdacontinuousdelivery.tools.iam; build the value without it'],
    ['a module whose package lambda-cd cannot know', 'import company_settings',
      'config/PROD/env.py:1: imports company_settings, which is not installed for PYTHON; install the package that provides it for that interpreter, or remove the import'],
    ['a module whose distribution has another name', 'import yaml',
      'config/PROD/env.py:1: imports yaml, which is not installed for PYTHON; install it for that interpreter (PYTHON -m pip install PyYAML) or remove the import'],
  ];
  it.concurrent.each(cases)('%s: no made-up package name', async (_name, code, message) => {
    // A Python without site-packages: PyYAML, which this machine has, is missing there.
    const bin = await tempDir('lambda-cd-bin-');
    const python = path.join(bin, 'python-no-site');
    await writeFile(python, '#!/bin/sh\nexec python3 -S "$@"\n', { mode: 0o755 });
    const root = await makeRepo({ 'config/PROD/env.py': `${code}\n\ndef get_env():\n    return {}\n` });
    const result = await runCli(['create-cf', '--path', root, '--stack', 'Pipe', '--python', python], { cwd: root });
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim()).toBe(`lambda-cd: error: ${message.replaceAll('PYTHON', python)}`);
  });
});

describe("lambda-cd's awslambdacontinuousdelivery.tools (the 2018 helper library)", () => {
  let toolsDir: string;
  beforeAll(async () => {
    const wheelhouse = await tempDir('lambda-cd-wheels-');
    await buildTroposphereWheels(wheelhouse);
    toolsDir = await tempDir('lambda-cd-tools-');
    await execa('python3', ['-m', 'pip', 'install', '--quiet', '--target', toolsDir, 'troposphere', 'awacs'], { env: offlinePipEnv(wheelhouse) });
  }, 120_000);

  it('has the 2018 functions, arguments and return shapes', async () => {
    const script = `
import json
from troposphere.iam import Role, Policy
from awslambdacontinuousdelivery.tools import alphanum
from awslambdacontinuousdelivery.tools.iam import (defaultAssumeRolePolicyDocument, oneClickCreateLogsPolicy,
    oneClickCodePipeServicePolicy, createRole, createCodepipelineRole)
logs = oneClickCreateLogsPolicy()
assert isinstance(logs, Policy) and isinstance(createRole("x", []), Role) and isinstance(createCodepipelineRole("p"), Role)
print(json.dumps({
    "alphanum": alphanum("My-Func_2018 Pipe!"),
    "assume": defaultAssumeRolePolicyDocument("lambda.amazonaws.com").JSONrepr(),
    "logs": Role("R", Policies=[logs]).to_dict()["Properties"]["Policies"][0],
    "logs_with_self": oneClickCreateLogsPolicy(object()).to_dict()["PolicyName"],
    "role": createRole("My-Role", [logs]).to_dict(),
    "pipeline": createCodepipelineRole("Pipe-PipelineRole").to_dict(),
    "pipeline_policy_name": oneClickCodePipeServicePolicy().to_dict()["PolicyName"],
}, default=lambda o: o.JSONrepr()))
`;
    const result = await execa('python3', ['-c', script], { env: { PYTHONPATH: [toolsDir, path.join(PROJECT_ROOT, 'python')].join(path.delimiter) } });
    const out = JSON.parse(result.stdout);
    expect(out.alphanum).toBe('MyFunc2018Pipe');
    expect(out.assume).toEqual({ Statement: [{ Action: ['sts:AssumeRole'], Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } }] });
    expect(out.logs).toEqual({
      PolicyName: { 'Fn::Sub': 'OneClickCreateLogsPolicy-${AWS::StackName}' },
      PolicyDocument: { Statement: [{ Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'], Resource: ['arn:aws:logs:*:*:*'], Effect: 'Allow' }] },
    });
    expect(out.logs_with_self).toEqual({ 'Fn::Sub': 'OneClickCreateLogsPolicy-${AWS::StackName}' });
    expect(out.role).toMatchObject({ Type: 'AWS::IAM::Role', Properties: { RoleName: { 'Fn::Sub': 'My-Role-${AWS::StackName}' } } });
    expect(out.pipeline.Properties.RoleName).toEqual({ 'Fn::Sub': '${AWS::StackName}PipelineRole' });
    expect(out.pipeline.Properties.AssumeRolePolicyDocument.Statement[0].Principal).toEqual({ Service: 'codepipeline.amazonaws.com' });
    expect(out.pipeline.Properties.Policies[0].PolicyDocument.Statement.flatMap((s: any) => s.Action)).toContain('cloudformation:*');
    expect(out.pipeline_policy_name).toEqual({ 'Fn::Sub': 'oneClickCodePipeServicePolicy-${AWS::StackName}' });
  });

  it('needs nothing installed for alphanum; an installed copy of the original library wins over lambda-cd\'s', async () => {
    const root = await makeRepo({ 'config/PROD/env.py': 'from awslambdacontinuousdelivery.tools import alphanum\n\ndef get_env():\n    return {"REF": alphanum("Orders-Pipe_PROD")}\n' });
    const ours = await createCf(root);
    expect(ours.exitCode, ours.stderr).toBe(0);
    expect(variables(root)).toEqual({ REF: 'OrdersPipePROD' });
    // A namespace package, like the original: an installed copy elsewhere on the path is found first.
    const original = await tempDir('lambda-cd-original-');
    await mkdir(path.join(original, 'awslambdacontinuousdelivery/tools'), { recursive: true });
    await writeFile(path.join(original, 'awslambdacontinuousdelivery/tools/__init__.py'), 'def alphanum(s):\n    return "original"\n');
    const theirs = await createCf(root, { PYTHONPATH: original });
    expect(theirs.exitCode, theirs.stderr).toBe(0);
    expect(variables(root)).toEqual({ REF: 'original' });
  });
});
