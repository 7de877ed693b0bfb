/**
 * Hostile and broken configuration (#12): nothing silently lost, one line naming the file and
 * key (exit 2), control characters escaped, alias bombs refused, warnings linear in the keys.
 * Everything through the CLI, as a user (or an attacker with push access) would meet it.
 */
import { chmod, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { CLI, runCli, type CliResult } from './helpers/cli.js';
import { makeRepo, tempDir } from './helpers/repo.js';

const check = (root: string, ...extra: string[]) => runCli(['check', '--path', root, '--json', ...extra]);
const createCf = (root: string, ...extra: string[]) => runCli(['create-cf', '--path', root, '--stack', 'Pipe', ...extra], { cwd: root });

/** The one error line, exit 2, and nothing written to dist/. */
function expectConfigError(result: CliResult, root: string, message: string | RegExp): void {
  const lines = result.stderr.trim().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^lambda-cd: error: /);
  if (typeof message === 'string') expect(lines[0]).toContain(message);
  else expect(lines[0]).toMatch(message);
  expect(result.exitCode).toBe(2);
  expect(existsSync(path.join(root, 'dist'))).toBe(false);
}

/** Runs the CLI as an unprivileged user when we are root (root reads any file, so "unreadable" needs another user). */
async function runUnprivileged(args: string[], root: string): Promise<CliResult> {
  if (process.getuid?.() !== 0) return runCli(args, { cwd: root });
  // The user must reach the repository: mkdtemp makes its folders private.
  for (let dir = root; dir !== path.dirname(dir) && dir.startsWith(path.dirname(path.dirname(root))); dir = path.dirname(dir)) await chmod(dir, 0o755);
  const result = await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, ...args], { cwd: root, env: { NO_COLOR: '1', HOME: '/tmp' }, reject: false });
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** The classic "billion laughs": ten levels of nine aliases each, a few hundred bytes. */
function aliasBomb(key = 'Tags'): string {
  const lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
  for (let i = 1; i <= 9; i++) lines.push(`a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]`);
  return `${lines.join('\n')}\n${key}: *a9\n`;
}

describe('stage folders that are symlinks: followed inside the repository, refused outside, never skipped', () => {
  it('a stage folder linked to a folder inside the repository is a stage, with its files', async () => {
    const root = await makeRepo({ 'stages/gamma/env.yaml': 'FROM_LINK: "yes"\n' });
    await symlink('../stages/gamma', path.join(root, 'config/Gamma'));
    const result = await check(root);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).stages.map((s: { name: string }) => s.name)).toEqual(['Gamma', 'PROD']);
    const cf = await createCf(root);
    expect(cf.exitCode, cf.stderr).toBe(0);
    const template = JSON.parse(readFileSync(path.join(root, 'dist/stackGamma.json'), 'utf8'));
    expect(template.Resources.Demo.Properties.Environment.Variables).toEqual({ FROM_LINK: 'yes' });
  });

  it('a stage folder linked outside the repository is exit 2 naming it (the issue\'s example)', async () => {
    const root = await makeRepo();
    const outside = await tempDir();
    await writeFile(path.join(outside, 'env.yaml'), 'SECRET_THING: hunter2\n');
    await symlink(outside, path.join(root, 'config/Gamma'));
    const result = await check(root);
    expectConfigError(result, root, /config\/Gamma: a symlink that leads outside the repository \(to .*\); a stage folder must be inside it/);
    expect(result.stderr).not.toContain('hunter2');
  });

  it('variant: PROD itself linked outside, and a link to nothing, are refused too', async () => {
    const root = await makeRepo();
    const outside = await tempDir();
    const prodLinked = await makeRepo();
    await execa('rm', ['-r', path.join(prodLinked, 'config/PROD')]);
    await symlink(outside, path.join(prodLinked, 'config/PROD'));
    expectConfigError(await check(prodLinked), prodLinked, /config\/PROD: a symlink that leads outside the repository/);

    await symlink(path.join(root, 'no-such-folder'), path.join(root, 'config/Beta'));
    expectConfigError(await check(root), root, 'config/Beta: a symlink to nothing (or a symlink loop); expected a stage folder');
  });

  it('a stage file linked to a host file is refused, and its content never printed', async () => {
    const root = await makeRepo();
    const outside = await tempDir();
    await writeFile(path.join(outside, 'credentials'), 'aws_secret_access_key = hunter2hunter2\n');
    await symlink(path.join(outside, 'credentials'), path.join(root, 'config/PROD/env.yaml'));
    const result = await createCf(root);
    expectConfigError(result, root, /config\/PROD\/env\.yaml: expected a file inside the repository, found a symlink that leads outside the repository/);
    expect(result.stderr).not.toContain('hunter2');
  });

  it('a stage file that is a dangling link is refused rather than read as "no file"', async () => {
    const root = await makeRepo();
    await symlink('missing-env.yaml', path.join(root, 'config/PROD/env.yaml'));
    expectConfigError(await createCf(root), root, "config/PROD/env.yaml: a symlink to nothing; expected the stage's file, or no entry of that name");
  });
});

