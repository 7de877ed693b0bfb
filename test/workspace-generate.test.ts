/**
 * generate buildspecs at a multi-function root: the build steps are CodeBuild batch builds, one
 * build per function of lambda-cd.yaml, checked against the batch buildspec schema; a
 * repository without lambda-cd.yaml gets the buildspecs it always had.
 */
import { readFile, symlink } from 'node:fs/promises';
import { execa } from 'execa';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadYaml } from '../generator/cfn-yaml.js';
import { buildspecProblems } from './helpers/buildspec-schema.js';
import { runCli } from './helpers/cli.js';
import { makeRepo, tempDir, writeFiles } from './helpers/repo.js';
import { offlinePipEnv } from './helpers/wheels.js';

const fn = (name: string) => ({ [`functions/${name.toLowerCase()}/config/config.yaml`]: `Name: Ws${name}\nHandler: app.handler\n`, [`functions/${name.toLowerCase()}/config/PROD/.keep`]: '', [`functions/${name.toLowerCase()}/src/app.py`]: 'def handler(e, c):\n    return 1\n' });

describe('generate buildspecs at a multi-function root', () => {
  it('writes batch builds (build-list, one build per function with LAMBDA_CD_FUNCTION) valid for the batch schema', async () => {
    const root = await tempDir();
    await writeFiles(root, { 'lambda-cd.yaml': 'Functions: {Orders: functions/orders, Billing: functions/billing}\n', ...fn('Orders'), ...fn('Billing') });
    const out = path.join(root, 'buildspecs');
    const result = await runCli(['generate', 'buildspecs', '--path', root, '--out', out]);
    expect(result.exitCode, result.stderr).toBe(0);
    for (const step of ['unittests', 'build']) {
      const document = loadYaml(await readFile(path.join(out, `buildspec-${step}.yml`), 'utf8')) as Record<string, any>;
      expect(buildspecProblems(document)).toEqual([]);
      expect(document.batch['build-list']).toEqual([
        { identifier: 'Orders', env: { variables: { LAMBDA_CD_FUNCTION: 'Orders' } } },
        { identifier: 'Billing', env: { variables: { LAMBDA_CD_FUNCTION: 'Billing' } } },
      ]);
    }
    const build = loadYaml(await readFile(path.join(out, 'buildspec-build.yml'), 'utf8')) as Record<string, any>;
    expect(build.phases.build.commands).toEqual(['lambda-cd package', 'lambda-cd create-cf', 'lambda-cd publish']);
    expect(build.artifacts.files).toEqual(['dist/*/stack*.json', 'dist/*/code-location.json', 'dist/*/function.zip.manifest.json']);
    const integration = loadYaml(await readFile(path.join(out, 'buildspec-integrationtests.yml'), 'utf8')) as Record<string, any>;
    expect(integration.batch).toBeUndefined();
    expect(integration.reports.integrationtests.files).toEqual(['*/integration-tests.xml']);
    expect(buildspecProblems(integration)).toEqual([]);
  });

  it('the schema check finds what CodeBuild would refuse in a batch section', () => {
    expect(buildspecProblems({ version: 0.2, phases: {}, batch: { 'build-list': [{ env: {} }], 'build-graph': [] } })).toEqual(expect.arrayContaining([
      'buildspec.batch.build-list[0].identifier: required',
      'batch: expected exactly one of build-list, build-graph, build-matrix, build-fanout, found build-list, build-graph',
    ]));
    expect(buildspecProblems({ version: 0.2, phases: {}, batch: { 'build-list': [{ identifier: 'a-b', 'ignore-failure': 'yes' }, { identifier: 'a-b' }] } })).toEqual(expect.arrayContaining([
      'buildspec.batch.build-list[0].ignore-failure: expected a boolean', 'batch: identifier "a-b": letters, digits and underscores only', 'batch: identifiers must be unique',
    ]));
  });

  it('a repository without lambda-cd.yaml gets the buildspecs it always had', async () => {
    const root = await makeRepo();
    const out = path.join(root, 'buildspecs');
    expect((await runCli(['generate', 'buildspecs', '--path', root, '--out', out])).exitCode).toBe(0);
    const build = loadYaml(await readFile(path.join(out, 'buildspec-build.yml'), 'utf8')) as Record<string, any>;
    expect(build.batch).toBeUndefined();
    expect(build.artifacts.files).toEqual(['dist/stack*.json', 'dist/code-location.json', 'dist/function.zip.manifest.json']);
  });
});

