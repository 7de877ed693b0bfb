/** The contract for Node.js repositories, through `lambda-cd check`: handler forms, Runtime, Bundle, Runner. */
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { makeRepo } from './helpers/repo.js';

const check = (root: string) => runCli(['check', '--path', root]);
const nodeRepo = (config: string, files: Record<string, string> = {}) => makeRepo({ 'config/config.yaml': `Name: Demo\nRuntime: nodejs22.x\n${config}`, ...files });

describe('contract: Node.js functions', () => {
  it('finds the handler file in Lambda\'s order (.js, .mjs, .cjs), in folders and with nested exports', async () => {
    const cases: [string, Record<string, string>, RegExp][] = [
      ['Handler: index.handler\n', { 'src/index.cjs': 'exports.handler = () => 1;\n' }, /Demo: index\.handler on nodejs22\.x/],
      ['Handler: lib/app.main\n', { 'src/lib/app.mjs': 'export const main = () => 1;\n' }, /Demo: lib\/app\.main on nodejs22\.x/],
      ['Handler: index.api.get\n', { 'src/index.js': 'exports.api = { get: () => 1 };\n' }, /Demo: index\.api\.get on nodejs22\.x/],
    ];
    for (const [config, files, shown] of cases) {
      const result = await check(await nodeRepo(config, files));
      expect(result.stderr).not.toMatch(/error/);
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toMatch(shown);
    }
    const both = await check(await nodeRepo('Handler: index.handler\n', { 'src/index.js': '', 'src/index.mjs': '' }));
    expect(both.exitCode).toBe(0);
    expect(both.stderr).toMatch(/Handler: src\/index\.js and src\/index\.mjs both exist; Lambda loads src\/index\.js/);
  });

  it('a missing handler file, a Python-style handler, Bundle on Python and a Python runner are exit 2 naming the key', async () => {
    const missing = await check(await nodeRepo('Handler: index.handler\n'));
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/config\.yaml:\d+:1: Handler: expected the module file src\/index\.js, src\/index\.mjs or src\/index\.cjs to exist/);
    const badForm = await check(await nodeRepo('Handler: handler\n', { 'src/index.mjs': '' }));
    expect(badForm.exitCode).toBe(2);
    expect(badForm.stderr).toMatch(/Handler: expected file\.function for Node\.js/);
    const bundlePython = await check(await makeRepo({ 'config/config.yaml': 'Name: Demo\nHandler: app.handler\nBundle: esbuild\n' }));
    expect(bundlePython.exitCode).toBe(2);
    expect(bundlePython.stderr).toMatch(/Bundle: bundling applies to Node\.js runtimes \(nodejs22\.x, nodejs24\.x\), found Runtime python3\.12/);
    const pytest = await check(await nodeRepo('Handler: index.handler\nUnittests: {Folder: tests, Runner: pytest}\n', { 'src/index.mjs': '', 'tests/a.test.mjs': '' }));
    expect(pytest.exitCode).toBe(2);
    expect(pytest.stderr).toMatch(/Unittests\.Runner: expected one of node, npm, script, found text "pytest"/);
    const oldNode = await check(await makeRepo({ 'config/config.yaml': 'Name: Demo\nRuntime: nodejs18.x\nHandler: index.handler\n', 'src/index.mjs': '' }));
    expect(oldNode.exitCode).toBe(2);
    expect(oldNode.stderr).toMatch(/Runtime: expected a Python runtime Lambda supports \(.*\) or a Node\.js one \(nodejs22\.x, nodejs24\.x\), found "nodejs18\.x"/);
  });
});