describe('configuration files that cannot be read: exit 2 naming the file', () => {
  it('stages that differ only in case (Gamma and gamma) are exit 2 naming both', async () => {
    const root = await makeRepo({ 'config/Gamma/.keep': '', 'config/gamma/.keep': '' });
    expectConfigError(await check(root), root, 'config/: stage folders Gamma/ and gamma/ differ only in case');
    // Variant: with a Stages list that names both.
    const listed = await makeRepo({ 'config/config.yaml': 'Name: Demo\nHandler: app.handler\nStages: [BETA, Beta]\n', 'config/BETA/.keep': '', 'config/Beta/.keep': '' });
    expectConfigError(await check(listed), listed, /config\/: stage folders (BETA\/ and Beta\/|Beta\/ and BETA\/) differ only in case/);
  });

  it('config.yaml that is a folder', async () => {
    const root = await makeRepo();
    await execa('rm', [path.join(root, 'config/config.yaml')]);
    await mkdir(path.join(root, 'config/config.yaml'));
    expectConfigError(await check(root), root, /config\/config\.yaml: cannot read it \(a folder, not a file\); expected the repository's config file \(Name, Handler, \.\.\.\)$/);
  });

  it('variant: config/ linked outside the repository', async () => {
    const root = await makeRepo();
    const elsewhere = await makeRepo();
    await execa('rm', ['-r', path.join(root, 'config')]);
    await symlink(path.join(elsewhere, 'config'), path.join(root, 'config'));
    expectConfigError(await check(root), root, /config: expected it inside the repository, found a symlink that leads outside the repository/);
  });

  it('an env or iam file that is a folder', async () => {
    const root = await makeRepo();
    await mkdir(path.join(root, 'config/PROD/iam.yaml'));
    expectConfigError(await createCf(root), root, "config/PROD/iam.yaml: cannot read it (a folder, not a file); expected the stage's file");
  });

  it.each([
    ['config/config.yaml', 'check'],
    ['config/PROD/env.yaml', 'create-cf'],
    ['config/PROD/iam.json', 'create-cf'],
    ['config/PROD/env.py', 'create-cf'],
  ])('an unreadable %s (%s)', async (file, command) => {
    const files: Record<string, string> = {
      'config/PROD/env.yaml': 'A1: "x"\n', 'config/PROD/iam.json': '{"ManagedPolicyArns": ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"]}', 'config/PROD/env.py': 'def get_env():\n    return {}\n',
    };
    const root = await makeRepo(file === 'config/config.yaml' ? {} : { [file]: files[file]! });
    await chmod(path.join(root, file), 0o000);
    const args = command === 'check' ? ['check', '--path', root] : ['create-cf', '--path', root, '--stack', 'Pipe'];
    const result = await runUnprivileged(args, root);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(new RegExp(`lambda-cd: error: .*${file.replace(/[.]/g, '\\.')}: cannot read it \\(permission denied\\)`));
    expect(result.exitCode).toBe(2);
    expect(existsSync(path.join(root, 'dist'))).toBe(false);
  });
});

describe('tags CloudFormation would reject: exit 2 naming the key', () => {
  const tags = (count: number, prefix = 'k') => Object.fromEntries(Array.from({ length: count }, (_, i) => [`${prefix}${i}`, 'v']));
  const config = (extra: object) => yaml.dump({ Name: 'Demo', Handler: 'app.handler', ...extra }, { lineWidth: -1 });

  it.each([
    ['more than 50 (49 with lambda-cd:stage)', { Tags: tags(50) }, /config\.yaml:3:1: Tags: expected at most 49 tags \(CloudFormation allows 50 per resource and lambda-cd adds lambda-cd:stage\), found 50$/],
    ['too many once a stage adds its own', { Tags: tags(30), StageOverrides: { PROD: { Tags: tags(20, 'p') } } }, /StageOverrides\.PROD\.Tags: expected at most 49 tags .*found 50 in stage PROD$/],
    ['an aws: prefix', { Tags: { 'aws:cloudformation:stack-name': 'x' } }, /Tags\.aws:cloudformation:stack-name: expected a tag key that does not start with 'aws:'/],
    ['an AWS: prefix in any case', { Tags: { 'AWS:Team': 'x' } }, /Tags\.AWS:Team: expected a tag key that does not start with 'aws:'/],
    ['a key over 128 characters', { Tags: { ['k'.repeat(129)]: 'x' } }, /expected a tag key of 1 to 128 characters, found 129$/],
    ['a value over 256 characters', { Tags: { team: 'v'.repeat(257) } }, /Tags\.team: expected a tag value of at most 256 characters, found 257$/],
    ["lambda-cd's own tag", { Tags: { 'lambda-cd:stage': 'mine' } }, /Tags\.lambda-cd:stage: lambda-cd sets this tag itself/],
    ['a character IAM refuses', { Tags: { 'team#1': 'x' } }, /Tags\.team#1: expected tag keys and values of letters, digits, spaces and _ \. : \/ = \+ - @/],
  ])('%s', async (_name, settings, message) => {
    const root = await makeRepo({ 'config/config.yaml': config(settings) });
    expectConfigError(await check(root), root, message);
  });

  it('at the limits (49 tags, a 128-character key, a 256-character value) the templates are written', async () => {
    const root = await makeRepo({ 'config/config.yaml': config({ Tags: { ...tags(47), ['k'.repeat(128)]: 'x', team: 'v'.repeat(256) } }) });
    const result = await createCf(root);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(readFileSync(path.join(root, 'dist/stackPROD.json'), 'utf8')).Resources.Demo.Properties.Tags).toHaveLength(50);
  });
});

describe('unknown keys: names escaped in the one warning line, linear in their number', () => {
  it('control characters and line breaks in a key name are escaped, never printed raw', async () => {
    const root = await makeRepo({ 'config/config.yaml': 'Name: Demo\nHandler: app.handler\n"Time\\u001b[2Jout\\nlambda-cd: error: forged": 30\n' });
    const result = await check(root);
    expect(result.exitCode).toBe(0);
    const warnings = result.stderr.trim().split('\n').filter((line) => !line.startsWith('lambda-cd: note:'));
    expect(warnings).toEqual(['lambda-cd: warning: config/config.yaml: Time\\x1b[2Jout\\nlambda-cd: error: forged: unknown key (known keys: Name, Handler, Runtime, Architecture, MemorySize, Timeout, Unittests, Integrationtests, Stages, Description, Layers, Vpc, Tracing, ReservedConcurrency, LogRetentionInDays, Tags, StageOverrides, AllowWildcardActions)']
      .map((line) => line.replace('config/config.yaml', path.join(root, 'config/config.yaml'))));
    expect(result.stderr).not.toContain('\u001b');
    // --strict: the same, as the one error line.
    const strict = await check(root, '--strict');
    expect(strict.exitCode).toBe(2);
    expect(strict.stderr.trim().split('\n')).toHaveLength(1);
    expect(strict.stderr).toContain('Time\\x1b[2Jout\\nlambda-cd: error: forged: unknown key');
  });

  it('variant: a nested unknown key (StageOverrides) with a tab and a bell, and a very long one, stay one short line each', async () => {
    const root = await makeRepo({ 'config/config.yaml': `Name: Demo\nHandler: app.handler\nStageOverrides:\n  PROD:\n    "Mem\\tory\\a": 256\n    "${'x'.repeat(5000)}": 1\n` });
    const result = await check(root);
    const warnings = result.stderr.trim().split('\n').filter((line) => !line.startsWith('lambda-cd: note:'));
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/config\.yaml:\d+:1: StageOverrides\.PROD\.Mem\\tory\\x07: unknown key/);
    expect(warnings[1]!.length).toBeLessThan(600);
  });

  it('thirty thousand unknown keys: a hundred listed with their lines, the rest counted; one pass (a search per key would not finish)', async () => {
    const keys = Array.from({ length: 30_000 }, (_, i) => `Unknown${i}: ${i}`).join('\n');
    const root = await makeRepo({ 'config/config.yaml': `Name: Demo\nHandler: app.handler\n${keys}\nUnknownLast: 1\n` });
    const result = await check(root);
    expect(result.exitCode).toBe(0);
    const warnings = result.stderr.trim().split('\n').filter((line) => !line.startsWith('lambda-cd: note:'));
    expect(warnings).toHaveLength(101);
    expect(warnings[99]).toContain('config.yaml:102:1: Unknown99: unknown key');
    expect(warnings[100]).toMatch(/config\.yaml: 29,901 more unknown keys, not listed$/);
    const strict = await check(root, '--strict');
    expect(strict.stderr.trim().split('\n')).toEqual([expect.stringMatching(/config\.yaml:3:1: Unknown0: unknown key .* \(and 100 more warnings\) \(--strict makes warnings errors\)$/)]);
  });
});

