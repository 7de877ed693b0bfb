import { mkdir, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRepository, stageSettings } from '../lib/contract.js';
import { EXAMPLE, runCli } from './helpers/cli.js';
import { makeRepo, tempDir, writeFiles } from './helpers/repo.js';

async function check(root: string, ...extra: string[]) {
  return runCli(['check', '--path', root, '--json', ...extra]);
}

describe('repository contract: valid repositories', () => {
  it('reads the bundled example with its stages in order and PROD last', async () => {
    const result = await check(EXAMPLE, '--strict');
    expect(result.exitCode).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ name: 'HelloPython', handler: 'app.handler', runtime: 'python3.12', architecture: 'x86_64' });
    expect(summary.stages.map((s: { name: string }) => s.name)).toEqual(['Gamma', 'PROD']);
    expect(summary.unittests).toEqual({ folder: 'tests/unittests', runner: 'script', files: ['tests/unittests/test_handler.py', 'tests/unittests/test_weekday.py'] });
  });

  it('applies defaults: python3.12, x86_64, 128 MB, 60 s, alphabetical stages before PROD', async () => {
    const root = await makeRepo({ 'config/Zeta/.keep': '', 'config/Alpha/.keep': '' });
    const config = loadRepository(root);
    expect(config.runtime).toBe('python3.12');
    expect(config.architecture).toBe('x86_64');
    expect(config.settings.memorySize).toBe(128);
    expect(config.settings.timeout).toBe(60);
    expect(config.stages).toEqual(['Alpha', 'Zeta', 'PROD']);
    expect(config.warnings).toEqual([]);
  });

  it('orders stages by the Stages list and applies StageOverrides', async () => {
    const root = await makeRepo({
      'config/config.yaml': 'Name: Demo\nHandler: app.handler\nStages: [Zeta, Alpha]\nMemorySize: 256\nStageOverrides:\n  PROD:\n    MemorySize: 1024\n    Tags: {team: core}\n',
      'config/Zeta/.keep': '',
      'config/Alpha/.keep': '',
    });
    const config = loadRepository(root);
    expect(config.stages).toEqual(['Zeta', 'Alpha', 'PROD']);
    expect(stageSettings(config, 'Alpha').memorySize).toBe(256);
    expect(stageSettings(config, 'PROD')).toMatchObject({ memorySize: 1024, tags: { team: 'core' } });
  });

  it('accepts a 2018-style repository: plain Unittests string, Memory, TestFolder, env.py and iam.py', async () => {
    const root = await makeRepo({
      'config/config.yaml': 'Name: legacy_fn\nHandler: lambda_function.lambda_handler\nMemory: 256\nTimeout: 10\nUnittests: tests/unittests\nTestFolder: test\n',
      'src/lambda_function.py': 'def lambda_handler(event, context):\n    return 1\n',
      'tests/unittests/test_a.py': 'pass\n',
      'test/test_integration.py': 'import sys\nprint(sys.argv[1])\n',
      'config/Gamma/env.py': 'def get_env():\n    return {}\n',
      'config/Gamma/iam.py': 'def get_iam(ref_name):\n    return {}\n',
      'config/PROD/env.py': 'def get_env():\n    return {}\n',
    });
    const result = await check(root);
    expect(result.exitCode).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary.stages[0].settings.memorySize).toBe(256);
    expect(summary.unittests.folder).toBe('tests/unittests');
    expect(summary.integrationtests.folder).toBe('test');
    expect(result.stderr).toContain('config/config.yaml:3:1: Memory: old key from the 2018 system, read as MemorySize');
    expect(result.stderr).toContain('TestFolder: old key from the 2018 system, read as Integrationtests');
  });

  it('accepts a module path handler (pkg/mod.handler) and a {Folder, Files} suite', async () => {
    const root = await makeRepo({
      'config/config.yaml': 'Name: Demo\nHandler: pkg/mod.handler\nUnittests:\n  Folder: tests/unit\n  Files: [test_b.py]\n  Runner: pytest\n',
      'src/pkg/mod.py': 'def handler(e, c):\n    pass\n',
      'tests/unit/test_b.py': 'pass\n',
    });
    const config = loadRepository(root);
    expect(config.handlerFile).toBe('src/pkg/mod.py');
    expect(config.unittests).toMatchObject({ folder: 'tests/unit', files: ['test_b.py'], runner: 'pytest' });
  });

  it('warns about an unknown key with the closest known one, and --strict makes it an error', async () => {
    const root = await makeRepo({ 'config/config.yaml': 'Name: Demo\nHandler: app.handler\nTimout: 30\n' });
    const lenient = await check(root);
    expect(lenient.exitCode).toBe(0);
    expect(lenient.stderr).toContain('config/config.yaml:3:1: Timout: unknown key; did you mean Timeout?');
    const strict = await check(root, '--strict');
    expect(strict.exitCode).toBe(2);
    expect(strict.stderr).toContain('Timout: unknown key; did you mean Timeout? (--strict makes warnings errors)');
  });
});