describe('lambda-cd.yaml: folders stay inside the repository', () => {
  it('a function folder or include that is a symlink leading outside is exit 2 naming the field', async () => {
    const outside = await tempDir();
    await writeFiles(outside, fn('Orders'));
    const root = await tempDir();
    await writeFiles(root, { 'lambda-cd.yaml': 'Functions: {Orders: functions/orders}\n', 'lib/.keep': '' });
    await writeFiles(root, {});
    await symlink(path.join(outside, 'functions'), path.join(root, 'functions'));
    const result = await runCli(['check', '--path', root]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/lambda-cd\.yaml: Functions\.Orders: expected a folder inside the repository, found a symlink that leads outside the repository/);

    const included = await tempDir();
    await writeFiles(included, { 'lambda-cd.yaml': 'Functions: {Orders: {Folder: functions/orders, Include: [shared]}}\n', ...fn('Orders') });
    await symlink(outside, path.join(included, 'shared'));
    const include = await runCli(['check', '--path', included]);
    expect(include.exitCode).toBe(2);
    expect(include.stderr).toMatch(/Functions\.Orders\.Include\[0\]: expected a folder inside the repository, found a symlink that leads outside/);
  });

  it('an included folder whose name the function\'s src/ already uses is exit 2, not a silent overwrite', async () => {
    const root = await tempDir();
    await writeFiles(root, { 'lambda-cd.yaml': 'Functions: {Orders: {Folder: functions/orders, Include: [lib/common]}}\n', ...fn('Orders'), 'functions/orders/src/common/x.py': '', 'lib/common/y.py': '' });
    const result = await runCli(['package', '--path', root]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/Functions\.Orders\.Include: lib\/common would land in src\/common, which functions\/orders\/src already has/);
  });
});

describe('a function folder run on its own', () => {
  it('works as a function repository and warns that its includes and layers are left out', async () => {
    const root = await tempDir();
    await writeFiles(root, { 'lambda-cd.yaml': 'Functions: {Orders: {Folder: functions/orders, Include: [lib/common]}}\n', ...fn('Orders'), 'lib/common/y.py': '' });
    const result = await runCli(['check', '--path', path.join(root, 'functions/orders')]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/is Orders of .*lambda-cd\.yaml, run here without its lib\/common; run `lambda-cd check --path .* --function Orders` to include them/);
  });
});

describe('init --functions', () => {
  it('creates a multi-function repository whose unit tests pass from the root; bad names are exit 2', async () => {
    const dir = path.join(await tempDir(), 'shop');
    const created = await runCli(['init', dir, '--functions', 'Orders,BillingJobs']);
    expect(created.exitCode, created.stderr).toBe(0);
    expect(await readFile(path.join(dir, 'lambda-cd.yaml'), 'utf8')).toContain('Functions:\n  Orders: functions/orders\n  BillingJobs: functions/billing-jobs\n');
    const build = loadYaml(await readFile(path.join(dir, 'buildspecs/buildspec-build.yml'), 'utf8')) as Record<string, any>;
    expect(build.batch['build-list'].map((task: { identifier: string }) => task.identifier)).toEqual(['Orders', 'BillingJobs']);
    // No index: the SDK the tests would get is looked up offline (a warning), nothing reaches the network.
    const tested = await runCli(['unit-test', '--path', dir], { timeout: 300_000, env: offlinePipEnv(await tempDir()) });
    expect(tested.exitCode, tested.stderr).toBe(0);
    expect(tested.stdout).toContain('BillingJobs: 1 passed, 0 failed');
    for (const bad of ['Orders,Orders', 'Or-ders', '', 'Orders,9Lives']) {
      const result = await runCli(['init', path.join(await tempDir(), 'x'), '--functions', bad]);
      expect(result.exitCode, bad).toBe(2);
      expect(result.stderr, bad).toMatch(/init: (--functions|Name)/);
    }
  }, 300_000);
});

