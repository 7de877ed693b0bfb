/**
 * What `npm install -g` of the packed tarball gives a user (README: Install from a clone; the
 * same as `npm install -g lambda-cd` once published): installed into a temporary prefix with
 * production dependencies only, `lambda-cd` taken from PREFIX/bin on PATH. A module that only a
 * devDependency provides, or a file missing from `files`, fails here.
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../cli/commands/index.js';
import { PROJECT_ROOT } from './helpers/cli.js';
import { copyExample, tempDir, writeManifest } from './helpers/repo.js';
import { buildExampleWheels, offlinePipEnv } from './helpers/wheels.js';

let prefixBin: string;
let files: string[];
let pipEnv: Record<string, string>;

/** `lambda-cd ARGS` found on PATH, as a user's shell finds it after the install. */
function lambdaCd(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  return execa('lambda-cd', args, { cwd: options.cwd, env: { NO_COLOR: '1', ...options.env, PATH: `${prefixBin}${path.delimiter}${process.env.PATH}` }, reject: false, timeout: 120_000 });
}

beforeAll(async () => {
  const work = await tempDir('lambda-cd-pack-');
  // `npm test` has built build/ already; --ignore-scripts skips `prepare` (a second tsc run).
  const packed = await execa('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: PROJECT_ROOT });
  const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  files = info!.files.map((f) => f.path);

  // The README's `npm install -g lambda-cd-VERSION.tgz`, into a prefix of its own (npm's cache has the lockfile's packages).
  const prefix = path.join(work, 'prefix');
  await execa('npm', ['install', '--global', '--prefix', prefix, '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', path.join(work, info!.filename)], { cwd: work });
  prefixBin = path.join(prefix, 'bin');

  const wheelhouse = path.join(work, 'wheels');
  await buildExampleWheels(wheelhouse);
  pipEnv = offlinePipEnv(wheelhouse);
}, 300_000);

describe('the npm package', () => {
  it('ships the compiled CLI and README, without sources, tests, source maps or the image bundle', () => {
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'build/cli/main.js']));
    expect(files.filter((f) => /\.ts$|\.map$|^test\/|^build\/bundle\/|^docker\/|^examples\//.test(f))).toEqual([]);
  });

  it('prints its version and help, and the help of every command', async () => {
    const version = await lambdaCd(['--version']);
    expect(version.stdout).toBe(JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')).version);
    const help = await lambdaCd(['--help']);
    expect(help.exitCode).toBe(0);
    for (const { name } of COMMANDS) {
      const result = await lambdaCd([...name.split(' '), '--help']);
      expect(result.stderr, name).toBe('');
      expect(result.stdout, name).toContain(`lambda-cd ${name}`);
      expect(result.exitCode, name).toBe(0);
    }
  });

  it('runs check, unit-test, package and create-cf on the example', async () => {
    const repo = await copyExample();
    const check = await lambdaCd(['check', '--strict'], { cwd: repo });
    expect(check.stdout).toContain('HelloPython: app.handler');
    expect(check.exitCode).toBe(0);

    const unit = await lambdaCd(['unit-test'], { cwd: repo, env: pipEnv });
    expect(unit.stdout).toMatch(/\n2 passed, 0 failed$/);
    expect(unit.exitCode).toBe(0);

    const packaged = await lambdaCd(['package'], { cwd: repo, env: pipEnv });
    expect(packaged.exitCode).toBe(0);
    expect(packaged.stdout).toContain(path.join(repo, 'dist/function.zip'));

    const created = await lambdaCd(['create-cf', '--stack', 'Pipe'], { cwd: repo });
    expect(created.exitCode).toBe(0);
    expect(created.stdout).toContain(path.join(repo, 'dist/stackPROD.json'));
  });

  it("ships lambda-cd's 2018 helper library (python/), which a 2018 env.py imports with nothing installed", async () => {
    expect(files).toEqual(expect.arrayContaining(['python/awslambdacontinuousdelivery/tools/__init__.py', 'python/awslambdacontinuousdelivery/tools/iam.py']));
    const repo = await copyExample();
    await writeFile(path.join(repo, 'config/PROD/env.py'), 'from awslambdacontinuousdelivery.tools import alphanum\n\ndef get_env(stage):\n    return {"REF": alphanum("Hello-Python_" + stage)}\n');
    await writeManifest(repo);
    const created = await lambdaCd(['create-cf', '--stack', 'Pipe', '--stage', 'PROD'], { cwd: repo });
    expect(created.exitCode, created.stderr).toBe(0);
    expect(JSON.parse(readFileSync(path.join(repo, 'dist/stackPROD.json'), 'utf8')).Resources.HelloPython.Properties.Environment.Variables).toEqual({ REF: 'HelloPythonPROD' });
  });

  it('runs every command from init to generate pipeline in a subfolder of the new repository, with no --path', async () => {
    const work = await tempDir();
    const init = await lambdaCd(['init', 'orders', '--name', 'Orders', '--stages', 'Gamma,Beta'], { cwd: work });
    expect(init.exitCode, init.stderr).toBe(0);
    const root = path.join(work, 'orders');
    const sub = path.join(root, 'tests', 'unittests');
    const run = async (args: string[], env: Record<string, string> = {}) => {
      const result = await lambdaCd(args, { cwd: sub, env: { LAMBDA_CD_PATH: '', ...env } });
      expect(result.exitCode, `${args.join(' ')}: ${result.stderr}`).toBe(0);
      return result;
    };
    expect((await run(['check'])).stdout).toContain('Orders: app.handler');
    expect((await run(['unit-test'], pipEnv)).stdout).toMatch(/1 passed, 0 failed$/);
    expect(JSON.parse((await run(['package', '--json'], pipEnv)).stdout).sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.parse((await run(['create-cf', '--stack', 'OrdersPipeline', '--json'])).stdout).templates.map((t: { file: string }) => t.file))
      .toEqual(['Gamma', 'Beta', 'PROD'].map((stage) => path.join(root, `dist/stack${stage}.json`)));
    await run(['generate', 'buildspecs']);
    expect(readFileSync(path.join(root, 'buildspecs/buildspec-unittests.yml'), 'utf8')).toContain('lambda-cd unit-test');
    for (const target of ['github-actions', 'gitlab-ci', 'ci-bootstrap']) await run(['generate', target, '--stack', 'OrdersPipeline']);
    const pipeline = JSON.parse((await run(['generate', 'pipeline', '--json'])).stdout);
    expect(pipeline).toMatchObject({ file: path.join(root, 'pipeline.yaml'), stages: ['Gamma', 'Beta', 'PROD'], functionName: 'Orders' });
    expect(readFileSync(pipeline.file, 'utf8')).toContain('AWS::CodePipeline::Pipeline');
    for (const file of ['.github/workflows/lambda-cd.yml', '.gitlab-ci.yml', 'ci-bootstrap.yaml']) expect(existsSync(path.join(root, file)), file).toBe(true);
  });
});
