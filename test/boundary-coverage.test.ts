/**
 * One permissions boundary (lib/function-boundary.ts) for every CI path, and one that lets through
 * everything lambda-cd's own stage templates grant: a role whose policy grants an action its
 * boundary does not allow fails at run time (a function that cannot write its logs, a CodeDeploy
 * role that cannot shift the alias), which no deploy reports. Judged with the evaluator of
 * test/helpers/iam-policy.ts (IAM is not evaluated by moto).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { loadYaml } from '../generator/cfn-yaml.js';
import { functionBoundarySub } from '../lib/function-boundary.js';
import { runCli } from './helpers/cli.js';
import { ACCOUNT, decide, pseudoParameters, roleGrants, type Scope } from './helpers/iam-policy.js';
import { makeRepo, tempDir, writeManifest } from './helpers/repo.js';

type Doc = Record<string, any>;

const STACK = 'OrdersPipeline';
const BOUNDARY_ARN = `arn:aws:iam::${ACCOUNT}:policy/lambda-cd/${STACK}-function-boundary`;

async function generate(args: string[]): Promise<{ template: Doc; file: string; stderr: string }> {
  const file = path.join(await tempDir(), 'template.yaml');
  const result = await runCli([...args, '--out', file]);
  expect(result.exitCode, result.stderr).toBe(0);
  return { template: loadYaml(readFileSync(file, 'utf8')) as Doc, file, stderr: result.stderr };
}

/** The stage templates create-cf writes for `files` (config/config.yaml among them). */
async function stageTemplates(files: Record<string, string>): Promise<Doc[]> {
  const root = await makeRepo({ 'config/Gamma/env.yaml': 'MODE: test\n', ...files });
  await writeManifest(root);
  const result = await runCli(['create-cf', '--path', root, '--stack', STACK]);
  expect(result.exitCode, result.stderr).toBe(0);
  return result.stdout.trim().split('\n').map((file) => JSON.parse(readFileSync(file, 'utf8')) as Doc);
}

const ORDERS_IAM = 'Statements:\n  - Effect: Allow\n    Action: [dynamodb:GetItem, dynamodb:PutItem]\n    Resource: arn:aws:dynamodb:us-east-1:123456789012:table/orders\n';