describe('generate pipeline at a multi-function root', () => {
  it('batch builds with a batch role for its own project only, a deploy and a test action per function and stage; cfn-lint passes', async () => {
    const root = await tempDir();
    await writeFiles(root, { 'lambda-cd.yaml': 'Functions: {Orders: functions/orders, Billing: functions/billing}\n', ...fn('Orders'), ...fn('Billing'), 'functions/orders/config/Gamma/.keep': '', 'functions/billing/config/Gamma/.keep': '' });
    const out = path.join(root, 'pipeline.yaml');
    const generated = await runCli(['generate', 'pipeline', '--path', root, '--stages', 'Gamma', '--approve-before', 'PROD', '--out', out]);
    expect(generated.exitCode, generated.stderr).toBe(0);
    const lint = await execa('cfn-lint', ['--format', 'parseable', out], { reject: false });
    expect(lint.stdout + lint.stderr).toBe('');
    const text = await readFile(out, 'utf8');
    expect(text).not.toContain('FunctionName}');
    const template = loadYaml(text) as Record<string, any>;
    expect(template.Parameters.FunctionName).toBeUndefined();
    const build = template.Resources.BuildProject.Properties;
    expect(build.BuildBatchConfig).toMatchObject({ CombineArtifacts: true, Restrictions: { MaximumBuildsAllowed: 2 } });
    const batchRole = template.Resources.BuildProjectBatchRole.Properties.Policies[0].PolicyDocument.Statement;
    expect(batchRole).toHaveLength(1);
    expect(batchRole[0].Action).toEqual(['codebuild:StartBuild', 'codebuild:StopBuild', 'codebuild:RetryBuild', 'codebuild:BatchGetBuilds']);
    expect(batchRole[0].Resource.map((r: { value: string }) => r.value)).toEqual(['arn:${AWS::Partition}:codebuild:${AWS::Region}:${AWS::AccountId}:project/${AWS::StackName}-build']);
    const batchSpec = loadYaml(build.Source.BuildSpec) as Record<string, any>;
    expect(buildspecProblems(batchSpec)).toEqual([]);
    expect(batchSpec.batch['build-list'].map((t: { identifier: string }) => t.identifier)).toEqual(['Orders', 'Billing']);
    const stages = template.Resources.Pipeline.Properties.Stages as { Name: string; Actions: Record<string, any>[] }[];
    expect(stages.find((s) => s.Name === 'Build')!.Actions[0].Configuration).toMatchObject({ BatchEnabled: 'true', CombineArtifacts: 'true' });
    const gamma = stages.find((s) => s.Name === 'Gamma')!.Actions;
    expect(gamma.map((a) => a.Name)).toEqual(['DeployOrders', 'DeployBilling', 'IntegrationTestsOrders', 'IntegrationTestsBilling']);
    expect(gamma[0]!.Configuration).toMatchObject({ TemplatePath: 'BuildOutput::Orders/dist/Orders/stackGamma.json', TemplateConfiguration: 'BuildOutput::Orders/dist/Orders/code-location.json' });
    expect(gamma[0]!.Configuration.StackName.value).toBe('${AWS::StackName}FunctionsGamma-Orders');
    expect(gamma[3]!.Configuration.EnvironmentVariables.value).toContain('"name":"LAMBDA_CD_FUNCTION","type":"PLAINTEXT","value":"Billing"');
    expect(stages.find((s) => s.Name === 'PROD')!.Actions.map((a) => a.Name)).toEqual(['Approval', 'DeployOrders', 'DeployBilling']);
    // Each function's resources are named for it: the deploy role reaches WsOrders* and WsBilling*, nothing else.
    const deploy = JSON.stringify(template.Resources.DeployRole.Properties.Policies[0].PolicyDocument.Statement);
    expect(deploy).toContain('function:WsOrdersGamma');
    expect(deploy).toContain('function:WsBillingPROD');
    // The functions' permissions boundary names each function's logs and aliases, no FunctionName left.
    const boundary = JSON.stringify(template.Resources.FunctionBoundary.Properties.PolicyDocument);
    expect(boundary).toContain('log-group:/aws/lambda/WsOrdersGamma');
    expect(boundary).toContain('function:WsBillingPROD');
    expect(boundary).not.toContain('FunctionName');
    const pipelineRole = JSON.stringify(template.Resources.PipelineRole.Properties.Policies[0].PolicyDocument.Statement);
    expect(pipelineRole).toContain('stack/${AWS::StackName}FunctionsGamma-Billing/*');
  }, 120_000);

  it('takes the stages from the functions\' configs, which must agree (exit 2 naming both files otherwise), from a subfolder without --path', async () => {
    const root = await tempDir();
    await writeFiles(root, { 'lambda-cd.yaml': 'Functions: {Orders: functions/orders, Billing: functions/billing}\n', ...fn('Orders'), ...fn('Billing'), 'functions/orders/config/Gamma/.keep': '', 'docs/.keep': '' });
    const out = path.join(root, 'pipeline.yaml');
    const mismatch = await runCli(['generate', 'pipeline', '--out', out], { cwd: path.join(root, 'docs') });
    expect(mismatch.exitCode).toBe(2);
    expect(mismatch.stderr).toMatch(/functions\/billing\/config\/config\.yaml has the stages PROD, .*functions\/orders\/config\/config\.yaml has Gamma,PROD/);
    await writeFiles(root, { 'functions/billing/config/Gamma/.keep': '' });
    const generated = await runCli(['generate', 'pipeline', '--json'], { cwd: path.join(root, 'docs') });
    expect(generated.exitCode, generated.stderr).toBe(0);
    const result = JSON.parse(generated.stdout) as { file: string; stages: string[] };
    expect(result).toMatchObject({ file: out, stages: ['Gamma', 'PROD'], functions: ['Orders', 'Billing'] });
    expect(result).not.toHaveProperty('functionName');
  }, 120_000);
});

