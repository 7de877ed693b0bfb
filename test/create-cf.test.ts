import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { loadRepository } from '../lib/contract.js';
import { readStageEnv } from '../lib/stage-env.js';
import { runCli } from './helpers/cli.js';
import { makeRepo, tempDir } from './helpers/repo.js';
import { buildTroposphereWheels } from './helpers/troposphere.js';
import { offlinePipEnv } from './helpers/wheels.js';

type Template = {
  Parameters: Record<string, unknown>;
  Resources: Record<string, { Type: string; Properties: Record<string, any> }>;
  Outputs: Record<string, any>;
};

async function createCf(root: string, ...args: string[]) {
  return runCli(['create-cf', '--path', root, '--stack', 'Pipe', ...args]);
}

/** Runs create-cf and returns the written templates by stage. */
async function generate(root: string, ...args: string[]): Promise<{ files: string[]; templates: Record<string, Template>; stderr: string }> {
  const result = await createCf(root, ...args);
  expect(result.stderr).not.toContain('error');
  expect(result.exitCode).toBe(0);
  const files = result.stdout.trim().split('\n');
  const templates: Record<string, Template> = {};
  for (const file of files) {
    const stage = /stack(\w+)\.(json|yaml)$/.exec(file)![1]!;
    templates[stage] = (file.endsWith('.json') ? JSON.parse(readFileSync(file, 'utf8')) : yaml.load(readFileSync(file, 'utf8'))) as Template;
  }
  return { files, templates, stderr: result.stderr };
}

