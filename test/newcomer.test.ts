/**
 * The path a newcomer walks (#18): commands find the repository from any subfolder, --stage is
 * checked against the repository before AWS hears of it, generate pipeline reads config.yaml,
 * every command that produces a result has --json, and the messages say what happened.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadYaml } from '../generator/cfn-yaml.js';
import { runCli, PROJECT_ROOT } from './helpers/cli.js';
import { makeRepo, tempDir, writeFiles, writeManifest } from './helpers/repo.js';

type Doc = Record<string, any>;

/** A repository with stages Gamma, Beta (+ PROD) and a deep subfolder to run commands from. */
async function stagedRepo(): Promise<{ root: string; deep: string }> {
  const root = await makeRepo({
    'config/config.yaml': 'Name: Orders\nHandler: app.handler\nRuntime: python3.13\nStages: [Gamma, Beta]\n',
    'config/Gamma/env.yaml': '',
    'config/Beta/env.yaml': '',
  });
  const deep = path.join(root, 'src', 'orders', 'deep');
  await mkdir(deep, { recursive: true });
  return { root, deep };
}

/**
 * An AWS endpoint that records every request and answers `status` with no body (what S3's HEAD,
 * or a proxy in front of S3, sends): real HTTP for the real SDK.
 */
async function recordingEndpoint(status: number): Promise<{ url: string; requests: string[]; server: Server }> {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    request.resume();
    request.on('end', () => {
      response.writeHead(status, { 'content-length': '0' });
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, server };
}

const AWS_ENV = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1', AWS_PROFILE: undefined, LAMBDA_CD_PATH: undefined };

describe('repository discovery', () => {
  it('every repository command run from a subfolder works on the nearest config/config.yaml above it', async () => {
    const { root, deep } = await stagedRepo();
    const check = await runCli(['check', '--json'], { cwd: deep });
    expect(check.exitCode, check.stderr).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({ name: 'Orders', stages: [{ name: 'Gamma' }, { name: 'Beta' }, { name: 'PROD' }] });

    await writeManifest(root);
    const created = await runCli(['create-cf', '--stack', 'Pipe', '--json'], { cwd: deep });
    expect(created.exitCode, created.stderr).toBe(0);
    const result = JSON.parse(created.stdout);
    expect(result).toEqual({
      stack: 'Pipe', format: 'json', zipSha256: 'a'.repeat(64),
      templates: ['Gamma', 'Beta', 'PROD'].map((stage) => ({ stage, file: path.join(root, `dist/stack${stage}.json`) })),
    });
    for (const { file } of result.templates) expect(existsSync(file)).toBe(true);
    // Progress stays on stderr: stdout is only the JSON (parsed above).
    expect(created.stderr).toContain('[create-cf]');
  });

  it('outside any repository: exit 2, one line naming the folder searched from and what to do', async () => {
    const empty = await tempDir();
    for (const args of [['check'], ['unit-test'], ['package'], ['create-cf', '--stack', 'P'], ['deploy', '--stack', 'P', '--stage', 'Gamma'], ['generate', 'github-actions', '--stack', 'P']]) {
      const result = await runCli(args, { cwd: empty, env: { LAMBDA_CD_PATH: undefined } });
      expect(result.exitCode, args.join(' ')).toBe(2);
      expect(result.stderr.trim().split('\n'), args.join(' ')).toEqual([
        `lambda-cd: error: no function repository here: no config/config.yaml (or lambda-cd.yaml) in ${empty} or any folder above it (run the command inside a repository, give --path DIR, or create one with lambda-cd init)`,
      ]);
    }
  });

  it('--path (and LAMBDA_CD_PATH) wins over discovery; the nearest repository wins over an enclosing one', async () => {
    const { root, deep } = await stagedRepo();
    const other = await makeRepo({ 'config/config.yaml': 'Name: Other\nHandler: app.handler\n' });
    const given = await runCli(['check', '--path', other, '--json'], { cwd: deep });
    expect(JSON.parse(given.stdout).name).toBe('Other');
    const fromEnv = await runCli(['check', '--json'], { cwd: deep, env: { LAMBDA_CD_PATH: other } });
    expect(JSON.parse(fromEnv.stdout).name).toBe('Other');
    // A repository nested in another (a monorepo folder): commands inside it find the inner one.
    const inner = path.join(root, 'services', 'billing');
    const init = await runCli(['init', inner, '--name', 'Billing', '--json'], { cwd: root });
    expect(init.exitCode, init.stderr).toBe(0);
    expect(init.stderr).toContain(`lies inside the function repository ${root}`);
    const nested = await runCli(['check', '--json'], { cwd: path.join(inner, 'src') });
    expect(JSON.parse(nested.stdout).name).toBe('Billing');
  });

  it('init never walks up: run in a subfolder of a repository it creates the new one right there', async () => {
    const { root, deep } = await stagedRepo();
    const result = await runCli(['init', '--name', 'Deep', '--json'], { cwd: deep });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).root).toBe(deep);
    expect(readFileSync(path.join(root, 'config/config.yaml'), 'utf8')).toContain('Name: Orders');
  });

  it('a config/config.yaml that is not a file still marks the repository (its error is named, no skipping to a parent)', async () => {
    const { root } = await stagedRepo();
    const inner = path.join(root, 'inner');
    await mkdir(path.join(inner, 'config', 'config.yaml'), { recursive: true });
    const result = await runCli(['check'], { cwd: inner });
    expect(result.exitCode).toBe(2);
    // Named relative to where the user stands: inner's own config/config.yaml, not the enclosing one.
    expect(result.stderr.trim()).toMatch(/^lambda-cd: error: config\/config\.yaml: /);
    expect(result.stderr).not.toContain('Orders');
  });
});

