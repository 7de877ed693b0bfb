/**
 * What `npm install lambda-cd` (and `npx lambda-cd`) gives a user: the packed tarball installed
 * into an empty folder with production dependencies only, every command run from there. A
 * module that only a devDependency provides, or a file missing from `files`, fails here.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../cli/commands/index.js';
import { PROJECT_ROOT } from './helpers/cli.js';
import { copyExample, tempDir } from './helpers/repo.js';
import { buildExampleWheels, offlinePipEnv } from './helpers/wheels.js';

let bin: string;
let files: string[];
let pipEnv: Record<string, string>;

function lambdaCd(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  return execa(bin, args, { cwd: options.cwd, env: { NO_COLOR: '1', ...options.env }, reject: false, timeout: 120_000 });
}

beforeAll(async () => {
  const work = await tempDir('lambda-cd-pack-');
  // `npm test` has built build/ already; --ignore-scripts skips `prepare` (a second tsc run).
  const packed = await execa('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: PROJECT_ROOT });
  const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  files = info!.files.map((f) => f.path);

  const project = path.join(work, 'user-project');
  await execa('mkdir', [project]);
  await writeFile(path.join(project, 'package.json'), '{"name": "user-project", "private": true}\n');
  await execa('npm', ['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock', path.join(work, info!.filename)], { cwd: project });
  bin = path.join(project, 'node_modules/.bin/lambda-cd');

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
    const created = await lambdaCd(['create-cf', '--stack', 'Pipe', '--stage', 'PROD'], { cwd: repo });
    expect(created.exitCode, created.stderr).toBe(0);
    expect(JSON.parse(readFileSync(path.join(repo, 'dist/stackPROD.json'), 'utf8')).Resources.HelloPython.Properties.Environment.Variables).toEqual({ REF: 'HelloPythonPROD' });
  });

  it('runs init, generate buildspecs and generate pipeline', async () => {
    const work = await tempDir();
    const init = await lambdaCd(['init', 'orders', '--name', 'Orders'], { cwd: work });
    expect(init.exitCode).toBe(0);
    const check = await lambdaCd(['check', '--path', 'orders'], { cwd: work });
    expect(check.stdout).toContain('Orders: ');
    expect(check.exitCode).toBe(0);

    const buildspecs = await lambdaCd(['generate', 'buildspecs', '--out', 'specs'], { cwd: work });
    expect(buildspecs.exitCode).toBe(0);
    expect(readFileSync(path.join(work, 'specs/buildspec-unittests.yml'), 'utf8')).toContain('lambda-cd unit-test');
    const pipeline = await lambdaCd(['generate', 'pipeline', '--out', 'pipeline.yaml'], { cwd: work });
    expect(pipeline.exitCode).toBe(0);
    expect(readFileSync(path.join(work, 'pipeline.yaml'), 'utf8')).toContain('AWS::CodePipeline::Pipeline');
  });
});