describe('--help of the runners that work per function', () => {
  it('names --function and --jobs for a multi-function root; generate and init do not', async () => {
    for (const command of ['package', 'unit-test', 'deploy']) {
      const help = await runCli([command, '--help']);
      expect(help.exitCode).toBe(0);
      expect(help.stdout).toMatch(/At a multi-function root \(lambda-cd\.yaml\)[^\n]*\n {2}--function NAME +Only this function \(LAMBDA_CD_FUNCTION\)/);
    }
    expect((await runCli(['init', '--help'])).stdout).not.toContain('--function NAME');
  });
});

describe('init --functions --runtime', () => {
  it('writes each function in the Runtime\'s language (Node.js: package.json, src/index.mjs)', async () => {
    const dir = path.join(await tempDir(), 'shop');
    const created = await runCli(['init', dir, '--functions', 'Orders,Billing', '--runtime', 'nodejs22.x']);
    expect(created.exitCode, created.stderr).toBe(0);
    for (const folder of ['functions/orders', 'functions/billing']) {
      expect(await readFile(path.join(dir, folder, 'config/config.yaml'), 'utf8')).toContain('Runtime: nodejs22.x');
      expect(JSON.parse(await readFile(path.join(dir, folder, 'package.json'), 'utf8'))).toMatchObject({ type: 'module' });
      await readFile(path.join(dir, folder, 'src/index.mjs'), 'utf8');
    }
  });
});