describe('--stage of a stage the repository lacks', () => {
  let endpoint: Awaited<ReturnType<typeof recordingEndpoint>>;
  beforeAll(async () => {
    endpoint = await recordingEndpoint(500);
  });
  afterAll(() => endpoint.server.close());

  it('deploy, integration-test and rollback list the stages and exit 2 before any AWS call', async () => {
    const { deep } = await stagedRepo();
    const env = { ...AWS_ENV, AWS_ENDPOINT_URL: endpoint.url };
    for (const command of ['deploy', 'integration-test', 'rollback']) {
      const result = await runCli([command, '--stack', 'Pipe', '--stage', 'gama'], { cwd: deep, env });
      expect(result.exitCode, `${command}: ${result.stderr}`).toBe(2);
      expect(result.stderr.trim(), command).toMatch(new RegExp(`^lambda-cd: error: ${command}: --stage expects one of the repository's stages Gamma, Beta, PROD \\(the folders in config/\\), found "gama"; did you mean Gamma\\?$`));
    }
    // The same through the pipeline's variable.
    const viaEnv = await runCli(['deploy', '--stack', 'Pipe'], { cwd: deep, env: { ...env, LAMBDA_CD_STAGE: 'Staging' } });
    expect(viaEnv.exitCode).toBe(2);
    expect(viaEnv.stderr).toContain("one of the repository's stages Gamma, Beta, PROD");
    expect(endpoint.requests).toEqual([]);
  });

  it('rollback outside a repository checks nothing and goes to AWS (it needs no repository)', async () => {
    const empty = await tempDir();
    const result = await runCli(['rollback', '--stack', 'Pipe', '--stage', 'Whatever'], { cwd: empty, env: { ...AWS_ENV, AWS_ENDPOINT_URL: endpoint.url, LAMBDA_CD_AWS_TIMEOUT: '5' } });
    expect(result.exitCode).toBe(3);
    expect(endpoint.requests.length).toBeGreaterThan(0);
  });
});

