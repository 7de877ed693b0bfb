/**
 * What create-cf writes for releases, checked where moto cannot run it (moto has no CodeDeploy and
 * no CloudWatch alarms in CloudFormation): cfn-lint with no warnings, and assertions on every
 * release resource: the version and its name, the alias's UpdatePolicy, the deployment group, the
 * alarms, the roles, the pre-traffic hook (whose code runs here against stand-ins for Lambda and
 * CodeDeploy), and the Deployment settings' errors.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { makeRepo, tempDir, writeManifest } from './helpers/repo.js';

type Doc = Record<string, any>;
const SHA = '3f'.repeat(32);

async function templates(config: string, files: Record<string, string> = {}, sha = SHA): Promise<{ root: string; byStage: Record<string, Doc>; files: string[]; stderr: string }> {
  const root = await makeRepo({ 'config/config.yaml': `Name: Orders\nHandler: app.handler\nStages: [Gamma]\n${config}`, 'config/Gamma/env.yaml': 'MODE: test\n', ...files });
  await writeManifest(root, sha);
  const result = await runCli(['create-cf', '--path', root, '--stack', 'Pipe']);
  expect(result.exitCode, result.stderr).toBe(0);
  const written = result.stdout.trim().split('\n');
  return { root, files: written, stderr: result.stderr, byStage: Object.fromEntries(written.map((file) => [/stack(\w+)\.json$/.exec(file)![1]!, JSON.parse(readFileSync(file, 'utf8'))])) };
}

const ofType = (template: Doc, type: string) => Object.entries(template.Resources as Doc).filter(([, r]) => r.Type === type);
const versionId = (template: Doc) => ofType(template, 'AWS::Lambda::Version')[0]![0];
const statementsOf = (role: Doc): Doc[] => role.Properties.Policies.flatMap((p: Doc) => p.PolicyDocument.Statement);

describe('create-cf: versions and traffic shifting', () => {
  it('defaults: all at once before PROD (no CodeDeploy), a canary with lambda-cd\'s alarm in PROD; everything cfn-lint clean', async () => {
    const { byStage, files } = await templates('');
    const lint = await execa('cfn-lint', ['--format', 'parseable', '--', ...files], { reject: false });
    expect(lint.stdout + lint.stderr).toBe('');

    const gamma = byStage.Gamma!;
    const id = versionId(gamma);
    expect(id).toMatch(/^OrdersVersion[0-9a-f]{16}$/);
    expect(gamma.Resources[id]).toEqual({
      Type: 'AWS::Lambda::Version', DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain',
      Properties: { FunctionName: { Ref: 'Orders' }, Description: `lambda-cd ${id.slice(-16)}: zip ${SHA.slice(0, 12)}`, CodeSha256: Buffer.from(SHA, 'hex').toString('base64') },
    });
    expect(gamma.Resources.OrdersPipeGammaAlias).toEqual({
      Type: 'AWS::Lambda::Alias',
      Properties: { Name: 'OrdersPipeGamma', Description: 'Gamma of pipeline Pipe', FunctionName: { 'Fn::GetAtt': ['Orders', 'Arn'] }, FunctionVersion: { 'Fn::GetAtt': [id, 'Version'] } },
    });
    expect(ofType(gamma, 'AWS::CodeDeploy::DeploymentGroup')).toEqual([]);
    expect(gamma.Outputs.ZipSha256.Value).toBe(SHA);

    const prod = byStage.PROD!;
    const prodVersion = versionId(prod);
    expect(prod.Resources.OrdersPipePRODAlias.UpdatePolicy).toEqual({ CodeDeployLambdaAliasUpdate: { ApplicationName: { Ref: 'OrdersDeployments' }, DeploymentGroupName: { Ref: 'OrdersDeploymentGroup' } } });
    expect(prod.Resources.OrdersDeployments.Properties).toMatchObject({ ApplicationName: 'OrdersPROD', ComputePlatform: 'Lambda' });
    expect(prod.Resources.OrdersDeploymentGroup.Properties).toMatchObject({
      ApplicationName: { Ref: 'OrdersDeployments' },
      DeploymentGroupName: 'lambda-cd',
      ServiceRoleArn: { 'Fn::GetAtt': ['OrdersDeploymentRole', 'Arn'] },
      DeploymentConfigName: 'CodeDeployDefault.LambdaCanary10Percent5Minutes',
      DeploymentStyle: { DeploymentType: 'BLUE_GREEN', DeploymentOption: 'WITH_TRAFFIC_CONTROL' },
      AutoRollbackConfiguration: { Enabled: true, Events: ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_ALARM'] },
      AlarmConfiguration: { Enabled: true, Alarms: [{ Name: { Ref: 'OrdersReleaseAlarm' } }] },
    });
    // Errors of the version being released, through the alias, plus the alias's throttles.
    const alarm = prod.Resources.OrdersReleaseAlarm.Properties;
    expect(alarm).toMatchObject({ AlarmName: 'OrdersPROD-release-errors', ComparisonOperator: 'GreaterThanThreshold', Threshold: 0, EvaluationPeriods: 1, TreatMissingData: 'notBreaching' });
    expect(alarm.Metrics.map((m: Doc) => m.Expression ?? `${m.MetricStat.Metric.MetricName} ${m.MetricStat.Metric.Dimensions.map((d: Doc) => `${d.Name}=${JSON.stringify(d.Value)}`).join(' ')}`)).toEqual([
      `Errors FunctionName="OrdersPROD" Resource="OrdersPROD:OrdersPipePROD" ExecutedVersion={"Fn::GetAtt":["${prodVersion}","Version"]}`,
      'Throttles FunctionName="OrdersPROD" Resource="OrdersPROD:OrdersPipePROD"',
      'FILL(errors, 0) + FILL(throttles, 0)',
    ]);
    // CodeDeploy's role: trusts CodeDeploy only, may shift this function's alias and read this alarm, nothing else.
    const role = prod.Resources.OrdersDeploymentRole;
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([{ Effect: 'Allow', Principal: { Service: ['codedeploy.amazonaws.com'] }, Action: ['sts:AssumeRole'] }]);
    expect(role.Properties.Path).toBe('/lambda-cd/Orders/');
    expect(statementsOf(role)).toEqual([
      { Effect: 'Allow', Action: ['lambda:GetAlias', 'lambda:GetProvisionedConcurrencyConfig', 'lambda:UpdateAlias'], Resource: [{ 'Fn::GetAtt': ['Orders', 'Arn'] }, { 'Fn::Sub': '${Orders.Arn}:*' }] },
      { Effect: 'Allow', Action: ['cloudwatch:DescribeAlarms'], Resource: [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudwatch:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':alarm:', 'OrdersPROD-release-errors']] }] },
    ]);
    expect(Object.keys(prod.Outputs)).toEqual(['OrdersPipePROD', 'AliasArn', 'FunctionVersion', 'ZipSha256']);
  });

  it('Deployment per stage: a linear strategy with the user\'s alarms, a pre-traffic smoke invoke, AllAtOnce in PROD; cfn-lint clean', async () => {
    const { byStage, files } = await templates(
      'Deployment: {Strategy: CodeDeployDefault.LambdaLinear10PercentEvery2Minutes, Alarms: [orders-5xx, "orders latency p99"]}\n' +
        'StageOverrides:\n  Gamma:\n    Deployment: {PreTraffic: events/smoke.json, Alarms: []}\n  PROD:\n    Deployment: {Strategy: AllAtOnce, Alarms: [orders-5xx]}\n',
      { 'events/smoke.json': '{"ping": true, "id": 12345678901234567890}\n' },
    );
    const lint = await execa('cfn-lint', ['--format', 'parseable', '--', ...files], { reject: false });
    expect(lint.stdout + lint.stderr).toBe('');

    const gamma = byStage.Gamma!;
    const id = versionId(gamma);
    // Linear from the top level, no alarm (Alarms: []), the hook before traffic moves.
    expect(gamma.Resources.OrdersDeploymentGroup.Properties.DeploymentConfigName).toBe('CodeDeployDefault.LambdaLinear10PercentEvery2Minutes');
    expect(gamma.Resources.OrdersDeploymentGroup.Properties.AlarmConfiguration).toBeUndefined();
    expect(gamma.Resources.OrdersReleaseAlarm).toBeUndefined();
    expect(gamma.Resources.OrdersPipeGammaAlias.UpdatePolicy.CodeDeployLambdaAliasUpdate.BeforeAllowTrafficHook).toEqual({ Ref: 'OrdersPreTrafficHook' });
    const hook = gamma.Resources.OrdersPreTrafficHook.Properties;
    expect(hook).toMatchObject({ FunctionName: 'OrdersGamma-pre-traffic', Handler: 'index.handler', Runtime: 'python3.12', Timeout: 120, Role: { 'Fn::GetAtt': ['OrdersPreTrafficHookRole', 'Arn'] } });
    // The event exactly as written (big numbers too), the new version as the target.
    expect(hook.Environment.Variables).toEqual({ TARGET: { Ref: id }, EVENT: '{"ping": true, "id": 12345678901234567890}' });
    expect(statementsOf(gamma.Resources.OrdersPreTrafficHookRole).map((s) => [s.Action, s.Resource])).toEqual([
      [['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'], [
        { 'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/OrdersGamma-pre-traffic' },
        { 'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/OrdersGamma-pre-traffic:*' }]],
      [['lambda:InvokeFunction'], [{ 'Fn::Sub': '${Orders.Arn}:*' }]],
      [['codedeploy:PutLifecycleEventHookExecutionStatus'], [{ 'Fn::Sub': 'arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:deploymentgroup:OrdersGamma/lambda-cd' }]],
    ]);
    expect(statementsOf(gamma.Resources.OrdersDeploymentRole).map((s) => s.Action)).toEqual([
      ['lambda:GetAlias', 'lambda:GetProvisionedConcurrencyConfig', 'lambda:UpdateAlias'], ['lambda:InvokeFunction'],
    ]);

    // PROD: AllAtOnce with an alarm still goes through CodeDeploy (it watches the alarm); the user's alarm only.
    const prod = byStage.PROD!;
    expect(prod.Resources.OrdersDeploymentGroup.Properties).toMatchObject({ DeploymentConfigName: 'CodeDeployDefault.LambdaAllAtOnce', AlarmConfiguration: { Enabled: true, Alarms: [{ Name: 'orders-5xx' }] } });
    expect(prod.Resources.OrdersReleaseAlarm).toBeUndefined();
    expect(prod.Resources.OrdersPreTrafficHook).toBeUndefined();

    // AllAtOnce and nothing else: CloudFormation moves the alias itself.
    const plain = await templates('StageOverrides:\n  PROD:\n    Deployment: {Strategy: AllAtOnce}\n');
    expect(plain.byStage.PROD!.Resources.OrdersPipePRODAlias.UpdatePolicy).toBeUndefined();
    expect(ofType(plain.byStage.PROD!, 'AWS::CodeDeploy::Application')).toEqual([]);
    // No wildcard action anywhere lambda-cd writes.
    for (const template of [gamma, prod, plain.byStage.PROD!]) {
      const actions = ofType(template, 'AWS::IAM::Role').flatMap(([, role]) => statementsOf(role)).flatMap((s) => [s.Action].flat());
      expect(actions.filter((action: string) => action === '*' || action.endsWith(':*'))).toEqual([]);
    }
  });

  it('the version\'s name changes exactly when Lambda would publish a new one: the zip, or a setting a version freezes; not tags or reserved concurrency', async () => {
    const base = 'Timeout: 30\n';
    const id = async (config: string, sha = SHA) => versionId((await templates(config, {}, sha)).byStage.Gamma!);
    const original = await id(base);
    expect(await id(base)).toBe(original);
    expect(await id(`${base}Tags: {team: shop}\nReservedConcurrency: 4\n`)).toBe(original);
    expect(await id(`${base}Description: ""\n`)).toBe(original);
    expect(await id('Timeout: 31\n')).not.toBe(original);
    expect(await id(`${base}MemorySize: 256\n`)).not.toBe(original);
    expect(await id(`${base}Description: Takes orders\n`)).not.toBe(original);
    expect(await id(base, 'ab'.repeat(32))).not.toBe(original);
    const changedEnv = await templates(base, { 'config/Gamma/env.yaml': 'MODE: live\n' });
    expect(versionId(changedEnv.byStage.Gamma!)).not.toBe(original);
  });

  it('the pre-traffic hook reports Succeeded only when the invoke returns without a function error (its code, run against stand-ins)', async () => {
    const { byStage } = await templates('StageOverrides:\n  Gamma:\n    Deployment: {PreTraffic: smoke.json}\n', { 'smoke.json': '{"ping": 1}' });
    const dir = await tempDir('lambda-cd-hook-');
    await writeFile(path.join(dir, 'index.py'), byStage.Gamma!.Resources.OrdersPreTrafficHook.Properties.Code.ZipFile);
    await writeFile(path.join(dir, 'boto3.py'), `import io, json, os
class _Client:
    def __init__(self, service):
        self.service = service
    def invoke(self, FunctionName, Payload):
        print(json.dumps({"invoked": FunctionName, "payload": Payload.decode()}))
        if os.environ["OUTCOME"] == "raise":
            raise RuntimeError("throttled")
        response = {"Payload": io.BytesIO(b'{"ok": true}')}
        if os.environ["OUTCOME"] == "error":
            response["FunctionError"] = "Unhandled"
        return response
    def put_lifecycle_event_hook_execution_status(self, **kwargs):
        print(json.dumps({"reported": kwargs}))
def client(service):
    return _Client(service)
`);
    const run = (outcome: string) => execa('python3', ['-c', 'import index\nindex.handler({"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "h-1"}, None)'], {
      cwd: dir, reject: false, env: { PYTHONPATH: dir, OUTCOME: outcome, TARGET: 'arn:aws:lambda:us-east-1:123456789012:function:OrdersGamma:7', EVENT: '{"ping": 1}' },
    });
    const reported = (stdout: string) => stdout.split('\n').filter((line) => line.startsWith('{"reported"')).map((line) => JSON.parse(line).reported.status);
    const ok = await run('ok');
    expect(ok.stdout).toContain('{"invoked": "arn:aws:lambda:us-east-1:123456789012:function:OrdersGamma:7", "payload": "{\\"ping\\": 1}"}');
    expect(reported(ok.stdout)).toEqual(['Succeeded']);
    expect(reported((await run('error')).stdout)).toEqual(['Failed']);
    const raised = await run('raise');
    expect(reported(raised.stdout)).toEqual(['Failed']);
    expect(raised.exitCode).not.toBe(0);
  });
});

describe('config.yaml Deployment: one line naming the key, exit 2', () => {
  const cases: [string, string, Record<string, string>, string][] = [
    ['an unknown strategy', 'Deployment: {Strategy: Canary10Percent5Minute}\n', {}, 'Deployment.Strategy: expected one of AllAtOnce, Canary10Percent5Minutes, '],
    ['alarms that are no list', 'Deployment: {Alarms: my-alarm}\n', {}, 'Deployment.Alarms: expected a list of at most 10 CloudWatch alarm names ([] for none), found text "my-alarm"'],
    ['an alarm name with a wildcard', 'StageOverrides:\n  PROD:\n    Deployment: {Alarms: ["orders-*"]}\n', {}, 'StageOverrides.PROD.Deployment.Alarms: expected CloudWatch alarm names (1-255 characters, no control characters, * or ?), found text "orders-*"'],
    ['an alarm twice', 'Deployment: {Alarms: [a, a]}\n', {}, 'Deployment.Alarms: expected each alarm once, found "a" twice'],
    ['a missing event file', 'Deployment: {PreTraffic: events/none.json}\n', {}, 'Deployment.PreTraffic: expected the event file "events/none.json" to exist, found nothing there'],
    ['an event outside the repository', 'Deployment: {PreTraffic: ../smoke.json}\n', {}, 'Deployment.PreTraffic: expected a file inside the repository, found "../smoke.json"'],
    ['an event that is no JSON', 'Deployment: {PreTraffic: smoke.json}\n', { 'smoke.json': '{ping' }, 'Deployment.PreTraffic: smoke.json: expected a JSON event, found invalid JSON'],
    ['an event too large for the environment', 'Deployment: {PreTraffic: smoke.json}\n', { 'smoke.json': JSON.stringify({ data: 'x'.repeat(4000) }) }, 'Deployment.PreTraffic: smoke.json: expected at most 3072 bytes'],
    ['Deployment that is no mapping', 'Deployment: canary\n', {}, 'Deployment: expected a mapping (Strategy, Alarms, PreTraffic), found text "canary"'],
  ];
  it.concurrent.each(cases)('%s', async (_name, config, files, message) => {
    const root = await makeRepo({ 'config/config.yaml': `Name: Orders\nHandler: app.handler\n${config}`, ...files });
    await writeManifest(root);
    const result = await runCli(['create-cf', '--path', root, '--stack', 'Pipe'], { cwd: root });
    expect(result.exitCode).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`lambda-cd: error: config/config.yaml:`);
    expect(lines[0]).toContain(message);
  });

  it('an unknown Deployment key warns with the closest one; a hook name too long for Lambda is exit 2', async () => {
    const root = await makeRepo({ 'config/config.yaml': 'Name: Orders\nHandler: app.handler\nDeployment: {Strategy: AllAtOnce, Alarm: [x]}\n' });
    await writeManifest(root);
    const warned = await runCli(['create-cf', '--path', root, '--stack', 'Pipe']);
    expect(warned.exitCode, warned.stderr).toBe(0);
    expect(warned.stderr).toMatch(/config\/config\.yaml:3:1: Deployment\.Alarm: unknown key; did you mean Alarms\?/);
    const long = await makeRepo({ 'config/config.yaml': `Name: ${'N'.repeat(55)}\nHandler: app.handler\nDeployment: {PreTraffic: smoke.json}\n`, 'smoke.json': '{}' });
    await writeManifest(long);
    const result = await runCli(['create-cf', '--path', long, '--stack', 'Pipe']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(`Deployment.PreTraffic: the hook function ${'N'.repeat(55)}PROD-pre-traffic would have 71 characters; Lambda allows 64: shorten Name`);
  });

  it('create-cf without the package manifest is exit 2 saying to run package; a manifest from another build than the zip too', async () => {
    const root = await makeRepo({ 'config/config.yaml': 'Name: Orders\nHandler: app.handler\n' });
    const missing = await runCli(['create-cf', '--path', root, '--stack', 'Pipe'], { cwd: root });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr.trim()).toBe('lambda-cd: error: create-cf: dist/function.zip.manifest.json: no package manifest; run `lambda-cd package` first');
    await writeManifest(root);
    await writeFile(path.join(root, 'dist/function.zip'), 'not the zip the manifest names');
    const mixed = await runCli(['create-cf', '--path', root, '--stack', 'Pipe']);
    expect(mixed.exitCode).toBe(2);
    expect(mixed.stderr).toMatch(/create-cf: .*dist\/function\.zip \(sha256 [0-9a-f]{12}\.\.\.\) does not match .*dist\/function\.zip\.manifest\.json \(sha256 aaaaaaaaaaaa\.\.\.\): they come from different builds/);
    await writeFile(path.join(root, 'dist/function.zip.manifest.json'), '{"sha256": "xyz"}');
    const bad = await runCli(['create-cf', '--path', root, '--stack', 'Pipe']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('sha256: expected the zip\'s sha256 (64 hex digits), found text "xyz"');
  });
});
