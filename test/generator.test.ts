import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { Intrinsic, loadYaml } from '../generator/cfn-yaml.js';
import { COMMANDS } from '../cli/commands/index.js';
import { PROJECT_ROOT, runCli } from './helpers/cli.js';
import { buildspecProblems } from './helpers/buildspec-schema.js';
import { tempDir } from './helpers/repo.js';

type Doc = Record<string, any>;

/** A command that is exactly one `lambda-cd` call: no shell operators, substitutions, redirections or newlines. */
const SINGLE_CALL = /^lambda-cd [a-z][a-z-]*( --?[A-Za-z0-9][A-Za-z0-9=._\/-]*)*$/;
const SHELL = /&&|\|\||[;|`<>\n]|\$\(/;

/** A CodeBuild project's buildspec: inline, or a file of buildspecs/ (--buildspecs repository). */
function buildspecOf(project: Doc, files: Record<string, string>): Doc {
  const spec = project.Properties.Source.BuildSpec as string;
  return loadYaml(/^buildspecs\/[^\n]+\.yml$/.test(spec) ? files[path.basename(spec)]! : spec) as Doc;
}

function commandsOf(buildspec: Doc): string[] {
  return Object.values(buildspec.phases ?? {}).flatMap((phase: any) => [...(phase.commands ?? []), ...(phase.finally ?? [])]);
}

async function generateBuildspecs(): Promise<Record<string, string>> {
  const dir = await tempDir();
  const result = await runCli(['generate', 'buildspecs', '--out', dir]);
  expect(result.exitCode, result.stderr).toBe(0);
  return Object.fromEntries(readdirSync(dir).map((file) => [file, readFileSync(path.join(dir, file), 'utf8')]));
}

/** The env variables each command's options read: what the pipeline may set for it. */
async function envOf(commandLine: string): Promise<{ env: string[]; required: string[] }> {
  const name = commandLine.split(' ')[1]!;
  const { command } = await COMMANDS.find((c) => c.name === name)!.load();
  const env = command.options.flatMap((o) => (o.env ? [o.env] : []));
  const required = command.options.filter((o) => o.env && o.required).map((o) => o.env!);
  return { env, required };
}

describe('generate buildspecs', () => {
  let files: Record<string, string>;
  beforeAll(async () => {
    files = await generateBuildspecs();
  });

  it('writes one buildspec per CodeBuild step', () => {
    expect(Object.keys(files).sort()).toEqual(['buildspec-build.yml', 'buildspec-integrationtests.yml', 'buildspec-unittests.yml']);
  });

  it('every command is a single lambda-cd call', () => {
    for (const [file, text] of Object.entries(files)) {
      const commands = commandsOf(loadYaml(text) as Doc);
      expect(commands.length, file).toBeGreaterThan(0);
      for (const command of commands) {
        expect(command, `${file}: ${command}`).toMatch(SINGLE_CALL);
        expect(command, `${file}: ${command}`).not.toMatch(SHELL);
      }
    }
  });

  it('every buildspec holds only keys CodeBuild accepts (version 0.2, no runtime-versions)', () => {
    for (const [file, text] of Object.entries(files)) {
      expect(buildspecProblems(loadYaml(text)), file).toEqual([]);
      expect(text, file).not.toContain('runtime-versions');
    }
  });

  it('the checker catches what CodeBuild would reject', () => {
    expect(buildspecProblems({ version: 0.1, phases: { install: { 'runtime-versions': { python: 3.12 }, commands: ['x'] } }, artifacts: {} })).toEqual([
      'buildspec.version: expected one of 0.2, found 0.1',
      'buildspec.phases.install.runtime-versions: not a key CodeBuild accepts here',
      'buildspec.artifacts.files: required',
    ]);
  });

  it('reports the runners\' JUnit files, caches .lambda-cd/cache, and hands the templates and code location on', () => {
    const unit = loadYaml(files['buildspec-unittests.yml']!) as Doc;
    const build = loadYaml(files['buildspec-build.yml']!) as Doc;
    const integration = loadYaml(files['buildspec-integrationtests.yml']!) as Doc;
    expect(unit.reports).toEqual({ unittests: { files: ['unit-tests.xml'], 'base-directory': '.lambda-cd/reports', 'file-format': 'JUNITXML' } });
    expect(integration.reports.integrationtests.files).toEqual(['integration-tests.xml']);
    for (const spec of [unit, build, integration]) expect(spec.cache).toEqual({ paths: ['.lambda-cd/cache/**/*'] });
    expect(commandsOf(build)).toEqual(['lambda-cd package', 'lambda-cd create-cf', 'lambda-cd publish']);
    expect(build.artifacts.files).toEqual(expect.arrayContaining(['dist/stack*.json', 'dist/code-location.json']));
    expect(build.artifacts.files).not.toContain('dist/function.zip');
  });

  it('the project\'s buildspecs/ folder holds exactly what the generator writes now', () => {
    const committed = Object.fromEntries(readdirSync(path.join(PROJECT_ROOT, 'buildspecs')).map((f) => [f, readFileSync(path.join(PROJECT_ROOT, 'buildspecs', f), 'utf8')]));
    expect(committed, 'run `lambda-cd generate buildspecs` and commit buildspecs/').toEqual(files);
  });
});

const MATRIX = [
  { source: 'codecommit', stages: ['Gamma'] },
  { source: 'github', stages: ['Gamma'] },
  { source: 'codecommit', stages: ['Alpha', 'Beta', 'Gamma'] },
  { source: 'github', stages: [] as string[] },
] as const;

describe('generate pipeline', () => {
  const templates: { source: string; stages: readonly string[]; file: string; doc: Doc }[] = [];
  let buildspecs: Record<string, string>;

  beforeAll(async () => {
    const dir = await tempDir();
    buildspecs = await generateBuildspecs();
    for (const [index, { source, stages }] of MATRIX.entries()) {
      const file = path.join(dir, `pipeline-${index}.yaml`);
      const result = await runCli(['generate', 'pipeline', '--source', source, '--stages', stages.join(','), '--notify', 'team@example.com', '--out', file]);
      expect(result.exitCode, result.stderr).toBe(0);
      templates.push({ source, stages, file, doc: loadYaml(readFileSync(file, 'utf8')) as Doc });
    }
  });

  it('passes cfn-lint with no errors and no warnings (both sources, several stage lists)', async () => {
    const lint = await execa('cfn-lint', ['--format', 'parseable', ...templates.map((t) => t.file)], { reject: false });
    expect(lint.stdout + lint.stderr).toBe('');
    expect(lint.exitCode).toBe(0);
  });

  it('runs Source -> Unittests -> Build -> each stage (deploy, integration tests) -> PROD (deploy only)', () => {
    for (const { doc, stages } of templates) {
      const pipelineStages = doc.Resources.Pipeline.Properties.Stages as Doc[];
      expect(pipelineStages.map((s) => s.Name)).toEqual(['Source', 'Unittests', 'Build', ...stages, 'PROD']);
      for (const stage of [...stages, 'PROD']) {
        const actions = pipelineStages.find((s) => s.Name === stage)!.Actions as Doc[];
        expect(actions.map((a) => a.Name)).toEqual(stage === 'PROD' ? ['Deploy'] : ['Deploy', 'IntegrationTests']);
        const deploy = actions[0]!.Configuration;
        expect(deploy).toMatchObject({
          ActionMode: 'CREATE_UPDATE',
          StackName: new Intrinsic('Sub', `\${AWS::StackName}Functions${stage}`),
          TemplatePath: `BuildOutput::dist/stack${stage}.json`,
          TemplateConfiguration: 'BuildOutput::dist/code-location.json',
          Capabilities: 'CAPABILITY_NAMED_IAM',
        });
        expect(JSON.stringify(deploy)).not.toMatch(/GetArtifactAtt/);
      }
    }
  });

  it('CodeBuild projects run the image parameter and carry the generated buildspecs inline (one runner call per command), so the repository needs no buildspecs/', () => {
    for (const { doc } of templates) {
      const projects = Object.values(doc.Resources as Doc).filter((r) => r.Type === 'AWS::CodeBuild::Project');
      expect(projects.length).toBeGreaterThanOrEqual(2);
      for (const project of projects) {
        const spec = loadYaml(project.Properties.Source.BuildSpec as string) as Doc;
        expect(Object.values(buildspecs).map((text) => loadYaml(text))).toContainEqual(spec);
        expect(buildspecProblems(spec)).toEqual([]);
        expect(commandsOf(spec).every((command) => /^lambda-cd [a-z-]+( --[a-z-]+)*$/.test(command))).toBe(true);
        expect(project.Properties.Environment.Image).toEqual(new Intrinsic('Ref', 'ImageUri'));
      }
      expect(doc.Parameters.ImageUri.Default).toMatch(/^public\.ecr\.aws\/lambda-cd\/lambda-cd:\d+\.\d+\.\d+/);
    }
  });

  it('--buildspecs repository makes the projects read buildspecs/ from the source instead; an unknown value is exit 2', async () => {
    const file = path.join(await tempDir(), 'pipeline.yaml');
    const result = await runCli(['generate', 'pipeline', '--stages', 'Gamma', '--buildspecs', 'repository', '--out', file]);
    expect(result.exitCode, result.stderr).toBe(0);
    const text = readFileSync(file, 'utf8');
    expect(text.split('\n')[0]).toContain('--buildspecs repository');
    const projects = Object.values((loadYaml(text) as Doc).Resources as Doc).filter((r) => r.Type === 'AWS::CodeBuild::Project');
    expect(projects.map((project) => project.Properties.Source.BuildSpec).sort()).toEqual(['buildspecs/buildspec-build.yml', 'buildspecs/buildspec-integrationtests.yml', 'buildspecs/buildspec-unittests.yml']);
    const lint = await execa('cfn-lint', ['--format', 'parseable', file], { reject: false });
    expect(lint.stdout + lint.stderr).toBe('');
    const bad = await runCli(['generate', 'pipeline', '--buildspecs', 'repo', '--out', file]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--buildspecs');
  });

  it('each project\'s role may create and fill exactly the report groups CodeBuild derives from its buildspec (<project>-<group>)', () => {
    const stackName = 'OrdersPipeline';
    const resolve = (value: Intrinsic) => value.value.replace('${AWS::StackName}', stackName).replace(/^arn:\$\{AWS::Partition\}:codebuild:\$\{AWS::Region\}:\$\{AWS::AccountId\}:/, '');
    const matches = (pattern: string, text: string) => new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(text);
    for (const { doc } of templates) {
      const projects = Object.entries(doc.Resources as Doc).filter(([, r]) => r.Type === 'AWS::CodeBuild::Project');
      for (const [id, project] of projects) {
        const groups = Object.keys(buildspecOf(project, buildspecs).reports ?? {});
        const statement = (doc.Resources[`${id}Role`].Properties.Policies[0].PolicyDocument.Statement as Doc[]).find((s) => s.Action.includes('codebuild:CreateReportGroup'))!;
        expect(statement.Action.sort(), id).toEqual(['codebuild:BatchPutTestCases', 'codebuild:CreateReport', 'codebuild:CreateReportGroup', 'codebuild:UpdateReport']);
        const allowed = (statement.Resource as Intrinsic[]).map(resolve);
        const projectName = resolve(project.Properties.Name);
        for (const group of groups) expect(allowed.some((pattern) => matches(pattern, `report-group/${projectName}-${group}`)), `${id}: ${group}`).toBe(true);
        expect(allowed.some((pattern) => matches(pattern, `report-group/${stackName}x-unittests-unittests`)), id).toBe(false);
      }
    }
  });

  it('each CodeBuild action sets exactly the variables its runners read, including the ones they require', async () => {
    for (const { doc, stages } of templates) {
      const projects = doc.Resources as Doc;
      for (const stage of doc.Resources.Pipeline.Properties.Stages as Doc[]) {
        for (const action of stage.Actions as Doc[]) {
          if (action.ActionTypeId.Provider !== 'CodeBuild') continue;
          const project = projects[(action.Configuration.ProjectName as Intrinsic).value];
          const commands = commandsOf(buildspecOf(project, buildspecs));
          const raw = action.Configuration.EnvironmentVariables;
          const variables = raw === undefined ? [] : (JSON.parse(raw instanceof Intrinsic ? raw.value : raw) as { name: string; value: string; type: string }[]);
          const read = new Set<string>();
          const requiredSeen = new Set<string>();
          for (const command of commands) {
            const { env, required } = await envOf(command);
            env.forEach((e) => read.add(e));
            for (const name of required) expect(variables.map((v) => v.name), `${stage.Name}/${action.Name}: ${command} needs ${name}`).toContain(name);
            required.forEach((r) => requiredSeen.add(r));
          }
          if (action.Name === 'IntegrationTests') expect([...requiredSeen].sort()).toEqual(['LAMBDA_CD_STACK', 'LAMBDA_CD_STAGE']);
          for (const variable of variables) {
            expect(read.has(variable.name), `${stage.Name}/${action.Name} sets ${variable.name}, which no runner reads`).toBe(true);
            expect(variable.type).toBe('PLAINTEXT');
          }
          // create-cf checks at build time that the repository has the stages this pipeline deploys.
          if (action.Name === 'Build') {
            expect(variables).toContainEqual({ name: 'LAMBDA_CD_STAGES', type: 'PLAINTEXT', value: [...stages, 'PROD'].join(',') });
          }
          if (action.Name === 'IntegrationTests') {
            expect(variables).toEqual(expect.arrayContaining([
              { name: 'LAMBDA_CD_STAGE', type: 'PLAINTEXT', value: stage.Name },
              { name: 'LAMBDA_CD_FUNCTION_STACK', type: 'PLAINTEXT', value: `\${AWS::StackName}Functions${stage.Name}` },
            ]));
          }
        }
      }
    }
  });

  it('the artifact bucket is private, encrypted, versioned and TLS-only', () => {
    const { doc } = templates[0]!;
    const bucket = doc.Resources.ArtifactBucket.Properties;
    expect(bucket.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    expect(bucket.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(bucket.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
    const [deny] = doc.Resources.ArtifactBucketPolicy.Properties.PolicyDocument.Statement;
    expect(deny).toMatchObject({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } });
  });

  it('failed actions reach the e-mail through a topic only this pipeline\'s rule may publish to', () => {
    for (const { doc } of templates) {
      const rule = doc.Resources.FailureRule.Properties;
      expect(rule.EventPattern).toEqual({
        source: ['aws.codepipeline'],
        'detail-type': ['CodePipeline Action Execution State Change'],
        detail: { pipeline: [new Intrinsic('Ref', 'Pipeline')], state: ['FAILED'] },
      });
      expect(rule.Targets[0].Arn).toEqual(new Intrinsic('Ref', 'FailureTopic'));
      expect(doc.Resources.FailureTopic.Properties.Subscription).toEqual([{ Protocol: 'email', Endpoint: new Intrinsic('Ref', 'NotificationEmail') }]);
      const statements = doc.Resources.FailureTopicPolicy.Properties.PolicyDocument.Statement as Doc[];
      expect(statements).toEqual([expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sns:Publish',
        Condition: { ArnEquals: { 'aws:SourceArn': new Intrinsic('GetAtt', 'FailureRule.Arn') } },
      })]);
      expect(doc.Parameters.NotificationEmail.Default).toBe('team@example.com');
    }
  });

  it('least privilege: one role per job, each trusting one service; no Action "*" or service-wide wildcard is allowed', () => {
    for (const { doc, source, stages } of templates) {
      const roles = Object.entries(doc.Resources as Doc).filter(([, r]) => r.Type === 'AWS::IAM::Role');
      const expected = ['PipelineRole', 'UnittestsProjectRole', 'BuildProjectRole', 'DeployRole'];
      if (stages.length) expected.push('IntegrationTestsProjectRole');
      if (source === 'codecommit') expected.push('SourceChangeRuleRole');
      expect(roles.map(([id]) => id).sort()).toEqual(expected.sort());
      for (const [id, role] of roles) {
        expect(role.Properties.AssumeRolePolicyDocument.Statement, id).toHaveLength(1);
        for (const policy of role.Properties.Policies) {
          for (const statement of policy.PolicyDocument.Statement as Doc[]) {
            if (statement.Effect === 'Deny') continue;
            expect(statement.Effect, id).toBe('Allow');
            for (const action of [statement.Action].flat()) expect(action, id).not.toMatch(/(^|:)\*$/);
          }
        }
      }
      expect(JSON.stringify(doc)).not.toMatch(/"Action":"\*"/);
    }
  });

  it('the deploy role reaches only the Name+Stage functions, their log groups and roles', () => {
    const { doc } = templates[2]!;
    const statements = doc.Resources.DeployRole.Properties.Policies[0].PolicyDocument.Statement as Doc[];
    const lambda = statements.find((s) => s.Action.includes('lambda:CreateFunction'))!;
    const functions = lambda.Resource.map((r: Intrinsic) => r.value.replace(/^.*:function:/, ''));
    expect(functions).toEqual(['Alpha', 'Beta', 'Gamma', 'PROD'].flatMap((stage) => [`\${FunctionName}${stage}`, `\${FunctionName}${stage}:*`]));
    const passRole = statements.find((s) => s.Action.includes('iam:PassRole'))!;
    expect(passRole.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'lambda.amazonaws.com' } });
    // create-cf puts every function role under /lambda-cd/<Name>/, whatever name CloudFormation gives it;
    // besides, the exact names 2018 iam.py files gave theirs (test/migration-2018.test.ts resolves them).
    expect(passRole.Resource[0].value).toBe('arn:${AWS::Partition}:iam::${AWS::AccountId}:role/lambda-cd/${FunctionName}/*');
    expect(passRole.Resource.slice(1).map((r: any) => r['Fn::Sub'][0])).toEqual(['Alpha', 'Beta', 'Gamma', 'PROD'].map((stage) => `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/\${Function}\${Pipeline}${stage}IAM`));
    const logs = statements.find((s) => s.Action.includes('logs:CreateLogGroup'))!;
    expect(logs.Resource.every((r: Intrinsic) => r.value.includes('log-group:/aws/lambda/${FunctionName}'))).toBe(true);
    for (const statement of statements) {
      if (statement.Effect === 'Allow' && [statement.Resource].flat().includes('*')) expect(statement.Action.every((a: string) => a.startsWith('ec2:Describe'))).toBe(true);
    }
    expect(doc.Parameters.FunctionName.MaxLength).toBe(64 - 'Alpha'.length);
  });

  it('GitHub comes through a CodeStar connection, never an OAuth token', () => {
    const { doc } = templates[1]!;
    expect(Object.keys(doc.Parameters)).toEqual(expect.arrayContaining(['ConnectionArn', 'FullRepositoryId', 'BranchName']));
    const source = doc.Resources.Pipeline.Properties.Stages[0].Actions[0];
    expect(source.ActionTypeId.Provider).toBe('CodeStarSourceConnection');
    expect(readFileSync(templates[1]!.file, 'utf8')).not.toMatch(/OAuthToken|GitHubToken/i);
  });

  it('rejects PROD in --stages, bad stage names and a bad e-mail (exit 2)', async () => {
    const prod = await runCli(['generate', 'pipeline', '--stages', 'Gamma,PROD', '--out', '/dev/null']);
    expect(prod).toMatchObject({ exitCode: 2 });
    expect(prod.stderr).toContain('leave PROD out');
    const bad = await runCli(['generate', 'pipeline', '--stages', 'Gam-ma', '--out', '/dev/null']);
    expect(bad.stderr).toContain('found "Gam-ma"');
    const email = await runCli(['generate', 'pipeline', '--stages', 'Gamma', '--notify', 'nobody', '--out', '/dev/null']);
    expect(email).toMatchObject({ exitCode: 2 });
    expect(email.stderr).toContain('--notify expects an e-mail address');
  });
});

describe('generate pipeline: approval, rollback and release coordination', () => {
  let file: string;
  let doc: Doc;
  beforeAll(async () => {
    file = path.join(await tempDir(), 'pipeline.yaml');
    const result = await runCli(['generate', 'pipeline', '--stages', 'Gamma,Beta', '--approve-before', 'Beta,PROD', '--coordinate-with', 'Orders.P,Billing_P', '--notify', 'team@example.com', '--out', file]);
    expect(result.exitCode, result.stderr).toBe(0);
    doc = loadYaml(readFileSync(file, 'utf8')) as Doc;
  });

  it('passes cfn-lint with no errors and no warnings, and no Allow holds a wildcard action', async () => {
    const lint = await execa('cfn-lint', ['--format', 'parseable', file], { reject: false });
    expect(lint.stdout + lint.stderr).toBe('');
    const statements = Object.values(doc.Resources as Doc).filter((r) => r.Type === 'AWS::IAM::Role')
      .flatMap((role) => role.Properties.Policies.flatMap((policy: Doc) => policy.PolicyDocument.Statement as Doc[]));
    for (const statement of statements) for (const action of [statement.Action].flat()) expect(action).not.toMatch(/(^|:)\*$/);
    expect(readFileSync(file, 'utf8').split('\n')[0]).toContain('--approve-before Beta,PROD --coordinate-with Orders.P,Billing_P --coordinate-stage PROD');
  });

  it('asks for an approval through the pipeline\'s SNS topic before the named stages\' deploys', () => {
    const stages = doc.Resources.Pipeline.Properties.Stages as Doc[];
    const actions = (name: string) => (stages.find((s) => s.Name === name)!.Actions as Doc[]).map((a) => `${a.RunOrder} ${a.Name}`);
    expect(actions('Gamma')).toEqual(['1 Deploy', '2 IntegrationTests']);
    expect(actions('Beta')).toEqual(['1 Approval', '2 Deploy', '3 IntegrationTests']);
    expect(actions('PROD')).toEqual(['1 Approval', '2 Deploy']);
    const approval = (stages.find((s) => s.Name === 'PROD')!.Actions as Doc[])[0]!;
    expect(approval.ActionTypeId).toEqual({ Category: 'Approval', Owner: 'AWS', Provider: 'Manual', Version: '1' });
    expect(approval.Configuration.NotificationArn).toEqual(new Intrinsic('Ref', 'FailureTopic'));
    const pipelineRole = doc.Resources.PipelineRole.Properties.Policies[0].PolicyDocument.Statement as Doc[];
    expect(pipelineRole).toContainEqual({ Effect: 'Allow', Action: ['sns:Publish'], Resource: [new Intrinsic('Ref', 'FailureTopic')] });
  });

  it('a failed integration test rolls the stage back: the buildspec\'s post_build, and the role may move the alias', () => {
    const project = doc.Resources.IntegrationTestsProject.Properties.Source.BuildSpec as string;
    expect((loadYaml(project) as Doc).phases.post_build).toEqual({ commands: ['lambda-cd rollback --only-after-failure'] });
    const statements = doc.Resources.IntegrationTestsProjectRole.Properties.Policies[0].PolicyDocument.Statement as Doc[];
    const alias = statements.find((s) => s.Action.includes('lambda:UpdateAlias'))!;
    expect(alias.Action).toEqual(['lambda:GetAlias', 'lambda:UpdateAlias', 'lambda:ListTags', 'lambda:TagResource']);
    expect(alias.Resource.map((r: Intrinsic) => r.value.replace(/^.*:function:/, ''))).toEqual(['${FunctionName}Gamma', '${FunctionName}Gamma:*', '${FunctionName}Beta', '${FunctionName}Beta:*']);
    expect(statements.find((s) => s.Action.includes('cloudformation:DescribeStackEvents'))!.Resource.map((r: Intrinsic) => r.value.replace(/^.*:stack\//, '')))
      .toEqual(['${AWS::StackName}FunctionsGamma/*', '${AWS::StackName}FunctionsBeta/*']);
  });

  it('the deploy role may create what the stage templates now hold: CodeDeploy named after the functions, their alarms and hooks, and pass the CodeDeploy role only to CodeDeploy', () => {
    const statements = doc.Resources.DeployRole.Properties.Policies[0].PolicyDocument.Statement as Doc[];
    const codeDeploy = statements.find((s) => s.Action.includes('codedeploy:CreateDeploymentGroup'))!;
    expect(codeDeploy.Resource.map((r: Intrinsic) => r.value.replace(/^.*\$\{AWS::AccountId\}:/, ''))).toEqual([
      'application:${FunctionName}Gamma', 'application:${FunctionName}Beta', 'application:${FunctionName}PROD',
      'deploymentgroup:${FunctionName}Gamma/*', 'deploymentgroup:${FunctionName}Beta/*', 'deploymentgroup:${FunctionName}PROD/*', 'deploymentconfig:CodeDeployDefault.Lambda*',
    ]);
    const alarms = statements.find((s) => s.Action.includes('cloudwatch:PutMetricAlarm'))!;
    expect(alarms.Resource.map((r: Intrinsic) => r.value.replace(/^.*:alarm:/, ''))).toEqual(['Gamma', 'Beta', 'PROD'].map((stage) => `\${FunctionName}${stage}-release-errors`));
    const passToCodeDeploy = statements.find((s) => s.Action.includes('iam:PassRole') && s.Condition.StringEquals['iam:PassedToService'] === 'codedeploy.amazonaws.com')!;
    expect(passToCodeDeploy.Resource).toEqual([new Intrinsic('Sub', 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/lambda-cd/${FunctionName}/*')]);
    expect(statements.find((s) => s.Action.includes('lambda:PublishVersion'))).toBeDefined();
  });

  it('holds PROD back until the named pipelines passed Beta too: a disabled transition, a rule on their stage changes, a gate function with just the rights it needs', () => {
    expect(doc.Resources.Pipeline.Properties.DisableInboundStageTransitions).toEqual([{ StageName: 'PROD', Reason: expect.stringMatching(/^[a-zA-Z0-9!@ ().*?-]+$/) }]);
    expect(doc.Resources.ReleaseGateRule.Properties.EventPattern).toEqual({
      source: ['aws.codepipeline'],
      'detail-type': ['CodePipeline Stage Execution State Change'],
      detail: { pipeline: [new Intrinsic('Ref', 'Pipeline'), 'Orders.P', 'Billing_P'], stage: ['Beta', 'PROD'], state: ['STARTED', 'SUCCEEDED'] },
    });
    expect(doc.Resources.ReleaseGatePermission.Properties).toMatchObject({ Principal: 'events.amazonaws.com', SourceArn: new Intrinsic('GetAtt', 'ReleaseGateRule.Arn') });
    expect(doc.Resources.ReleaseGate.Properties.Environment.Variables).toEqual({ PIPELINE: new Intrinsic('Ref', 'Pipeline'), STAGE: 'PROD', BEFORE: 'Beta', OTHERS: 'Orders.P,Billing_P', TOPIC: new Intrinsic('Ref', 'FailureTopic') });
    const statements = doc.Resources.ReleaseGateRole.Properties.Policies[0].PolicyDocument.Statement as Doc[];
    const resources = (action: string) => statements.find((s) => s.Action.includes(action))!.Resource.map((r: Intrinsic) => (r instanceof Intrinsic ? r.value : r));
    expect(resources('codepipeline:GetPipelineState').map((arn: string) => arn.replace(/^.*\$\{AWS::AccountId\}:/, ''))).toEqual(['${Pipeline}', 'Orders.P', 'Billing_P']);
    expect(resources('codepipeline:EnableStageTransition').map((arn: string) => arn.replace(/^.*\$\{AWS::AccountId\}:/, ''))).toEqual(['${Pipeline}/PROD']);
    expect(resources('sns:Publish')).toEqual(['FailureTopic']);
  });

  it('bad --approve-before, --coordinate-with or --coordinate-stage values are exit 2 with one line', async () => {
    for (const [args, message] of [
      [['--approve-before', 'Delta'], '--approve-before expects stages of the pipeline (Gamma, PROD), found "Delta"'],
      [['--approve-before', 'PROD,PROD'], '--approve-before expects each stage once, found PROD twice'],
      [['--coordinate-with', 'Orders,bad name'], '--coordinate-with expects CodePipeline names (letters, digits, \'.\', \'@\', \'_\', \'-\'; at most 100), found "bad name"'],
      [['--coordinate-with', 'A,A'], '--coordinate-with expects each pipeline once, found A twice'],
      [['--coordinate-with', 'A', '--coordinate-stage', 'Beta'], '--coordinate-stage expects a stage of the pipeline (Gamma, PROD), found "Beta"'],
    ] as const) {
      const result = await runCli(['generate', 'pipeline', '--stages', 'Gamma', ...args, '--out', '/dev/null']);
      expect(result.exitCode, result.stderr).toBe(2);
      expect(result.stderr.trim()).toBe(`lambda-cd: error: generate pipeline: ${message}`);
    }
  });

  it('the gate opens only while an execution waits and every named pipeline passed, closes when the stage starts, and says what it did (its code run against stand-ins for CodePipeline and SNS)', async () => {
    const dir = await tempDir('lambda-cd-gate-');
    await writeFile(path.join(dir, 'index.py'), doc.Resources.ReleaseGate.Properties.Code.ZipFile as string);
    // boto3 stand-in: pipeline states from STATES (JSON), every call recorded in CALLS.
    await writeFile(path.join(dir, 'boto3.py'), `import json, os
CALLS = []
class PipelineNotFoundException(Exception):
    pass
class _Exceptions:
    PipelineNotFoundException = PipelineNotFoundException
class _Client:
    exceptions = _Exceptions()
    def __init__(self, service):
        self.service = service
    def get_pipeline_state(self, name):
        states = json.loads(os.environ["STATES"])
        if name not in states:
            raise PipelineNotFoundException(name)
        return {"stageStates": states[name]}
    def __getattr__(self, action):
        return lambda **kwargs: CALLS.append([self.service, action, kwargs])
def client(service):
    return _Client(service)
`);
    const script = 'import json, sys, index, boto3\nresult = index.handler(json.loads(sys.argv[1]), None)\nprint(json.dumps({"result": result, "calls": [[c[0], c[1]] for c in boto3.CALLS]}))';
    const stage = (name: string, execution: string | undefined, status?: string, enabled = false) => ({ stageName: name, inboundTransitionState: { enabled }, ...(execution ? { latestExecution: { pipelineExecutionId: execution, status } } : {}) });
    const run = async (event: Doc, states: Record<string, Doc[]>) => {
      const out = await execa('python3', ['-c', script, JSON.stringify(event)], {
        cwd: dir,
        env: { PYTHONPATH: dir, PIPELINE: 'Mine', STAGE: 'PROD', BEFORE: 'Beta', OTHERS: 'Orders.P,Billing_P', TOPIC: 'arn:topic', STATES: JSON.stringify(states) },
      });
      return JSON.parse(out.stdout.split('\n').at(-1)!) as { result: string; calls: string[][] };
    };
    const waiting = [stage('Beta', 'e2', 'Succeeded'), stage('PROD', 'e1', 'Succeeded')];
    const passed = [stage('Beta', 'x', 'Succeeded'), stage('PROD', 'x0', 'Succeeded')];
    const event = (pipeline: string, stageName: string, state: string) => ({ detail: { pipeline, stage: stageName, state } });

    expect(await run(event('Orders.P', 'Beta', 'SUCCEEDED'), { Mine: waiting, 'Orders.P': passed, Billing_P: passed })).toEqual({ result: 'open', calls: [['codepipeline', 'enable_stage_transition'], ['sns', 'publish']] });
    expect(await run(event('Mine', 'Beta', 'SUCCEEDED'), { Mine: waiting, 'Orders.P': passed, Billing_P: [stage('Beta', 'y', 'InProgress')] })).toEqual({ result: 'closed', calls: [] });
    expect(await run(event('Mine', 'PROD', 'STARTED'), { Mine: [stage('Beta', 'e2', 'Succeeded'), stage('PROD', 'e2', 'InProgress', true)], 'Orders.P': passed, Billing_P: passed }))
      .toEqual({ result: 'closed: PROD started', calls: [['codepipeline', 'disable_stage_transition']] });
    // Nothing waits (this pipeline's Beta failed, or its last Beta run already went through PROD): the others passing opens nothing.
    expect((await run(event('Orders.P', 'Beta', 'SUCCEEDED'), { Mine: [stage('Beta', 'e3', 'Failed'), stage('PROD', 'e2', 'Succeeded')], 'Orders.P': passed, Billing_P: passed })).calls).toEqual([]);
    expect((await run(event('Orders.P', 'Beta', 'SUCCEEDED'), { Mine: [stage('Beta', 'e2', 'Succeeded'), stage('PROD', 'e2', 'Succeeded')], 'Orders.P': passed, Billing_P: passed })).calls).toEqual([]);
    // A named pipeline that does not exist (renamed, another region): stays closed and says so.
    expect(await run(event('Mine', 'Beta', 'SUCCEEDED'), { Mine: waiting, 'Orders.P': passed })).toEqual({ result: 'closed', calls: [['sns', 'publish']] });
  });
});