describe('generate pipeline reads config/config.yaml', () => {
  it('takes the stages, the FunctionName default and the image variant of the Runtime from the repository', async () => {
    const { root, deep } = await stagedRepo();
    const result = await runCli(['generate', 'pipeline', '--json'], { cwd: deep });
    expect(result.exitCode, result.stderr).toBe(0);
    const { version } = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
    const image = `public.ecr.aws/lambda-cd/lambda-cd:${version}-python3.13`;
    expect(JSON.parse(result.stdout)).toEqual({ file: path.join(root, 'pipeline.yaml'), stages: ['Gamma', 'Beta', 'PROD'], functionName: 'Orders', image });
    const doc = loadYaml(readFileSync(path.join(root, 'pipeline.yaml'), 'utf8')) as Doc;
    expect(doc.Resources.Pipeline.Properties.Stages.map((s: Doc) => s.Name)).toEqual(['Source', 'Unittests', 'Build', 'Gamma', 'Beta', 'PROD']);
    expect(doc.Parameters.FunctionName.Default).toBe('Orders');
    expect(doc.Parameters.ImageUri.Default).toBe(image);
  });

  it('--stages or --name that differ from the repository are exit 2 naming both values; the same values pass', async () => {
    const { deep } = await stagedRepo();
    const out = path.join(await tempDir(), 'p.yaml');
    const stages = await runCli(['generate', 'pipeline', '--stages', 'Gamma', '--out', out], { cwd: deep });
    expect(stages.exitCode).toBe(2);
    expect(stages.stderr).toMatch(/--stages Gamma differs from the stages of .*config\/config\.yaml \(Gamma,Beta\)/);
    const name = await runCli(['generate', 'pipeline', '--name', 'Billing', '--out', out], { cwd: deep });
    expect(name.exitCode).toBe(2);
    expect(name.stderr).toContain('--name Billing differs from Name in');
    expect(name.stderr).toContain('(Orders)');
    expect(existsSync(out)).toBe(false);
    const same = await runCli(['generate', 'pipeline', '--stages', 'Gamma,Beta', '--name', 'Orders', '--out', out], { cwd: deep });
    expect(same.exitCode, same.stderr).toBe(0);
  });

  it('outside a repository: --stages (default Gamma, with a note), no FunctionName default, the plain image', async () => {
    const empty = await tempDir();
    const result = await runCli(['generate', 'pipeline', '--json'], { cwd: empty });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toContain('no config/config.yaml in');
    const parsed = JSON.parse(result.stdout);
    expect(parsed).toMatchObject({ file: path.join(empty, 'pipeline.yaml'), stages: ['Gamma', 'PROD'], functionName: null });
    expect(parsed.image).toMatch(/lambda-cd:\d+\.\d+\.\d+[^-]*$/);
    const doc = loadYaml(readFileSync(parsed.file, 'utf8')) as Doc;
    expect(doc.Parameters.FunctionName.Default).toBeUndefined();
  });
});

describe('--json on every command that produces a result', () => {
  it('init, generate buildspecs, github-actions, gitlab-ci and ci-bootstrap print the paths they wrote, and nothing else on stdout', async () => {
    const work = await tempDir();
    const init = await runCli(['init', 'orders', '--stages', 'Gamma', '--json'], { cwd: work });
    expect(init.exitCode, init.stderr).toBe(0);
    const root = path.join(work, 'orders');
    const written = JSON.parse(init.stdout);
    expect(written).toMatchObject({ name: 'orders', root, stages: ['Gamma', 'PROD'] });
    expect(written.files).toContain(path.join(root, 'config/config.yaml'));
    for (const file of written.files) expect(existsSync(file), file).toBe(true);

    const sub = path.join(root, 'src');
    const buildspecs = JSON.parse((await runCli(['generate', 'buildspecs', '--json'], { cwd: sub })).stdout);
    expect(buildspecs.files).toEqual(['unittests', 'build', 'integrationtests'].map((step) => path.join(root, `buildspecs/buildspec-${step}.yml`)));
    for (const [args, file] of [
      [['generate', 'github-actions', '--stack', 'OrdersPipeline'], '.github/workflows/lambda-cd.yml'],
      [['generate', 'gitlab-ci', '--stack', 'OrdersPipeline'], '.gitlab-ci.yml'],
      [['generate', 'ci-bootstrap', '--stack', 'OrdersPipeline'], 'ci-bootstrap.yaml'],
    ] as const) {
      const result = await runCli([...args, '--json'], { cwd: sub });
      expect(result.exitCode, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout), args.join(' ')).toEqual({ file: path.join(root, file) });
      expect(existsSync(path.join(root, file))).toBe(true);
    }
  });
});

