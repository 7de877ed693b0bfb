/**
 * Privilege escalation through the pipeline (#12): the pipeline creates the permissions
 * boundary, every function role create-cf writes carries it, the deploy role may create and
 * change roles only under it, and an iam file that grants whole services needs
 * AllowWildcardActions.
 *
 * moto stores a role's PermissionsBoundary but evaluates no iam:PermissionsBoundary condition,
 * so what the deploy role and the boundary allow is judged here by a small evaluator of the
 * statement forms these policies use (Allow/Deny, action and resource patterns, StringEquals
 * and StringNotEquals); the names fitting together is checked on moto over HTTP.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CloudFormationClient, CreateStackCommand, waitUntilStackCreateComplete } from '@aws-sdk/client-cloudformation';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Intrinsic, loadYaml } from '../generator/cfn-yaml.js';
import { runCli, type CliResult } from './helpers/cli.js';
import { ACCOUNT, decide as decideFor, pseudoParameters, type Request, type Scope } from './helpers/iam-policy.js';
import { startMoto, type MotoServer } from './helpers/moto.js';
import { makeRepo, tempDir, writeManifest } from './helpers/repo.js';

type Doc = Record<string, any>;

const STACK = 'OrdersPipeline';
const BOUNDARY_ARN = `arn:aws:iam::${ACCOUNT}:policy/lambda-cd/${STACK}-function-boundary`;
/** The pipeline stack as IAM sees it (FunctionName: config.yaml's Name), its admin adding no actions to the boundary. */
const SCOPE: Scope = {
  variables: { ...pseudoParameters(STACK), FunctionName: 'Orders', FunctionBoundaryExtraActions: '' },
  refs: { FunctionBoundary: BOUNDARY_ARN },
  conditions: { HasExtraBoundaryActions: false },
};
const decide = (statements: Doc[], request: Request) => decideFor(statements, request, SCOPE);

let pipeline: Doc;
let pipelineText: string;
beforeAll(async () => {
  const file = path.join(await tempDir(), 'pipeline.yaml');
  const result = await runCli(['generate', 'pipeline', '--stages', 'Gamma', '--out', file]);
  expect(result.exitCode, result.stderr).toBe(0);
  pipelineText = readFileSync(file, 'utf8');
  pipeline = loadYaml(pipelineText) as Doc;
});

const deployStatements = () => pipeline.Resources.DeployRole.Properties.Policies[0].PolicyDocument.Statement as Doc[];
const boundaryStatements = () => pipeline.Resources.FunctionBoundary.Properties.PolicyDocument.Statement as Doc[];
const role = (name: string) => `arn:aws:iam::${ACCOUNT}:role/lambda-cd/Orders/${name}`;

