import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';

describe('the CLI', () => {
  it('--version prints the package version', async () => {
    const { version } = (await import('../package.json', { with: { type: 'json' } })).default;
    const result = await runCli(['--version']);
    expect(result).toMatchObject({ exitCode: 0, stdout: version });
  });

  it('--help lists every command', async () => {
    const result = await runCli(['--help']);
    expect(result.exitCode).toBe(0);
    for (const name of ['unit-test', 'package', 'create-cf', 'integration-test', 'generate buildspecs', 'generate pipeline', 'init', 'check', 'publish']) {
      expect(result.stdout).toContain(`  ${name}`);
    }
  });

  it('no command shows the help and exits 2', async () => {
    const result = await runCli([]);
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toContain('Usage: lambda-cd <command>');
  });

  it('a command --help says what it reads and writes, every option with its default, and an example', async () => {
    const result = await runCli(['unit-test', '--help']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/Reads: +config\/config\.yaml/);
    expect(result.stdout).toMatch(/Writes: /);
    expect(result.stdout).toMatch(/--path DIR .*\(default: the nearest folder holding config\/config\.yaml, from the current one up; env LAMBDA_CD_PATH\)/);
    expect(result.stdout).toMatch(/--timeout SECONDS .*\(default: 300\)/);
    expect(result.stdout).toMatch(/Examples:\n {2}lambda-cd unit-test/);
  });

  it('an unknown command names the closest one, exit 2', async () => {
    const result = await runCli(['unittest']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim()).toBe('lambda-cd: error: unknown command "unittest"; did you mean unit-test? (see lambda-cd --help)');
  });

  it('an unknown option names the closest one, exit 2', async () => {
    const result = await runCli(['create-cf', '--stak', 'X']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim()).toBe('lambda-cd: error: create-cf: unknown option --stak; did you mean --stack? (see lambda-cd create-cf --help)');
  });

  it('a bad option value is a usage error', async () => {
    const jobs = await runCli(['unit-test', '--jobs', 'many']);
    expect(jobs.exitCode).toBe(2);
    expect(jobs.stderr).toContain('unit-test: --jobs expects a number >= 1, found "many"');
    const format = await runCli(['create-cf', '--stack', 'S', '--format', 'yml']);
    expect(format.exitCode).toBe(2);
    expect(format.stderr).toContain('--format expects one of json, yaml, found "yml"; did you mean yaml?');
    const missing = await runCli(['package', '--out']);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain('package: option --out needs a value (FILE)');
  });

  it('options fall back to their environment variables (how pipelines pass the stack)', async () => {
    const without = await runCli(['create-cf', '--path', '/nonexistent']);
    expect(without.stderr).toContain('--stack NAME is required (or set LAMBDA_CD_STACK)');
    const withEnv = await runCli(['create-cf', '--path', '/nonexistent'], { env: { LAMBDA_CD_STACK: 'Pipe' } });
    expect(withEnv.stderr).not.toContain('--stack NAME is required');
    expect(withEnv.exitCode).toBe(2);
  });

  it('writes no colour codes when NO_COLOR is set or output is not a terminal', async () => {
    const result = await runCli(['unittest'], { env: { FORCE_COLOR: undefined } });
    expect(result.stderr).not.toMatch(/\u001b\[/);
  });
});
