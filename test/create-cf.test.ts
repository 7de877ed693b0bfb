import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { loadRepository } from '../lib/contract.js';
import { readStageEnv } from '../lib/stage-env.js';
import { runCli } from './helpers/cli.js';
import { makeRepo, tempDir } from './helpers/repo.js';

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
      'config/PROD/iam.json': '{"ManagedPolicyArns": ["arn:aws:iam::aws:policy/AmazonSESFullAccess"], "PermissionsBoundary": "arn:aws:iam::123456789012:policy/boundary"}',
    },
    args: ['--format', 'yaml'],
  },
  'env.py get_env(stage), iam.py returning role Properties': {
    files: {
      'config/config.yaml': 'Name: Mailer\nHandler: app.handler\nStages: [QA]\n',
      'config/QA/env.py': 'def get_env(stage):\n    return {"STAGE_NAME": stage.lower(), "PORT": 25}\n',
      'config/QA/iam.py': 'def get_iam(ref_name):\n    return {"ManagedPolicyArns": ["arn:aws:iam::aws:policy/AmazonSESFullAccess"], "Path": "/functions/"}\n',
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
    expect(alphaRole.ManagedPolicyArns).toEqual(['arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess', { 'Fn::Sub': 'arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole' }]);
    expect(alphaRole.Policies.map((p: any) => p.PolicyName)).toEqual(['function-permissions', 'lambda-cd-logs', 'lambda-cd-xray']);
    expect(alphaRole.Policies[2].PolicyDocument.Statement).toEqual([{ Effect: 'Allow', Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], Resource: '*' }]);
    expect(fn(full!.Beta!).Environment.Variables).toEqual({ TABLE: '{{resolve:ssm:/orders/beta/table}}' });

    const prod = fn(json!.PROD!);
    expect(prod).toMatchObject({ FunctionName: 'Billing_JobPROD', Handler: 'jobs/run.main', MemorySize: 1024, Timeout: 300, ReservedConcurrentExecutions: 20, TracingConfig: { Mode: 'PassThrough' } });
    expect(fn(json!.Gamma!)).toMatchObject({ MemorySize: 128, Timeout: 60, Environment: { Variables: { LIMIT: '10', MODE: 'test' } } });
    expect(fn(json!.Gamma!).ReservedConcurrentExecutions).toBeUndefined();
    expect(role(json!.PROD!)).toMatchObject({ PermissionsBoundary: 'arn:aws:iam::123456789012:policy/boundary', ManagedPolicyArns: ['arn:aws:iam::aws:policy/AmazonSESFullAccess'] });

    // get_env(stage) is given the stage.
    expect(fn(py!.QA!).Environment.Variables).toEqual({ PORT: '25', STAGE_NAME: 'qa' });
    expect(fn(py!.PROD!).Environment.Variables).toEqual({ STAGE_NAME: 'prod' });
    expect(role(py!.QA!)).toMatchObject({ Path: '/functions/', ManagedPolicyArns: ['arn:aws:iam::aws:policy/AmazonSESFullAccess'] });
    expect(role(py!.PROD!).ManagedPolicyArns).toBeUndefined();

    // The 2018 names, exactly.
    for (const [stage, template] of Object.entries(seed!)) {
      expect(Object.keys(template.Parameters)).toEqual(['S3Storage', 'S3Key']);
      expect(Object.keys(template.Resources).sort()).toEqual(['Legacy', 'LegacyAlias', 'LegacyLogGroup', `LegacyPipe${stage}IAM`]);
      expect(fn(template)).toMatchObject({
        FunctionName: `Legacy${stage}`, MemorySize: 256, Timeout: 10, Role: { 'Fn::GetAtt': [`LegacyPipe${stage}IAM`, 'Arn'] },
        Code: { S3Bucket: { Ref: 'S3Storage' }, S3Key: { Ref: 'S3Key' } }, Environment: { Variables: { STAGE: stage } },
      });
      expect(template.Resources.LegacyAlias!.Properties).toMatchObject({ Name: `LegacyPipe${stage}`, FunctionName: { Ref: 'Legacy' }, FunctionVersion: '$LATEST' });
      expect(template.Outputs).toEqual({
        [`LegacyPipe${stage}`]: { Description: `${stage}: ARN for Lambda Function`, Value: { 'Fn::GetAtt': ['Legacy', 'Arn'] }, Export: { Name: `LegacyPipe${stage}` } },
      });
      expect(role(template).Policies[0]).toEqual({ PolicyName: 'ReadConfig', PolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::legacy-config/*'] }] } });
    }

    // The minimal role: trusts Lambda only, writes only to its own log group.
    const tiny = minimal!.PROD!;
    expect(role(tiny)).toEqual({
      AssumeRolePolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: ['lambda.amazonaws.com'] }, Action: ['sts:AssumeRole'] }] },
      Policies: [{ PolicyName: 'lambda-cd-logs', PolicyDocument: { Version: '2012-10-17', Statement: [{
        Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${TinyLogGroup}:*' },
      }] } }],
      Tags: [{ Key: 'lambda-cd:stage', Value: 'PROD' }],
    });
    expect(resourcesOfType(tiny, 'AWS::Logs::LogGroup')[0]![1].Properties.RetentionInDays).toBeUndefined();
    expect(fn(tiny).Environment).toBeUndefined();
  });
});