function resourcesOfType(template: Template, type: string) {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

function role(template: Template) {
  return resourcesOfType(template, 'AWS::IAM::Role')[0]![1].Properties;
}

function fn(template: Template) {
  return resourcesOfType(template, 'AWS::Lambda::Function')[0]![1].Properties;
}

const VPC = 'Vpc:\n  SubnetIds: [subnet-0123abcd, subnet-4567efab]\n  SecurityGroupIds: [sg-0123abcd]\n';
const LAYER = 'arn:aws:lambda:us-east-1:123456789012:layer:shared:3';

/** What a 2018 iam.py built with troposphere returned (Role.to_dict()), without needing troposphere. */
const ROLE_DICT = `{
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": ["lambda.amazonaws.com"]}, "Action": ["sts:AssumeRole"]}]},
            "Policies": [{"PolicyName": "ReadConfig", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::legacy-config/*"]}]}}],
        },
    }`;
const TROPOSPHERE_LIKE_IAM = `class Role:
    def __init__(self, title):
        self.title = title
    def to_dict(self):
        return ${ROLE_DICT}

def get_iam(ref_name):
    return Role(ref_name)
`;
const SEED_DICT_IAM = `def get_iam(ref_name):
    return ${ROLE_DICT}
`;

/** One repository per row of the matrix; each exercises different files and settings. */
const MATRIX: Record<string, { files: Record<string, string>; args?: string[] }> = {
  'yaml files, three stages, VPC, layers, arm64, tracing, reserved concurrency, retention, tags': {
    files: {
      'config/config.yaml': `Name: Orders\nHandler: app.handler\nRuntime: python3.13\nArchitecture: arm64\nStages: [Alpha, Beta]\nDescription: Takes orders\n${VPC}Layers: [${LAYER}]\nTracing: Active\nReservedConcurrency: 5\nLogRetentionInDays: 30\nTags: {team: shop, cost-center: "42"}\n`,
      'config/Alpha/env.yaml': 'TABLE: orders-alpha\nDB_PASSWORD: "{{resolve:secretsmanager:orders/alpha:SecretString:password}}"\nRETRIES: 3\nVERBOSE: true\n',
      'config/Alpha/iam.yaml': 'Statements:\n  - Effect: Allow\n    Action: [dynamodb:GetItem, dynamodb:PutItem]\n    Resource: !Sub "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/orders-alpha"\nManagedPolicyArns: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]\n',
      'config/Beta/env.yml': 'TABLE: "{{resolve:ssm:/orders/beta/table}}"\n',
      'config/Beta/iam.yaml': 'ManagedPolicyArns: [arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess]\n',
      'config/PROD/env.yaml': 'TABLE: orders\n',
    },
  },
  'json files, stage overrides, yaml output': {
    files: {
      'config/config.yaml': 'Name: Billing_Job\nHandler: jobs/run.main\nStages: [Gamma]\nStageOverrides:\n  PROD: {MemorySize: 1024, Timeout: 300, ReservedConcurrency: 20, LogRetentionInDays: 365, Tracing: PassThrough}\n',
      'src/jobs/run.py': 'def main(event, context):\n    return None\n',
      'config/Gamma/env.json': '{"MODE": "test", "LIMIT": 10}',
      'config/Gamma/iam.json': '{"Statements": [{"Sid": "ReadBucket", "Effect": "Allow", "Action": "s3:GetObject", "Resource": ["arn:aws:s3:::billing-gamma/*"]}]}',
      'config/PROD/env.json': '{"MODE": "live"}',
      // The pipeline's own boundary, written out, is accepted (any other is refused: a role has one).
      'config/PROD/iam.json': '{"ManagedPolicyArns": ["arn:aws:iam::aws:policy/AmazonSESReadOnlyAccess"], "PermissionsBoundary": "arn:aws:iam::123456789012:policy/lambda-cd/Pipe-function-boundary"}',
    },
    args: ['--format', 'yaml'],
  },
  'env.py get_env(stage), iam.py returning role Properties': {
    files: {
      'config/config.yaml': 'Name: Mailer\nHandler: app.handler\nStages: [QA]\n',
      'config/QA/env.py': 'def get_env(stage):\n    return {"STAGE_NAME": stage.lower(), "PORT": 25}\n',
      'config/QA/iam.py': 'def get_iam(ref_name):\n    return {"ManagedPolicyArns": ["arn:aws:iam::aws:policy/AmazonSESReadOnlyAccess"], "Path": "/functions/"}\n',
      'config/PROD/env.py': 'def get_env(stage):\n    return {"STAGE_NAME": stage.lower()}\n',
    },
  },
  'seed layout: env.py get_env(), iam.py returning a troposphere-like Role via to_dict()': {
    files: {
      'config/config.yaml': 'Name: Legacy\nHandler: app.handler\nMemory: 256\nTimeout: 10\n',
      'config/Gamma/env.py': 'def get_env():\n    return {"STAGE": "Gamma"}\n',
      'config/Gamma/iam.py': TROPOSPHERE_LIKE_IAM,
      'config/PROD/env.py': 'def get_env():\n    return {"STAGE": "PROD"}\n',
      'config/PROD/iam.py': SEED_DICT_IAM,
    },
  },
  'no env or iam files: the minimal role': {
    files: { 'config/config.yaml': 'Name: Tiny\nHandler: app.handler\n' },
  },
};

describe('create-cf over a matrix of configurations', () => {
  it('writes one template per stage, PROD included, each passing cfn-lint with no errors and no warnings', async () => {
    const generated = await Promise.all(Object.entries(MATRIX).map(async ([name, row]) => {
      const root = await makeRepo(row.files);
      return { name, root, ...(await generate(root, ...(row.args ?? []))) };
    }));
    const all = generated.flatMap((g) => g.files);
    expect(generated.map((g) => Object.keys(g.templates))).toEqual([['Alpha', 'Beta', 'PROD'], ['Gamma', 'PROD'], ['QA', 'PROD'], ['Gamma', 'PROD'], ['PROD']]);
    expect(generated[1]!.files.every((f) => f.endsWith('.yaml'))).toBe(true);
    for (const g of generated) expect(g.files.every((f) => path.dirname(f) === path.join(g.root, 'dist'))).toBe(true);

    const lint = await execa('cfn-lint', ['--format', 'json', '--', ...all], { reject: false });
    expect(JSON.parse(lint.stdout).map((m: any) => `${m.Filename}: ${m.Rule.Id} ${m.Message}`)).toEqual([]);
    expect(lint.exitCode).toBe(0);

    // Nothing lambda-cd itself writes grants every action (the user's own files here do not either).
    for (const g of generated) {
      for (const template of Object.values(g.templates)) {
        const statements = role(template).Policies.flatMap((p: any) => p.PolicyDocument.Statement);
        expect(statements.filter((st: any) => st.NotAction !== undefined)).toEqual([]);
        expect(statements.flatMap((st: any) => [st.Action].flat()).filter((a: string) => a === '*' || a.endsWith(':*'))).toEqual([]);
      }
    }
    const [full, json, py, seed, minimal] = generated.map((g) => g.templates);

    // Settings from config.yaml, per stage.
    const alpha = fn(full!.Alpha!);
    expect(alpha).toMatchObject({
      FunctionName: 'OrdersAlpha', Handler: 'app.handler', Runtime: 'python3.13', Architectures: ['arm64'], Description: 'Takes orders',
      Layers: [LAYER], TracingConfig: { Mode: 'Active' }, ReservedConcurrentExecutions: 5,
      VpcConfig: { SubnetIds: ['subnet-0123abcd', 'subnet-4567efab'], SecurityGroupIds: ['sg-0123abcd'] },
      Environment: { Variables: { DB_PASSWORD: '{{resolve:secretsmanager:orders/alpha:SecretString:password}}', RETRIES: '3', TABLE: 'orders-alpha', VERBOSE: 'true' } },
    });
    expect(alpha.Tags).toEqual([{ Key: 'cost-center', Value: '42' }, { Key: 'lambda-cd:stage', Value: 'Alpha' }, { Key: 'team', Value: 'shop' }]);
    expect(resourcesOfType(full!.Alpha!, 'AWS::Logs::LogGroup')[0]![1].Properties).toMatchObject({ LogGroupName: '/aws/lambda/OrdersAlpha', RetentionInDays: 30 });
    const alphaRole = role(full!.Alpha!);
    expect(alphaRole.ManagedPolicyArns).toEqual(['arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess']);
    expect(alphaRole.Policies.map((p: any) => p.PolicyName)).toEqual(['function-permissions', 'lambda-cd-logs', 'lambda-cd-vpc', 'lambda-cd-xray']);
    // In a VPC: the network-interface actions, and still no logs permission beyond the function's own group.
    expect(alphaRole.Policies[2].PolicyDocument.Statement).toEqual([{ Effect: 'Allow', Resource: '*', Action: [
      'ec2:AssignPrivateIpAddresses', 'ec2:CreateNetworkInterface', 'ec2:DeleteNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets', 'ec2:UnassignPrivateIpAddresses'] }]);
    expect(JSON.stringify(alphaRole).match(/"logs:[A-Za-z]+"/g)).toEqual(['"logs:CreateLogStream"', '"logs:PutLogEvents"']);
    expect(alphaRole.Policies[3].PolicyDocument.Statement).toEqual([{ Effect: 'Allow', Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], Resource: '*' }]);
    expect(fn(full!.Beta!).Environment.Variables).toEqual({ TABLE: '{{resolve:ssm:/orders/beta/table}}' });

    const prod = fn(json!.PROD!);
    expect(prod).toMatchObject({ FunctionName: 'Billing_JobPROD', Handler: 'jobs/run.main', MemorySize: 1024, Timeout: 300, ReservedConcurrentExecutions: 20, TracingConfig: { Mode: 'PassThrough' } });
    expect(fn(json!.Gamma!)).toMatchObject({ MemorySize: 128, Timeout: 60, Environment: { Variables: { LIMIT: '10', MODE: 'test' } } });
    expect(fn(json!.Gamma!).ReservedConcurrentExecutions).toBeUndefined();
    expect(role(json!.PROD!)).toMatchObject({ ManagedPolicyArns: ['arn:aws:iam::aws:policy/AmazonSESReadOnlyAccess'] });
    // Every role, in every row, carries the pipeline's permissions boundary.
    for (const g of generated) {
      for (const template of Object.values(g.templates)) {
        expect(role(template).PermissionsBoundary).toEqual({ 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/lambda-cd/Pipe-function-boundary' });
      }
    }

    // get_env(stage) is given the stage.
    expect(fn(py!.QA!).Environment.Variables).toEqual({ PORT: '25', STAGE_NAME: 'qa' });
    expect(fn(py!.PROD!).Environment.Variables).toEqual({ STAGE_NAME: 'prod' });
    // Every role lives under /lambda-cd/<Name>/ (the pipeline's deploy role is scoped to it): a user's Path is replaced, with a warning.
    expect(generated[2]!.stderr).toContain('config/QA/iam.py: Path "/functions/" replaced by /lambda-cd/Mailer/');
    expect(role(py!.QA!)).toMatchObject({ Path: '/lambda-cd/Mailer/', ManagedPolicyArns: ['arn:aws:iam::aws:policy/AmazonSESReadOnlyAccess'] });
    expect(role(py!.PROD!).ManagedPolicyArns).toBeUndefined();

    // The 2018 names, exactly.
    for (const [stage, template] of Object.entries(seed!)) {
      expect(Object.keys(template.Parameters)).toEqual(['S3Storage', 'S3Key']);
      // No log group: Lambda creates /aws/lambda/<Name><Stage> itself (a 2018 stack has it outside the stack).
      expect(Object.keys(template.Resources).sort()).toEqual(['Legacy', `LegacyPipe${stage}Alias`, `LegacyPipe${stage}IAM`]);
      expect(fn(template)).toMatchObject({
        FunctionName: `Legacy${stage}`, MemorySize: 256, Timeout: 10, Role: { 'Fn::GetAtt': [`LegacyPipe${stage}IAM`, 'Arn'] },
        Code: { S3Bucket: { Ref: 'S3Storage' }, S3Key: { Ref: 'S3Key' } }, Environment: { Variables: { STAGE: stage } },
      });
      expect(template.Resources[`LegacyPipe${stage}Alias`]!.Properties).toMatchObject({ Name: `LegacyPipe${stage}`, FunctionName: { 'Fn::GetAtt': ['Legacy', 'Arn'] }, FunctionVersion: '$LATEST' });
      expect(template.Outputs).toEqual({
        [`LegacyPipe${stage}`]: { Description: `${stage}: ARN for Lambda Function`, Value: { 'Fn::GetAtt': ['Legacy', 'Arn'] }, Export: { Name: `LegacyPipe${stage}` } },
      });
      expect(role(template).Policies[0]).toEqual({ PolicyName: 'ReadConfig', PolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::legacy-config/*'] }] } });
    }

    // The minimal role: trusts Lambda only, writes only to its own log group, which Lambda creates (no retention asked for), within the pipeline's boundary.
    const tiny = minimal!.PROD!;
    const logGroupArn = 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/TinyPROD';
    expect(role(tiny)).toEqual({
      Path: '/lambda-cd/Tiny/',
      PermissionsBoundary: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/lambda-cd/Pipe-function-boundary' },
      AssumeRolePolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: ['lambda.amazonaws.com'] }, Action: ['sts:AssumeRole'] }] },
      Policies: [{ PolicyName: 'lambda-cd-logs', PolicyDocument: { Version: '2012-10-17', Statement: [{
        Effect: 'Allow', Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: [{ 'Fn::Sub': logGroupArn }, { 'Fn::Sub': `${logGroupArn}:*` }],
      }] } }],
      Tags: [{ Key: 'lambda-cd:stage', Value: 'PROD' }],
    });
    expect(resourcesOfType(tiny, 'AWS::Logs::LogGroup')).toEqual([]);
    // With a retention, the stack declares the group, and the role may only write to it.
    expect(resourcesOfType(json!.PROD!, 'AWS::Logs::LogGroup')[0]![1]).toMatchObject({ DeletionPolicy: 'Delete', Properties: { LogGroupName: '/aws/lambda/Billing_JobPROD', RetentionInDays: 365 } });
    expect(resourcesOfType(json!.Gamma!, 'AWS::Logs::LogGroup')).toEqual([]);
    expect(fn(tiny).Environment).toBeUndefined();
  });
});

describe('create-cf output', () => {
  it('--stage writes one template, --format yaml writes .yaml, and the same input gives the same bytes', async () => {
    const root = await makeRepo({ 'config/Gamma/env.yaml': 'BETA: "2"\nALPHA: "1"\n' });
    const out = await tempDir();
    const first = await createCf(root, '--stage', 'Gamma', '--out-dir', out);
    expect(first).toMatchObject({ exitCode: 0, stdout: path.join(out, 'stackGamma.json') });
    const bytes = readFileSync(path.join(out, 'stackGamma.json'), 'utf8');
    expect(Object.keys(JSON.parse(bytes).Resources.Demo.Properties.Environment.Variables)).toEqual(['ALPHA', 'BETA']);
    await createCf(root, '--stage', 'Gamma', '--out-dir', out);
    expect(readFileSync(path.join(out, 'stackGamma.json'), 'utf8')).toBe(bytes);
    const asYaml = await createCf(root, '--stage', 'PROD', '--format', 'yaml', '--out-dir', out);
    expect(asYaml.stdout).toBe(path.join(out, 'stackPROD.yaml'));
    expect(yaml.load(readFileSync(path.join(out, 'stackPROD.yaml'), 'utf8'))).toMatchObject({ Outputs: { DemoPipePROD: { Export: { Name: 'DemoPipePROD' } } } });
    expect(readdirSync(out).sort()).toEqual(['stackGamma.json', 'stackPROD.yaml']);
  });

  it('--format yaml keeps text that YAML 1.1 (CloudFormation\'s YAML) would read as a number as text', async () => {
    const root = await makeRepo({ 'config/PROD/env.yaml': 'BATCH: "1_000"\nRATIO: "0.5_0"\nMASK: "0b1_0"\nNAME: a_b\n' });
    const out = await tempDir();
    expect((await createCf(root, '--stage', 'PROD', '--format', 'yaml', '--out-dir', out)).exitCode).toBe(0);
    // PyYAML reads YAML 1.1, as CloudFormation does.
    const read = await execa('python3', ['-c', 'import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))["Resources"]["Demo"]["Properties"]["Environment"]["Variables"]))', path.join(out, 'stackPROD.yaml')]);
    expect(JSON.parse(read.stdout)).toEqual({ BATCH: '1_000', MASK: '0b1_0', NAME: 'a_b', RATIO: '0.5_0' });
  });

  it('an --out-dir that cannot be written is one line naming the template, exit 3', async () => {
    const root = await makeRepo({ 'not-a-folder': '' });
    const result = await createCf(root, '--stage', 'PROD', '--out-dir', path.join(root, 'not-a-folder/dist'));
    expect(result.exitCode).toBe(3);
    expect(result.stderr.trim()).toBe(`lambda-cd: error: ${path.join(root, 'not-a-folder/dist/stackPROD.json')}: cannot write the output here: part of the path is a file, not a folder`);
  });

  it('an unknown --stage names the stages, exit 2', async () => {
    const root = await makeRepo({ 'config/Gamma/.keep': '' });
    const result = await createCf(root, '--stage', 'gama');
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('--stage expects one of Gamma, PROD (the folders in config/), found "gama"; did you mean Gamma?');
  });

  it('rejects a --stack that is no stack name or makes the alias too long for Lambda, exit 2', async () => {
    const root = await makeRepo({ 'config/config.yaml': 'Name: DemoFunctionLong\nHandler: app.handler\n' });
    const bad = await runCli(['create-cf', '--path', root, '--stack', 'my_pipe']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain(`--stack expects the pipeline's CloudFormation stack name (a letter, then letters, digits or '-'), found "my_pipe"`);
    const long = await runCli(['create-cf', '--path', root, '--stack', 'P'.repeat(110)]);
    expect(long.exitCode).toBe(2);
    expect(long.stderr).toContain(`--stack "${'P'.repeat(110)}" makes the alias and export name DemoFunctionLong${'P'.repeat(110)}PROD (Name+Stack+Stage) 130 characters long; Lambda allows 128; use a shorter --stack`);
    const stageStack = await runCli(['create-cf', '--path', root, '--stack', 'P'.repeat(116)]);
    expect(stageStack.stderr).toContain(`--stack is too long: the stage stack ${'P'.repeat(116)}FunctionsPROD would have 129 characters, CloudFormation allows 128`);
    expect(existsSync(path.join(root, 'dist'))).toBe(false);
  });

  it('warns about a literal secret without printing it, and about a wildcard grant the config allows', async () => {
    const root = await makeRepo({
      'config/config.yaml': 'Name: Demo\nHandler: app.handler\nAllowWildcardActions: true\n',
      'config/PROD/env.yaml': 'DB_PASSWORD: hunter2-very-secret\nAPI_TOKEN: "{{resolve:secretsmanager:api:SecretString:token}}"\nMONKEY: banana\n',
      'config/PROD/iam.yaml': 'Statements:\n  - Effect: Allow\n    Action: "s3:*"\n    Resource: "*"\n',
    });
    const result = await createCf(root);
    expect(result.exitCode).toBe(0);
    const warnings = result.stderr.split('\n').filter((line) => line.includes('warning'));
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain('config/PROD/env.yaml: DB_PASSWORD looks like a secret but has a literal value');
    expect(warnings[0]).toContain('{{resolve:secretsmanager:');
    expect(result.stderr).not.toContain('hunter2');
    expect(warnings[1]).toContain('config/PROD/iam.yaml: policy function-permissions grants Action "s3:*" (every action of s3) (allowed by AllowWildcardActions: true in config/config.yaml; the pipeline\'s permissions boundary still limits the role)');
  });

  it('an iam.py role that trusts someone else is replaced by one trusting only Lambda, with a warning', async () => {
    const root = await makeRepo({
      'config/config.yaml': 'Name: Demo\nHandler: app.handler\nAllowWildcardActions: true\n',
      'config/PROD/iam.py': 'def get_iam(ref_name):\n    return {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}, "ManagedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]}}\n',
    });
    const { templates, stderr } = await generate(root);
    expect(stderr).toContain('config/PROD/iam.py: AssumeRolePolicyDocument replaced: the function\'s role trusts only lambda.amazonaws.com');
    expect(stderr).toContain('config/PROD/iam.py: managed policy arn:aws:iam::aws:policy/AdministratorAccess grants whole services (allowed by AllowWildcardActions: true');
    expect(role(templates.PROD!).AssumeRolePolicyDocument.Statement).toEqual([{ Effect: 'Allow', Principal: { Service: ['lambda.amazonaws.com'] }, Action: ['sts:AssumeRole'] }]);
  });

  it('passes get_iam the role\'s logical id, as the 2018 generator did', async () => {
    const root = await makeRepo({
      'config/config.yaml': 'Name: my-func\nHandler: app.handler\n',
      'config/PROD/iam.py': 'def get_iam(ref_name):\n    return {"Description": "role " + ref_name}\n',
    });
    const { templates } = await generate(root);
    expect(templates.PROD!.Resources.myfuncPipePRODIAM!.Properties.Description).toBe('role myfuncPipePRODIAM');
    expect(Object.keys(templates.PROD!.Outputs)).toEqual(['myfuncPipePROD']);
    expect(templates.PROD!.Outputs.myfuncPipePROD.Export.Name).toBe('my-funcPipePROD');
  });
});

describe('create-cf: bad env and iam files (one line naming the file, exit 2, nothing written)', () => {
  const cases: [string, Record<string, string>, string][] = [
    ['two env files', { 'config/PROD/env.yaml': 'A1: x\n', 'config/PROD/env.py': 'def get_env():\n    return {}\n' }, 'config/PROD/: expected one env file, found env.yaml and env.py; keep one'],
    ['a nested value', { 'config/PROD/env.yaml': 'DB:\n  HOST: x\n' }, 'config/PROD/env.yaml: DB: expected a flat mapping of variable names to text, numbers or booleans (or an intrinsic function such as Fn::Sub), found a nested mapping'],
    ['an empty value', { 'config/PROD/env.yml': 'DB_HOST:\n' }, 'config/PROD/env.yml: DB_HOST: expected a flat mapping of variable names to text, numbers or booleans (or an intrinsic function such as Fn::Sub), found an empty value'],
    ['a YAML syntax error', { 'config/PROD/env.yaml': 'A1: [x\n' }, 'config/PROD/env.yaml:2:1: YAML syntax error'],
    ['a JSON syntax error', { 'config/PROD/env.json': '{"A1": "x",\n "PASSWORD": hunter2}' }, 'config/PROD/env.json:2:14: JSON syntax error: expected a value (an object, list, text, number, true, false or null)'],
    ['an unclosed JSON object', { 'config/PROD/env.json': '{"A1": "x",\n "PASSWORD": "hunter2"\n' }, 'config/PROD/env.json:3:1: JSON syntax error: the file ends before the closing \'}\''],
    ['a list from get_env', { 'config/PROD/env.py': 'def get_env(stage):\n    return ["A=1"]\n' }, 'config/PROD/env.py: expected get_env() to return a flat dict of names to text, numbers or booleans, found a list'],
    ['a non-JSON value from get_env', { 'config/PROD/env.py': 'import datetime\ndef get_env():\n    return {"WHEN": datetime.date(2018, 1, 1)}\n' }, 'config/PROD/env.py: get_env() returned dict, which is not plain data'],
    ['an exception in get_env', { 'config/PROD/env.py': 'def get_env():\n    return {"A1": 1 / 0}\n' }, 'config/PROD/env.py:2: get_env() raised ZeroDivisionError: division by zero'],
    ['sys.exit in get_env', { 'config/PROD/env.py': 'import sys\ndef get_env():\n    sys.exit(3)\n' }, 'config/PROD/env.py:3: get_env() raised SystemExit: 3'],
    ['two iam files', { 'config/PROD/iam.yaml': 'ManagedPolicyArns: [arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess]\n', 'config/PROD/iam.json': '{}' }, 'config/PROD/: expected one iam file, found iam.yaml and iam.json; keep one'],
    ['no get_env', { 'config/PROD/env.py': 'ENV = {}\n' }, 'config/PROD/env.py: expected a function get_env(stage) or get_env() returning a dict, found none'],
    ['an invalid variable name', { 'config/PROD/env.yaml': 'my-var: x\n' }, 'config/PROD/env.yaml: "my-var": expected a variable name Lambda accepts'],
    ['a reserved variable name', { 'config/PROD/env.json': '{"AWS_REGION": "eu-west-1"}' }, 'config/PROD/env.json: AWS_REGION: reserved by the Lambda runtime'],
    ['an AWS_LAMBDA_ variable', { 'config/PROD/env.yaml': 'AWS_LAMBDA_FUNCTION_NAME: x\n' }, 'config/PROD/env.yaml: AWS_LAMBDA_FUNCTION_NAME: reserved by the Lambda runtime'],
    ['env.py importing a module that is missing', { 'config/PROD/env.py': 'import settings_lib\n\ndef get_env():\n    return {}\n' }, 'config/PROD/env.py:1: imports settings_lib, which is not installed for python3; install the package that provides it for that interpreter, or remove the import'],
    ['iam.py returning another resource', { 'config/PROD/iam.py': 'def get_iam(ref_name):\n    return {"Type": "AWS::S3::Bucket", "Properties": {}}\n' }, 'config/PROD/iam.py: expected get_iam() to return an AWS::IAM::Role'],
    ['an unknown role property', { 'config/PROD/iam.py': 'def get_iam(ref_name):\n    return {"Polices": []}\n' }, 'config/PROD/iam.py: Polices: not an AWS::IAM::Role property lambda-cd accepts'],
    ['an unknown iam.yaml key', { 'config/PROD/iam.yaml': 'Statement:\n  - Effect: Allow\n' }, 'config/PROD/iam.yaml: Statement: unknown key; expected Statements, ManagedPolicyArns, PermissionsBoundary'],
    ['a statement without Resource', { 'config/PROD/iam.yaml': 'Statements:\n  - Effect: Allow\n    Action: s3:GetObject\n' }, 'config/PROD/iam.yaml: Statements[0]: expected exactly one of Resource and NotResource, found neither'],
    ['a malformed action', { 'config/PROD/iam.json': '{"Statements": [{"Effect": "Allow", "Action": "GetObject", "Resource": "*"}]}' }, 'config/PROD/iam.json: Statements[0]: Action: expected actions such as s3:GetObject'],
    ['a managed policy that is no ARN', { 'config/PROD/iam.yaml': 'ManagedPolicyArns: [AmazonS3ReadOnlyAccess]\n' }, 'config/PROD/iam.yaml: ManagedPolicyArns: expected a list of IAM policy ARNs'],
  ];
  it.concurrent.each(cases)('%s', async (_name, files, message) => {
    const root = await makeRepo({ 'config/Gamma/.keep': '', ...files });
    const result = await runCli(['create-cf', '--path', root, '--stack', 'Pipe'], { cwd: root });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(`lambda-cd: error: ${message}`);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).not.toContain('hunter2');
    expect(existsSync(path.join(root, 'dist'))).toBe(false);
  });

  it('stops an env.py that runs too long', async () => {
    const root = await makeRepo({ 'config/PROD/env.py': 'import time\ndef get_env():\n    time.sleep(30)\n' });
    await expect(readStageEnv(loadRepository(root), 'PROD', { python: 'python3', timeoutMs: 500 })).rejects.toThrow(/env\.py: get_env\(\) did not finish within 0\.5 s/);
  });
});

describe('create-cf --python', () => {
  it('takes a path relative to where the user stands, not to the repository', async () => {
    const root = await makeRepo({ 'config/PROD/env.py': 'def get_env():\n    return {"FROM": "venv"}\n' });
    const elsewhere = await tempDir();
    const { symlink, mkdir } = await import('node:fs/promises');
    await mkdir(path.join(elsewhere, 'venv/bin'), { recursive: true });
    await symlink((await execa('python3', ['-c', 'import sys; print(sys.executable)'])).stdout.trim(), path.join(elsewhere, 'venv/bin/python'));
    const result = await runCli(['create-cf', '--path', root, '--stack', 'Pipe', '--python', 'venv/bin/python'], { cwd: elsewhere });
    expect(result.stderr).not.toContain('error');
    expect(result.exitCode).toBe(0);
    const template = JSON.parse(readFileSync(path.join(root, 'dist/stackPROD.json'), 'utf8'));
    expect(template.Resources.Demo.Properties.Environment.Variables).toEqual({ FROM: 'venv' });
  });
});

describe('create-cf in a generated pipeline', () => {
  it("fails at build time, naming both lists, when the repository's stages differ from the pipeline's", async () => {
    const root = await makeRepo({ 'config/Gamma/.keep': '' });
    const mismatch = await runCli(['create-cf', '--path', root, '--stack', 'Pipe'], { env: { LAMBDA_CD_STAGES: 'Gamma,Beta,PROD' } });
    expect(mismatch.stderr.trim()).toBe("lambda-cd: error: config/: the pipeline deploys the stages Gamma, Beta, PROD but the repository's stages are Gamma, PROD; make the config/<Stage>/ folders and Stages in config/config.yaml match, or regenerate the pipeline with lambda-cd generate pipeline --stages");
    expect(mismatch.exitCode).toBe(2);
    expect(existsSync(path.join(root, 'dist'))).toBe(false);
    const match = await runCli(['create-cf', '--path', root, '--stack', 'Pipe', '--pipeline-stages', 'Gamma']);
    expect(match.exitCode).toBe(0);
  });
});

const SEED_IAM_PY = `from troposphere.iam import Role, Policy

def get_iam(ref_name):
    return Role(ref_name, Policies=[Policy(PolicyName="read-table", PolicyDocument={
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": "arn:aws:dynamodb:eu-west-1:123456789012:table/t"}],
    })])
`;

describe('create-cf on a 2018 repository whose iam.py uses troposphere', () => {
  it('installs troposphere and awacs for --python into the cache when it lacks them, and reuses them', async () => {
    const wheelhouse = await tempDir('lambda-cd-wheels-');
    await buildTroposphereWheels(wheelhouse);
    const root = await makeRepo({ 'config/config.yaml': 'Name: Legacy\nHandler: app.handler\nMemory: 256\n', 'config/PROD/iam.py': SEED_IAM_PY, 'config/PROD/env.py': 'def get_env():\n    return {"TABLE": "t"}\n' });
    const env = offlinePipEnv(wheelhouse);

    const first = await runCli(['create-cf', '--path', root, '--stack', 'Pipe'], { env, cwd: root });
    expect(first.stderr).toContain('config/PROD/iam.py uses troposphere, which python3 lacks: installing troposphere and awacs for it (cached)');
    expect(first.stderr.split('\n').filter((line) => line.includes('error'))).toEqual([]);
    expect(first.exitCode).toBe(0);
    const template = JSON.parse(readFileSync(path.join(root, 'dist/stackPROD.json'), 'utf8'));
    const role = template.Resources.LegacyPipePRODIAM.Properties;
    expect(role.Policies[0]).toMatchObject({ PolicyName: 'read-table', PolicyDocument: { Statement: [{ Action: ['dynamodb:GetItem'] }] } });
    expect(role.AssumeRolePolicyDocument.Statement[0].Principal).toEqual({ Service: ['lambda.amazonaws.com'] });
    // Not in the system's site-packages: only create-cf's own PYTHONPATH sees it.
    expect((await execa('python3', ['-c', 'import troposphere'], { reject: false })).exitCode).not.toBe(0);

    // The same pip settings (they are part of the cache key, as for test requirements): no pip run.
    const again = await runCli(['create-cf', '--path', root, '--stack', 'Pipe'], { env });
    expect(again.stderr).toMatch(/troposphere and awacs for the stage files unchanged .*: reusing/);
    expect(again.exitCode).toBe(0);
  });

  it('says what failed, and what to do, when troposphere cannot be installed (exit 3)', async () => {
    const root = await makeRepo({ 'config/PROD/iam.py': SEED_IAM_PY });
    const result = await runCli(['create-cf', '--path', root, '--stack', 'Pipe'], { env: offlinePipEnv(await tempDir('lambda-cd-empty-')) });
    expect(result.exitCode).toBe(3);
    const error = result.stderr.trim().split('\n').pop()!;
    expect(error).toMatch(/^lambda-cd: error: \S*config\/PROD\/iam\.py: imports troposphere, which python3 lacks, and installing troposphere and awacs failed \(.*\); install them for that interpreter \(python3 -m pip install troposphere awacs\) or return a plain dict$/);
    expect(existsSync(path.join(root, 'dist'))).toBe(false);
  });
});