describe('repository contract: bad input is one line naming file, key, expected and found, exit 2', () => {
  const cases: [string, Record<string, string>, RegExp][] = [
    ['missing config.yaml', { 'config/config.yaml': '' }, /config\/config\.yaml: expected a mapping with at least Name and Handler, found an empty file/],
    ['YAML syntax error', { 'config/config.yaml': 'Name: Demo\nHandler: [app.handler\n' }, /config\/config\.yaml:3:1: YAML syntax error: /],
    ['a list instead of a mapping', { 'config/config.yaml': '- Name\n- Handler\n' }, /config\/config\.yaml: expected a mapping of keys \(Name: \.\.\., Handler: \.\.\.\), found a list/],
    ['missing Name', { 'config/config.yaml': 'Handler: app.handler\n' }, /config\/config\.yaml: Name: required key is missing/],
    ['missing Handler', { 'config/config.yaml': 'Name: Demo\n' }, /config\/config\.yaml: Handler: required key is missing/],
    ['Name that YAML reads as a number', { 'config/config.yaml': 'Name: 2048\nHandler: app.handler\n' }, /config\/config\.yaml:1:1: Name: expected a non-empty text, found number 2048; quote it: Name: "2048"/],
    ['Name with bad characters', { 'config/config.yaml': 'Name: my function\nHandler: app.handler\n' }, /config\/config\.yaml:1:1: Name: expected letters, digits, '-' or '_', found "my function"/],
    ['Name too long for Name+Stage', { 'config/config.yaml': `Name: ${'A'.repeat(62)}\nHandler: app.handler\n` }, /Name: expected at most 60 characters so that the function name Name\+Stage .* fits Lambda's 64, found 62/],
    ['Handler without a function', { 'config/config.yaml': 'Name: Demo\nHandler: app\n' }, /config\/config\.yaml:2:1: Handler: expected module\.function .*found "app"/],
    ['handler module not in src/', { 'config/config.yaml': 'Name: Demo\nHandler: main.handler\n' }, /Handler: expected the module file src\/main\.py to exist .*found no such file/],
    ['MemorySize out of range', { 'config/config.yaml': 'Name: Demo\nHandler: app.handler\nMemorySize: 64\n' }, /config\/config\.yaml:3:1: MemorySize: expected a whole number from 128 to 10240, found number 64/],
    ['Timeout out of range', { 'config/config.yaml': 'Name: Demo\nHandler: app.handler\nTimeout: 901\n' }, /config\/config\.yaml:3:1: Timeout: expected a whole number from 1 to 900, found number 901/],
    ['Timeout not a number', { 'config/config.yaml': 'Name: Demo\nHandler: app.handler\nTimeout: soon\n' }, /Timeout: expected a whole number from 1 to 900, found text "soon"/],
    ['unknown runtime', { 'config/config.yaml': 'Name: Demo\nHandler: app.handler\nRuntime: python3.6\n' }, /config\/config\.yaml:3:1: Runtime: expected a Python runtime Lambda supports \(python3\.10, .*\), found "python3\.6"/],
    ['unknown architecture', { 'config/config.yaml': 'Name: Demo\nHandler: app.handler\nArchitecture: arm\n' }, /Architecture: expected one of x86_64, arm64, found text "arm"; did you mean arm64\?/],
    ['Files entry that does not exist', { 'config/config.yaml': 'Name: Demo\nHandler: app.handler\nUnittests:\n  Folder: tests\n  Files: [test_missing.py]\n', 'tests/test_a.py': '' }, /config\/config\.yaml:5:1: Unittests\.Files: expected tests\/test_missing\.py to exist, found no such file/],
    ['test folder escaping the repository', { 'config/config.yaml': 'Name: Demo\nHandler: app.handler\nUnittests: ../elsewhere\n' }, /Unittests: expected a folder inside the repository, found "\.\.\/elsewhere": a path that leaves the repository/],
    ['absolute test folder', { 'config/config.yaml': 'Name: Demo\nHandler: app.handler\nIntegrationtests: /tmp\n' }, /Integrationtests: expected a folder inside the repository, found "\/tmp": an absolute path/],
    ['test folder that does not exist', { 'config/config.yaml': 'Name: Demo\nHandler: app.handler\nUnittests: tests/nothing\n' }, /Unittests: expected the test folder "tests\/nothing" to exist, found nothing there/],
    ['Stages naming a missing folder', { 'config/config.yaml': 'Name: Demo\nHandler: app.handler\nStages: [Gama]\n', 'config/Gamma/.keep': '' }, /Stages: expected a folder config\/Gama\/ for listed stage Gama, found none; did you mean Gamma\?/],
    ['PROD not last in Stages', { 'config/config.yaml': 'Name: Demo\nHandler: app.handler\nStages: [PROD, Gamma]\n', 'config/Gamma/.keep': '' }, /Stages: expected PROD last .*found it at position 1/],
    ['LogRetentionInDays not accepted by CloudWatch', { 'config/config.yaml': 'Name: Demo\nHandler: app.handler\nLogRetentionInDays: 10\n' }, /LogRetentionInDays: expected one of 1, 3, 5, 7, 14, .*found 10/],
    ['Vpc with a malformed subnet id', { 'config/config.yaml': 'Name: Demo\nHandler: app.handler\nVpc:\n  SubnetIds: [subnet-1]\n  SecurityGroupIds: [sg-0123456789abcdef0]\n' }, /Vpc\.SubnetIds: expected a non-empty list of subnet-\.\.\. ids \(subnet- and 8 or 17 hex digits\), found a list \(\["subnet-1"\]\)/],
    ['Vpc without security groups', { 'config/config.yaml': 'Name: Demo\nHandler: app.handler\nVpc:\n  SubnetIds: [subnet-0123abcd]\n' }, /config\/config\.yaml:3:1: Vpc\.SecurityGroupIds: expected a non-empty list of sg-\.\.\. ids \(sg- and 8 or 17 hex digits\), found nothing/],
    ['StageOverrides for an unknown stage', { 'config/config.yaml': 'Name: Demo\nHandler: app.handler\nStageOverrides:\n  Prod: {MemorySize: 512}\n' }, /StageOverrides\.Prod: expected a stage \(PROD\), found "Prod"; did you mean PROD\?/],
    ['unknown test runner', { 'config/config.yaml': 'Name: Demo\nHandler: app.handler\nUnittests: {Folder: tests, Runner: nose}\n', 'tests/t.py': '' }, /Unittests\.Runner: expected one of script, pytest, unittest, found text "nose"/],
  ];

  for (const [title, files, message] of cases) {
    it(title, async () => {
      const root = await makeRepo(files);
      const result = await check(root);
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.exitCode).toBe(2);
      expect(result.stdout).toBe('');
    });
  }

  it('no config/config.yaml at all', async () => {
    const root = await tempDir();
    const result = await check(root);
    expect(result.stderr).toMatch(/config\/config\.yaml: file not found; expected the repository's config/);
    expect(result.exitCode).toBe(2);
  });

  it('missing PROD stage folder', async () => {
    const root = await makeRepo({ 'config/Gamma/.keep': '' });
    await rm(path.join(root, 'config', 'PROD'), { recursive: true });
    const result = await check(root);
    expect(result.stderr).toMatch(/config\/: expected a stage folder PROD\/ \(PROD always exists and is the last stage\), found Gamma\//);
    expect(result.exitCode).toBe(2);
  });

  it('a --path that does not exist', async () => {
    const result = await check('/nonexistent/repo');
    expect(result.stderr).toMatch(/\/nonexistent\/repo: expected a function repository folder, found nothing \(--path\)/);
    expect(result.exitCode).toBe(2);
  });

  it('a test folder that is a symlink out of the repository', async () => {
    const outside = await tempDir();
    const root = await makeRepo({ 'config/config.yaml': 'Name: Demo\nHandler: app.handler\nUnittests: tests\n' });
    await symlink(outside, path.join(root, 'tests'));
    const result = await check(root);
    expect(result.stderr).toMatch(/Unittests: expected a folder inside the repository, found "tests": a symlink that leads outside the repository/);
    expect(result.exitCode).toBe(2);
  });

  it('a stage folder whose name cannot be part of a function name', async () => {
    const root = await makeRepo();
    await mkdir(path.join(root, 'config', 'pre-prod'));
    const result = await check(root);
    expect(result.stderr).toMatch(/config\/pre-prod: expected a stage name of letters and digits .*found "pre-prod"/);
    expect(result.exitCode).toBe(2);
  });

  it('writeFiles helper keeps repositories independent', async () => {
    const root = await makeRepo();
    await writeFiles(root, { 'config/Beta/.keep': '' });
    expect(loadRepository(root).stages).toEqual(['Beta', 'PROD']);
  });
});