describe('honest messages', () => {
  it("S3's 403 without an error body is Forbidden, with the bucket, not UnknownError (exit 3)", async () => {
    const forbidden = await recordingEndpoint(403);
    try {
      const root = await makeRepo();
      await writeFiles(root, { 'dist/function.zip': 'not really a zip' });
      const result = await runCli(['publish', '--bucket', 'team-artifacts'], { cwd: path.join(root, 'src'), env: { ...AWS_ENV, AWS_ENDPOINT_URL: forbidden.url } });
      expect(result.exitCode).toBe(3);
      const error = result.stderr.trim().split('\n').at(-1)!;
      expect(error).toMatch(/^lambda-cd: error: publish: s3:\/\/team-artifacts\/lambda-cd\/Demo\/[0-9a-f]{64}\.zip: Forbidden \(HTTP 403\): the credentials in use may not do this/);
      expect(error).not.toMatch(/Unknown/);
      expect(forbidden.requests.some((request) => request.startsWith('PUT /team-artifacts/'))).toBe(true);
    } finally {
      forbidden.server.close();
    }
  });

  it('a named profile that does not exist is one line naming it (exit 3), for publish as for deploy', async () => {
    const root = await makeRepo();
    await writeFiles(root, { 'dist/function.zip': 'x' });
    const home = await tempDir();
    await writeFile(path.join(home, 'config'), '[profile real]\nregion = eu-west-1\n');
    const env = { ...AWS_ENV, AWS_CONFIG_FILE: path.join(home, 'config'), AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'credentials'), AWS_ENDPOINT_URL: 'http://127.0.0.1:9' };
    const result = await runCli(['publish', '--bucket', 'b', '--profile', 'typo-profile'], { cwd: root, env });
    expect(result.exitCode).toBe(3);
    const lines = result.stderr.trim().split('\n').filter((line) => line.startsWith('lambda-cd: error:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('AWS profile "typo-profile" not found or unusable');
  });

  it('package --help speaks of no tests; the test runners\' help does', async () => {
    const help = await runCli(['package', '--help']);
    expect(help.stdout).not.toMatch(/\btests?\b/i);
    expect((await runCli(['unit-test', '--help'])).stdout).toContain('1 tests failed');
  });

  it("README's list of what init writes is what init writes", async () => {
    const readme = readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
    const block = /<!-- init-files -->\n *```\n([\s\S]*?)\n *```/.exec(readme);
    expect(block, 'README: the ``` block after <!-- init-files -->').not.toBeNull();
    const documented = block![1]!.split('\n').map((line) => line.trim().split(/\s+/)[0]!).sort();
    const work = await tempDir();
    const init = await runCli(['init', 'orders', '--stages', 'Gamma', '--json'], { cwd: work });
    const root = path.join(work, 'orders');
    expect(documented).toEqual((JSON.parse(init.stdout).files as string[]).map((file) => path.relative(root, file)).sort());
  });

  it('a symlinked subfolder still finds its repository (discovery follows the path as given)', async () => {
    const { root } = await stagedRepo();
    const elsewhere = await tempDir();
    const link = path.join(elsewhere, 'link');
    await symlink(path.join(root, 'src'), link);
    const result = await runCli(['check', '--json'], { cwd: link });
    expect(JSON.parse(result.stdout).name).toBe('Orders');
  });
});