describe('the pipeline creates the boundary, and its deploy role changes roles only under it', () => {
  it('creates <PipelineStack>-function-boundary at /lambda-cd/ (the convention create-cf and ci-bootstrap follow)', () => {
    const boundary = pipeline.Resources.FunctionBoundary;
    expect(boundary.Type).toBe('AWS::IAM::ManagedPolicy');
    expect(boundary.Properties.ManagedPolicyName).toEqual({ 'Fn::Sub': '${AWS::StackName}-function-boundary' });
    expect(boundary.Properties.Path).toBe('/lambda-cd/');
    expect(pipelineText).toMatch(/^# Deploy: aws cloudformation deploy .* --capabilities CAPABILITY_NAMED_IAM/m);
  });

  it.each([
    ['CreateRole with the boundary', { action: 'iam:CreateRole', resource: role('x'), context: { 'iam:PermissionsBoundary': BOUNDARY_ARN } }, 'allowed'],
    ['CreateRole without a boundary (the issue\'s escalation)', { action: 'iam:CreateRole', resource: role('x') }, 'denied'],
    ['CreateRole with another boundary', { action: 'iam:CreateRole', resource: role('x'), context: { 'iam:PermissionsBoundary': `arn:aws:iam::${ACCOUNT}:policy/wide-open` } }, 'denied'],
    ['PutRolePolicy on a bounded role', { action: 'iam:PutRolePolicy', resource: role('x'), context: { 'iam:PermissionsBoundary': BOUNDARY_ARN } }, 'allowed'],
    ['PutRolePolicy on a role without the boundary', { action: 'iam:PutRolePolicy', resource: role('legacy') }, 'denied'],
    ['AttachRolePolicy (even AdministratorAccess) on a bounded role', { action: 'iam:AttachRolePolicy', resource: role('x'), context: { 'iam:PermissionsBoundary': BOUNDARY_ARN, 'iam:PolicyARN': 'arn:aws:iam::aws:policy/AdministratorAccess' } }, 'allowed'],
    ['DetachRolePolicy on a role without the boundary', { action: 'iam:DetachRolePolicy', resource: role('x') }, 'denied'],
    ['PutRolePermissionsBoundary to the boundary (moving an old role under it)', { action: 'iam:PutRolePermissionsBoundary', resource: role('legacy'), context: { 'iam:PermissionsBoundary': BOUNDARY_ARN } }, 'allowed'],
    ['PutRolePermissionsBoundary to another policy', { action: 'iam:PutRolePermissionsBoundary', resource: role('x'), context: { 'iam:PermissionsBoundary': 'arn:aws:iam::aws:policy/AdministratorAccess' } }, 'denied'],
    ['DeleteRolePermissionsBoundary', { action: 'iam:DeleteRolePermissionsBoundary', resource: role('x'), context: { 'iam:PermissionsBoundary': BOUNDARY_ARN } }, 'denied'],
    ['UpdateAssumeRolePolicy without the boundary', { action: 'iam:UpdateAssumeRolePolicy', resource: role('x') }, 'denied'],
    ['CreatePolicyVersion of the boundary', { action: 'iam:CreatePolicyVersion', resource: BOUNDARY_ARN }, 'denied'],
    ['SetDefaultPolicyVersion of the boundary', { action: 'iam:SetDefaultPolicyVersion', resource: BOUNDARY_ARN }, 'denied'],
    ['DeletePolicy of the boundary', { action: 'iam:DeletePolicy', resource: BOUNDARY_ARN }, 'denied'],
    ['CreateRole outside /lambda-cd/<Name>/', { action: 'iam:CreateRole', resource: `arn:aws:iam::${ACCOUNT}:role/admin`, context: { 'iam:PermissionsBoundary': BOUNDARY_ARN } }, 'implicitly denied'],
    ['PassRole of a function role to Lambda', { action: 'iam:PassRole', resource: role('x'), context: { 'iam:PassedToService': 'lambda.amazonaws.com' } }, 'allowed'],
    ['PassRole of a function role to EC2', { action: 'iam:PassRole', resource: role('x'), context: { 'iam:PassedToService': 'ec2.amazonaws.com' } }, 'implicitly denied'],
    ['DeleteRole of a function role (stack deletion)', { action: 'iam:DeleteRole', resource: role('x') }, 'allowed'],
  ] as const)('deploy role: %s is %s', (_name, request, expected) => {
    expect(decide(deployStatements(), request)).toBe(expected);
  });

  it.each([
    ['s3:GetObject', 'arn:aws:s3:::orders-data/a.json', 'allowed'],
    ['dynamodb:PutItem', 'arn:aws:dynamodb:us-east-1:123456789012:table/orders', 'allowed'],
    ['sqs:SendMessage', 'arn:aws:sqs:us-east-1:123456789012:q', 'allowed'],
    ['secretsmanager:GetSecretValue', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:x', 'allowed'],
    // IAM: explicitly denied while the admin adds no actions (the stand-in for AWS::NoValue), never allowed.
    ['iam:CreateUser', `arn:aws:iam::${ACCOUNT}:user/eve`, 'denied'],
    ['iam:PutRolePolicy', role('x'), 'denied'],
    ['iam:PassRole', role('x'), 'denied'],
    ['sts:AssumeRole', `arn:aws:iam::${ACCOUNT}:role/admin`, 'implicitly denied'],
    ['lambda:UpdateFunctionCode', 'arn:aws:lambda:us-east-1:123456789012:function:other', 'implicitly denied'],
    ['cloudformation:CreateStack', 'arn:aws:cloudformation:us-east-1:123456789012:stack/x/1', 'implicitly denied'],
    ['codebuild:StartBuild', 'arn:aws:codebuild:us-east-1:123456789012:project/x', 'implicitly denied'],
    ['ec2:RunInstances', '*', 'implicitly denied'],
    ['ssm:SendCommand', '*', 'implicitly denied'],
    ['kms:PutKeyPolicy', '*', 'implicitly denied'],
    ['s3:PutBucketPolicy', 'arn:aws:s3:::orders-data', 'implicitly denied'],
    ['s3:PutObject', 'arn:aws:s3:::another-pipeline-artifactbucket-1x2y/lambda-cd-cache/build/cache.tgz', 'denied'],
    ['s3:PutObject', 'arn:aws:s3:::another-pipeline-artifactbucket-1x2y/lambda-cd/Other/0123.zip', 'denied'],
  ] as const)('the boundary: %s on %s is %s', (action, resource, expected) => {
    expect(decide(boundaryStatements(), { action, resource })).toBe(expected);
  });

  it('allows no "*" and no whole service, only run-time actions', () => {
    const allowed = boundaryStatements().filter((s) => s.Effect === 'Allow').flatMap((s) => [s.Action].flat());
    expect(allowed.length).toBeGreaterThan(50);
    for (const action of allowed) expect(action).toMatch(/^[a-z0-9-]+:[A-Za-z]+$/);
    expect(allowed.filter((a: string) => /^(iam|sts|organizations|cloudformation|codebuild|codepipeline):/.test(a))).toEqual([]);
  });

  it('the admin who deploys the pipeline may widen it (FunctionBoundaryExtraActions); the parameter is empty by default', () => {
    expect(pipeline.Parameters.FunctionBoundaryExtraActions).toMatchObject({ Type: 'CommaDelimitedList', Default: '' });
    const extra = boundaryStatements().find((s) => s['Fn::If'])!['Fn::If'];
    expect(extra[0]).toBe('HasExtraBoundaryActions');
    expect(extra[1]).toMatchObject({ Effect: 'Allow', Action: { Ref: 'FunctionBoundaryExtraActions' } });
  });
});

describe('create-cf: every function role carries the boundary; the user\'s own PermissionsBoundary is refused', () => {
  const createCf = async (root: string) => {
  await writeManifest(root); // create-cf names each version after the package's zip
  return runCli(['create-cf', '--path', root, '--stack', STACK], { cwd: root });
};
  const expectRefused = (result: CliResult, message: string | RegExp) => {
    expect(result.stderr.trim().split('\n'), result.stderr).toHaveLength(1);
    if (typeof message === 'string') expect(result.stderr).toContain(`lambda-cd: error: ${message}`);
    else expect(result.stderr).toMatch(message);
    expect(result.exitCode).toBe(2);
  };

  it.each([
    ['iam.yaml', 'PermissionsBoundary: arn:aws:iam::123456789012:policy/open\n'],
    ['iam.py', 'def get_iam(ref_name):\n    return {"PermissionsBoundary": "arn:aws:iam::aws:policy/AdministratorAccess"}\n'],
  ])('a PermissionsBoundary of its own in %s', async (file, text) => {
    const root = await makeRepo({ [`config/PROD/${file}`]: text });
    expectRefused(await createCf(root), `config/PROD/${file}: PermissionsBoundary: lambda-cd gives every function role the pipeline's boundary (policy/lambda-cd/${STACK}-function-boundary) and a role has only one`);
  });
});

describe('create-cf: iam files that grant whole services need AllowWildcardActions', () => {
  const createCf = async (root: string) => {
  await writeManifest(root); // create-cf names each version after the package's zip
  return runCli(['create-cf', '--path', root, '--stack', 'Pipe'], { cwd: root });
};
  const statement = (action: string) => `Statements:\n  - Effect: Allow\n    Action: ${JSON.stringify(action)}\n    Resource: "*"\n`;
  const HINT = 'list the actions the function needs, or set AllowWildcardActions: true in config/config.yaml if this is meant';

  it.each([
    ['*', 'config/PROD/iam.yaml', statement('*'), 'policy function-permissions grants Action "*" (every action of every service it matches)'],
    ['s3:*', 'config/PROD/iam.yaml', statement('s3:*'), 'policy function-permissions grants Action "s3:*" (every action of s3)'],
    ['s3:?*', 'config/PROD/iam.yaml', statement('s3:?*'), 'policy function-permissions grants Action "s3:?*" (every action of s3)'],
    ['s3:**', 'config/PROD/iam.yaml', statement('s3:**'), 'policy function-permissions grants Action "s3:**" (every action of s3)'],
    ['NotAction in iam.json', 'config/PROD/iam.json', '{"Statements": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}', 'policy function-permissions allows NotAction (every action of every service except those listed)'],
    ['dynamodb:* in iam.py', 'config/PROD/iam.py', 'def get_iam(ref_name):\n    return {"Policies": [{"PolicyName": "data", "PolicyDocument": {"Statement": {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:*"], "Resource": "*"}}}]}\n', 'policy data grants Action "dynamodb:*" (every action of dynamodb)'],
    ['a wildcard inside Fn::If in iam.py', 'config/PROD/iam.py', 'def get_iam(ref_name):\n    return {"Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": {"Fn::If": ["Prod", "s3:*", "s3:GetObject"]}, "Resource": "*"}]}}]}\n', 'policy p grants Action "s3:*" (every action of s3)'],
    ['AdministratorAccess in iam.py', 'config/PROD/iam.py', 'def get_iam(ref_name):\n    return {"ManagedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]}\n', 'managed policy arn:aws:iam::aws:policy/AdministratorAccess grants whole services'],
    ['AmazonS3FullAccess in iam.yaml', 'config/PROD/iam.yaml', 'ManagedPolicyArns: [arn:aws:iam::aws:policy/AmazonS3FullAccess]\n', 'managed policy arn:aws:iam::aws:policy/AmazonS3FullAccess grants whole services'],
  ])('%s is exit 2 naming the file and the grant', async (_name, file, text, grant) => {
    const root = await makeRepo({ [file]: text });
    const result = await createCf(root);
    expect(result.stderr.trim().split('\n'), result.stderr).toEqual([`lambda-cd: error: ${file}: ${grant}; ${HINT}`]);
    expect(result.exitCode).toBe(2);
  });

  it.each([['s3:*Object*'], ['s3:Get*'], ['s3:????????']])('%s names part of a service: fine', async (action) => {
    const root = await makeRepo({ 'config/PROD/iam.yaml': statement(action) });
    const result = await createCf(root);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).not.toContain('warning');
  });

  it('a Deny of "*" is no grant', async () => {
    const root = await makeRepo({ 'config/PROD/iam.yaml': `${statement('s3:GetObject')}  - Effect: Deny\n    Action: "*"\n    Resource: "arn:aws:s3:::secret/*"\n` });
    expect((await createCf(root)).exitCode).toBe(0);
  });

  it('with AllowWildcardActions: true the template is written, with one warning per file naming every grant', async () => {
    const root = await makeRepo({
      'config/config.yaml': 'Name: Demo\nHandler: app.handler\nAllowWildcardActions: true\n',
      'config/PROD/iam.yaml': `Statements:\n  - Effect: Allow\n    Action: ["s3:*", "sqs:*", "sns:*", "kinesis:*"]\n    Resource: "*"\nManagedPolicyArns: [arn:aws:iam::aws:policy/AdministratorAccess]\n`,
    });
    const result = await createCf(root);
    expect(result.exitCode, result.stderr).toBe(0);
    const warnings = result.stderr.split('\n').filter((line) => line.includes('warning'));
    expect(warnings).toEqual(['lambda-cd: warning: config/PROD/iam.yaml: policy function-permissions grants Action "s3:*" (every action of s3); policy function-permissions grants Action "sqs:*" (every action of sqs); policy function-permissions grants Action "sns:*" (every action of sns); and 2 more (allowed by AllowWildcardActions: true in config/config.yaml; the pipeline\'s permissions boundary still limits the role)']);
  });

  it('AllowWildcardActions must be true or false', async () => {
    const root = await makeRepo({ 'config/config.yaml': 'Name: Demo\nHandler: app.handler\nAllowWildcardActions: "yes"\n' });
    const result = await runCli(['check', '--path', root]);
    expect(result.stderr).toMatch(/config\.yaml:3:1: AllowWildcardActions: expected true or false, found text "yes"$/m);
    expect(result.exitCode).toBe(2);
  });
});

describe('on moto: the boundary the pipeline creates is the one create-cf\'s roles name', () => {
  let moto: MotoServer;
  beforeAll(async () => {
    moto = await startMoto();
  });
  afterAll(async () => {
    await moto?.stop();
  });

  it('the roles of a stage released through CodeDeploy (the function\'s, CodeDeploy\'s, the hook\'s) deploy with the pipeline stack\'s boundary, as the deploy role\'s rules allow', async () => {
    const config = { endpoint: moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
    const cloudFormation = new CloudFormationClient(config);
    try {
      // The pipeline stack's boundary resource, deployed as the pipeline stack would.
      const boundaryOnly = {
        AWSTemplateFormatVersion: '2010-09-09',
        Parameters: { FunctionName: { Type: 'String', Default: 'Demo' }, FunctionBoundaryExtraActions: pipeline.Parameters.FunctionBoundaryExtraActions },
        Conditions: pipeline.Conditions,
        Resources: { FunctionBoundary: pipeline.Resources.FunctionBoundary },
      };
      const longForm = JSON.stringify(boundaryOnly, (_key, value) => (value instanceof Intrinsic ? { [value.fn === 'Ref' ? 'Ref' : `Fn::${value.fn}`]: value.value } : value));
      await cloudFormation.send(new CreateStackCommand({ StackName: STACK, TemplateBody: longForm, Capabilities: ['CAPABILITY_NAMED_IAM'] }));
      await waitUntilStackCreateComplete({ client: cloudFormation, maxWaitTime: 60, minDelay: 1, maxDelay: 2 }, { StackName: STACK });

      // The function's code where the template's parameters point (moto's Lambda reads it).
      const zip = path.join(await tempDir(), 'function.zip');
      await execa('python3', ['-c', 'import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], "w") as z: z.writestr("app.py", "def handler(e, c):\\n    return e\\n")', zip]);
      const s3 = new S3Client({ ...config, forcePathStyle: true });
      await s3.send(new CreateBucketCommand({ Bucket: 'boundary-artifacts' }));
      await s3.send(new PutObjectCommand({ Bucket: 'boundary-artifacts', Key: 'function.zip', Body: readFileSync(zip) }));
      s3.destroy();
      // PROD released through CodeDeploy with an alarm and a pre-traffic hook: three roles (function, CodeDeploy, hook).
      const root = await makeRepo({
        'config/config.yaml': 'Name: Demo\nHandler: app.handler\nDeployment: {Strategy: Linear10PercentEvery1Minute, Alarms: [demo-5xx], PreTraffic: events/smoke.json}\n',
        'events/smoke.json': '{"ping": true}\n',
        'config/PROD/iam.yaml': 'Statements:\n  - Effect: Allow\n    Action: s3:GetObject\n    Resource: "arn:aws:s3:::orders/*"\n',
      });
      // The version the template publishes names this zip (moto checks its CodeSha256).
      await writeManifest(root, createHash('sha256').update(readFileSync(zip)).digest('hex'));
      const created = await runCli(['create-cf', '--path', root, '--stack', STACK, '--stage', 'PROD']);
      expect(created.exitCode, created.stderr).toBe(0);
      await cloudFormation.send(new CreateStackCommand({
        StackName: `${STACK}FunctionsPROD`,
        TemplateBody: readFileSync(path.join(root, 'dist/stackPROD.json'), 'utf8'),
        Parameters: [{ ParameterKey: 'S3Storage', ParameterValue: 'boundary-artifacts' }, { ParameterKey: 'S3Key', ParameterValue: 'function.zip' }],
        Capabilities: ['CAPABILITY_NAMED_IAM'],
      }));
      const waited = await waitUntilStackCreateComplete({ client: cloudFormation, maxWaitTime: 60, minDelay: 1, maxDelay: 2 }, { StackName: `${STACK}FunctionsPROD` });
      expect(waited.state).toBe('SUCCESS');
      const template = JSON.parse(readFileSync(path.join(root, 'dist/stackPROD.json'), 'utf8'));
      const roleIds = Object.keys(template.Resources).filter((id) => template.Resources[id].Type === 'AWS::IAM::Role');
      expect(roleIds.sort()).toEqual(['DemoDeploymentRole', 'DemoOrdersPipelinePRODIAM', 'DemoPreTrafficHookRole']);
      const { DescribeStackResourceCommand } = await import('@aws-sdk/client-cloudformation');
      // IAM through boto3 (the project has no IAM client of its own).
      const getRole = 'import boto3, json, sys\nrole = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing").get_role(RoleName=sys.argv[2])["Role"]\nprint(json.dumps({"arn": role["Arn"], "boundary": role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn"), "path": role["Path"], "service": role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"][0]}))';
      for (const roleId of roleIds) {
        const physical = (await cloudFormation.send(new DescribeStackResourceCommand({ StackName: `${STACK}FunctionsPROD`, LogicalResourceId: roleId }))).StackResourceDetail!.PhysicalResourceId!;
        const { stdout } = await execa('python3', ['-c', getRole, moto.endpoint, physical.split('/').pop()!]);
        const deployed = JSON.parse(stdout) as { arn: string; boundary: string; path: string; service: string };
        expect({ roleId, boundary: deployed.boundary, path: deployed.path }).toEqual({ roleId, boundary: BOUNDARY_ARN, path: '/lambda-cd/Demo/' });
        // What the deploy role's rules say of creating exactly this role and handing it to its service (moto checks neither).
        const scope = { ...SCOPE, variables: { ...SCOPE.variables, FunctionName: 'Demo' } };
        expect(decideFor(deployStatements(), { action: 'iam:CreateRole', resource: deployed.arn, context: { 'iam:PermissionsBoundary': deployed.boundary } }, scope), roleId).toBe('allowed');
        expect(decideFor(deployStatements(), { action: 'iam:PassRole', resource: deployed.arn, context: { 'iam:PassedToService': deployed.service } }, scope), roleId).toBe('allowed');
      }
    } finally {
      cloudFormation.destroy();
    }
  });
});