describe('YAML alias bombs: exit 2 at once, naming the file', () => {
  it('in config.yaml (the billion laughs)', async () => {
    const root = await makeRepo({ 'config/config.yaml': `Name: Demo\nHandler: app.handler\n${aliasBomb()}` });
    expectConfigError(await check(root), root, /config\/config\.yaml: expands to more than 200,000 values \(YAML aliases such as \*name repeat what &name marks/);
  });

  it.each([
    ['config/PROD/env.yaml', aliasBomb('BOMB')],
    ['config/PROD/iam.yaml', aliasBomb('Statements')],
    // Variant: few values, but one long text repeated: bounded by characters too.
    ['config/PROD/iam.yml', `big: &big "${'x'.repeat(1_000_000)}"\nl1: &l1 [${Array(30).fill('*big').join(', ')}]\nStatements: *l1\n`],
  ])('in %s', async (file, text) => {
    const root = await makeRepo({ [file]: text });
    expectConfigError(await createCf(root), root, new RegExp(`${file.replace(/[.]/g, '\\.')}: expands to more than`));
  });

  it('variant: an alias that contains itself', async () => {
    const root = await makeRepo({ 'config/PROD/iam.yaml': 'Statements: &s\n  - Effect: Allow\n    Action: s3:GetObject\n    Resource: *s\n' });
    expectConfigError(await createCf(root), root, 'config/PROD/iam.yaml: an alias (*name) refers to a value that contains it');
  });

  it('ordinary anchors and aliases still work', async () => {
    const root = await makeRepo({ 'config/config.yaml': 'Name: Demo\nHandler: app.handler\ncommon: &common {MemorySize: 256}\nStageOverrides:\n  PROD: *common\n' });
    const result = await check(root);
    expect(JSON.parse(result.stdout).stages[0].settings.memorySize).toBe(256);
    expect((await readdir(root)).includes('dist')).toBe(false);
  });
});
