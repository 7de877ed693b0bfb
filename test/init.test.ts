import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderBuildspecs } from '../generator/buildspecs.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/repo.js';
import { offlinePipEnv } from './helpers/wheels.js';

describe('lambda-cd init', () => {
  it('writes the repository layout, every stage with an env file, the buildspecs and a .gitignore', async () => {
    const parent = await tempDir();
    const result = await runCli(['init', 'orders', '--stages', 'Gamma,Beta'], { cwd: parent });
    expect(result.exitCode, result.stderr).toBe(0);
    const root = path.join(parent, 'orders');
    const expected = [
      'config/config.yaml', 'config/Gamma/env.yaml', 'config/Beta/env.yaml', 'config/PROD/env.yaml', 'src/app.py', 'requirements.txt',
      'tests/unittests/requirements.txt', 'tests/unittests/test_app.py', 'tests/integrationtests/requirements.txt', 'tests/integrationtests/test_invoke.py',
      '.gitignore', 'buildspecs/buildspec-unittests.yml', 'buildspecs/buildspec-build.yml', 'buildspecs/buildspec-integrationtests.yml',
    ];
    expect(result.stdout.trim().split('\n')).toEqual(expected.map((file) => path.join('orders', file)));
    for (const [file, content] of Object.entries(renderBuildspecs())) expect(readFileSync(path.join(root, 'buildspecs', file), 'utf8')).toBe(content);
    expect(readFileSync(path.join(root, '.gitignore'), 'utf8')).toMatch(/^dist\/$/m);
    expect(readFileSync(path.join(root, '.gitignore'), 'utf8')).toMatch(/^\.lambda-cd\/$/m);

    const check = await runCli(['check', '--path', root, '--strict', '--json']);
    expect(check.exitCode, check.stderr).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({ name: 'orders', stages: [{ name: 'Gamma' }, { name: 'Beta' }, { name: 'PROD' }] });
  });

  it('makes the Name from the folder name when --name is not given', async () => {
    const parent = await tempDir();
    const result = await runCli(['init', 'my function.v2'], { cwd: parent });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(readFileSync(path.join(parent, 'my function.v2/config/config.yaml'), 'utf8')).toMatch(/^Name: my-function-v2$/m);
    const named = await runCli(['init', path.join(parent, 'other'), '--name', 'Orders_2']);
    expect(readFileSync(path.join(parent, 'other/config/config.yaml'), 'utf8')).toMatch(/^Name: Orders_2$/m);
    expect(named.exitCode).toBe(0);
  });

  it('refuses to overwrite: exit 2 naming the first existing file, nothing written; --force overwrites', async () => {
    const root = await tempDir();
    await mkdir(path.join(root, 'src'));
    await writeFile(path.join(root, 'src/app.py'), 'mine = True\n');
    const refused = await runCli(['init', root]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain(`${path.join(root, 'src/app.py')} already exists`);
    expect(existsSync(path.join(root, 'config'))).toBe(false);
    const forced = await runCli(['init', root, '--force']);
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(readFileSync(path.join(root, 'src/app.py'), 'utf8')).toContain('def handler');
  });

  it('rejects a bad --name or --stages (exit 2)', async () => {
    const root = await tempDir();
    const name = await runCli(['init', root, '--name', 'has space']);
    expect(name).toMatchObject({ exitCode: 2 });
    expect(name.stderr).toContain('--name expects letters, digits');
    const stages = await runCli(['init', root, '--stages', 'Gamma,PROD']);
    expect(stages).toMatchObject({ exitCode: 2 });
    expect(existsSync(path.join(root, 'config'))).toBe(false);
  });

  it('the new repository passes unit-test, package and create-cf at once (offline)', async () => {
    const root = path.join(await tempDir(), 'fresh');
    expect((await runCli(['init', root])).exitCode).toBe(0);
    const env = offlinePipEnv(await tempDir('lambda-cd-wheels-'));

    const unit = await runCli(['unit-test', '--path', root], { env });
    expect(unit.exitCode, unit.stderr).toBe(0);
    expect(readFileSync(path.join(root, '.lambda-cd/reports/unit-tests.xml'), 'utf8')).toContain('<testsuite');

    const pkg = await runCli(['package', '--path', root], { env });
    expect(pkg.exitCode, pkg.stderr).toBe(0);
    expect(pkg.stdout).toMatch(/sha256 [0-9a-f]{64}/);

    const cf = await runCli(['create-cf', '--path', root], { env: { ...env, LAMBDA_CD_STACK: 'FreshPipeline' } });
    expect(cf.exitCode, cf.stderr).toBe(0);
    const template = JSON.parse(readFileSync(path.join(root, 'dist/stackGamma.json'), 'utf8'));
    expect(template.Resources.fresh.Properties.FunctionName).toBe('freshGamma');
    expect(existsSync(path.join(root, 'dist/stackPROD.json'))).toBe(true);
    // What the pipeline relies on: the two code-location parameters `publish` fills, and only
    // the resource types its CloudFormation deploy role may create.
    expect(Object.keys(template.Parameters).sort()).toEqual(['S3Key', 'S3Storage']);
    const types = new Set(Object.values(template.Resources as Record<string, { Type: string }>).map((r) => r.Type));
    expect([...types].filter((t) => !['AWS::Lambda::Function', 'AWS::Lambda::Alias', 'AWS::Lambda::Version', 'AWS::IAM::Role', 'AWS::Logs::LogGroup', 'AWS::Lambda::Permission',
      'AWS::CodeDeploy::Application', 'AWS::CodeDeploy::DeploymentGroup', 'AWS::CloudWatch::Alarm'].includes(t))).toEqual([]);
  });
});