describe('one boundary: the CodePipeline template and ci-bootstrap carry the same one for the same repository', () => {
  it('same policy document, parameter and condition; ci-bootstrap fills FunctionBoundaryExtraActions\'s default from the iam files', async () => {
    const root = await makeRepo({
      'config/config.yaml': 'Name: Orders\nHandler: app.handler\nStages: [Gamma, Beta]\n',
      'config/Gamma/iam.yaml': ORDERS_IAM,
      'config/Beta/env.yaml': 'MODE: test\n',
      'config/PROD/iam.yaml': `${ORDERS_IAM}  - Effect: Allow\n    Action: rekognition:DetectLabels\n    Resource: "*"\n`,
    });
    const pipeline = await generate(['generate', 'pipeline', '--stages', 'Gamma,Beta']);
    const bootstrap = await generate(['generate', 'ci-bootstrap', '--path', root, '--stack', STACK]);
    const [a, b] = [pipeline.template, bootstrap.template];
    expect(b.Resources.FunctionBoundary.Properties.PolicyDocument).toEqual(a.Resources.FunctionBoundary.Properties.PolicyDocument);
    expect({ ...b.Resources.FunctionBoundary.Properties, ManagedPolicyName: undefined, PolicyDocument: undefined })
      .toEqual({ ...a.Resources.FunctionBoundary.Properties, ManagedPolicyName: undefined, PolicyDocument: undefined });
    expect(a.Resources.FunctionBoundary.Properties.ManagedPolicyName).toEqual({ 'Fn::Sub': '${AWS::StackName}-function-boundary' });
    expect(b.Resources.FunctionBoundary.Properties.ManagedPolicyName).toEqual({ 'Fn::Sub': '${PipelineName}-function-boundary' });
    expect(b.Conditions.HasExtraBoundaryActions).toEqual(a.Conditions.HasExtraBoundaryActions);
    // Only what lambda-cd's list does not cover goes into the default, in plain sight for whoever deploys it.
    expect(a.Parameters.FunctionBoundaryExtraActions).toMatchObject({ Type: 'CommaDelimitedList', Default: '' });
    expect(b.Parameters.FunctionBoundaryExtraActions).toEqual({ ...a.Parameters.FunctionBoundaryExtraActions, Default: 'rekognition:DetectLabels' });
    expect(bootstrap.stderr).toContain("FunctionBoundaryExtraActions's default, rekognition:DetectLabels (granted by the stage iam files)");
    // Both need CAPABILITY_NAMED_IAM (the boundary is a named policy) and say so.
    for (const file of [pipeline.file, bootstrap.file]) expect(readFileSync(file, 'utf8')).toMatch(/^# .*--capabilities CAPABILITY_NAMED_IAM/m);
    const lint = await execa('cfn-lint', ['--format', 'parseable', '--', pipeline.file, bootstrap.file], { reject: false });
    expect(lint.stdout + lint.stderr).toBe('');
  });

  it('a wildcard grant is not copied into the boundary: ci-bootstrap warns that only the listed actions it matches pass', async () => {
    const root = await makeRepo({
      'config/config.yaml': 'Name: Orders\nHandler: app.handler\nStages: [Gamma]\n',
      'config/Gamma/iam.yaml': 'Statements:\n  - Effect: Allow\n    Action: [s3:Get*, dynamodb:GetItem]\n    Resource: "*"\n',
    });
    const bootstrap = await generate(['generate', 'ci-bootstrap', '--path', root, '--stack', STACK]);
    expect(bootstrap.template.Parameters.FunctionBoundaryExtraActions.Default).toBe('');
    expect(bootstrap.stderr).toMatch(/^lambda-cd: warning: \S*config\/Gamma\/iam\.yaml: s3:Get\*/m);
    expect(bootstrap.stderr).toContain("config/Gamma/iam.yaml: s3:Get*: the functions' permissions boundary lets through only the actions of its list this matches; name the others in FunctionBoundaryExtraActions when deploying the bootstrap");
  });
});

describe('the boundary allows every action the stage templates grant, and the deploy role may create every role they hold', () => {
  let pipeline: Doc | undefined;
  const pipelineTemplate = async () => (pipeline ??= (await generate(['generate', 'pipeline', '--stages', 'Gamma'])).template);
  const scope = (extra: string[]): Scope => ({
    variables: { ...pseudoParameters(STACK), FunctionName: 'Orders', FunctionBoundaryExtraActions: extra.join(',') },
    refs: { FunctionBoundary: BOUNDARY_ARN },
    conditions: { HasExtraBoundaryActions: extra.length > 0 },
  });

  const config = (extra = '') => `Name: Orders\nHandler: app.handler\nStages: [Gamma]\n${extra}`;
  it.each([
    ['a 2018 repository without a log group (Lambda creates it), in a VPC, traced, an iam.py with the 2018 logs helper', {
      'config/config.yaml': config('Vpc: {SubnetIds: [subnet-0123abcd], SecurityGroupIds: [sg-0123abcd]}\nTracing: Active\n'),
      'config/Gamma/iam.py': 'def get_iam(ref_name):\n    return {"Policies": [{"PolicyName": "logs", "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "arn:aws:logs:*:*:*"}, {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::orders/*"}]}}]}\n',
    }, []],
    ['LogRetentionInDays (a log group of the stack)', { 'config/config.yaml': config('LogRetentionInDays: 14\n'), 'config/PROD/iam.yaml': ORDERS_IAM }, []],
    ['Deployment through CodeDeploy with alarms and a PreTraffic hook in every stage', {
      'config/config.yaml': config('Deployment: {Strategy: Linear10PercentEvery1Minute, Alarms: [orders-5xx], PreTraffic: events/smoke.json}\n'),
      'events/smoke.json': '{"ping": true}\n',
    }, []],
    ['the default release (the PROD canary with lambda-cd\'s alarm), and an action the admin added with FunctionBoundaryExtraActions', {
      'config/config.yaml': config(),
      'config/PROD/iam.yaml': `${ORDERS_IAM}  - Effect: Allow\n    Action: rekognition:DetectLabels\n    Resource: "*"\n`,
    }, ['rekognition:DetectLabels']],
  ] as const)('%s', async (_name, files, extra) => {
    const { Resources } = await pipelineTemplate();
    const boundary = Resources.FunctionBoundary.Properties.PolicyDocument.Statement as Doc[];
    const deployRole = Resources.DeployRole.Properties.Policies[0].PolicyDocument.Statement as Doc[];
    const templates = await stageTemplates(files as Record<string, string>);
    expect(templates).toHaveLength(2);
    let checked = 0;
    for (const template of templates) {
      const grants = roleGrants(template, scope([...extra]));
      checked += grants.length;
      expect(grants.filter((grant) => decide(boundary, grant, scope([...extra])) !== 'allowed')).toEqual([]);
      for (const [id, role] of Object.entries(template.Resources as Record<string, Doc>).filter(([, r]) => r.Type === 'AWS::IAM::Role')) {
        // Every role carries the boundary, so the deploy role may create it, and pass it to the one service it trusts.
        expect(role.Properties.PermissionsBoundary, id).toEqual({ 'Fn::Sub': functionBoundarySub(STACK) });
        const arn = `arn:aws:iam::${ACCOUNT}:role${role.Properties.Path}${STACK}FunctionsGamma-${id}-1A2B3C`;
        const context = { 'iam:PermissionsBoundary': BOUNDARY_ARN };
        for (const action of ['iam:CreateRole', 'iam:PutRolePolicy', 'iam:TagRole', 'iam:DeleteRole']) expect(decide(deployRole, { action, resource: arn, context }, scope([])), `${action} ${id}`).toBe('allowed');
        expect(decide(deployRole, { action: 'iam:CreateRole', resource: arn }, scope([])), id).toBe('denied');
        const service = role.Properties.AssumeRolePolicyDocument.Statement[0].Principal.Service[0];
        expect(decide(deployRole, { action: 'iam:PassRole', resource: arn, context: { 'iam:PassedToService': service } }, scope([])), `PassRole ${id} to ${service}`).toBe('allowed');
      }
    }
    expect(checked).toBeGreaterThan(5);
  });

  it('is not a formality: the same grant without FunctionBoundaryExtraActions, or on another function\'s alias, is cut', async () => {
    const boundary = (await pipelineTemplate()).Resources.FunctionBoundary.Properties.PolicyDocument.Statement as Doc[];
    const cut = [
      { action: 'rekognition:DetectLabels', resource: '*' },
      { action: 'lambda:UpdateAlias', resource: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:OrdersAdminGamma:live` },
      { action: 'logs:PutLogEvents', resource: `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:/aws/lambda/BillingPROD:log-stream:x` },
      { action: 'codedeploy:PutLifecycleEventHookExecutionStatus', resource: `arn:aws:codedeploy:us-east-1:${ACCOUNT}:deploymentgroup:BillingPROD/lambda-cd` },
    ];
    for (const request of cut) expect(decide(boundary, request, scope([])), request.action).toBe('implicitly denied');
    expect(decide(boundary, cut[0]!, scope(['rekognition:DetectLabels']))).toBe('allowed');
  });
});
