/**
 * `lambda-cd unit-test` for Node.js functions: dev dependencies installed offline by real npm into
 * the cache (not the repository), each file under `node --test`, failures and hangs reported
 * per file, node's junit cases in the report, `Runner: npm`.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { makeNodeRepo, NODE_CONFIG, type LocalPackage } from './helpers/npm-packages.js';

const greeting: LocalPackage = { name: 'greeting', version: '2.1.0', files: { 'index.js': 'module.exports = (name) => `Hello, ${name}!`;\n' } };
const testHelper: LocalPackage = { name: 'test-helper', version: '0.1.0', fields: { type: 'module', main: 'index.js' }, files: { 'index.js': 'export const shout = (text) => text.toUpperCase();\n' } };

const HANDLER = "import greet from 'greeting';\nexport const handler = async (event) => ({ statusCode: 200, body: greet(event.name) });\n";
const PASSING = `import test from 'node:test';
import assert from 'node:assert/strict';
import { shout } from 'test-helper';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { handler } from '../../src/index.mjs';
test('greets', async () => assert.equal((await handler({ name: 'Ada' })).body, 'Hello, Ada!'));
test('uses a dev dependency and the SDK Lambda provides', () => { assert.equal(shout('a'), 'A'); assert.equal(typeof LambdaClient, 'function'); });
`;
const COMMONJS = `const test = require('node:test');
const assert = require('node:assert');
const greet = require('greeting');
test('commonjs', () => assert.strictEqual(greet('cjs'), 'Hello, cjs!'));
`;
const FAILING = "import test from 'node:test';\nimport assert from 'node:assert/strict';\ntest('wrong sum', () => assert.equal(1 + 1, 3));\n";
const HANGING = "import test from 'node:test';\ntest('waits forever', () => new Promise(() => setInterval(() => {}, 1000)));\n";

describe('unit-test: a Node.js function', { timeout: 300_000 }, () => {
  it('runs each file with node --test against the cached dev install; failures and hangs are per file; the report has node\'s cases', async () => {
    const root = await makeNodeRepo({
      dependencies: [greeting], devDependencies: [testHelper],
      files: {
        'src/index.mjs': HANDLER,
        'tests/unittests/handler.test.mjs': PASSING,
        'tests/unittests/legacy.test.cjs': COMMONJS,
        'tests/unittests/sums.test.mjs': FAILING,
        'tests/unittests/waits.test.mjs': HANGING,
        'tests/unittests/notes.txt': 'not a test file\n',
      },
    });
    const result = await runCli(['unit-test', '--path', root, '--timeout', '8', '--jobs', '2'], { timeout: 300_000 });
    expect(result.stderr).toMatch(/npm ci \(dev dependencies included\)/);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/==== PASS tests\/unittests\/handler\.test\.mjs/);
    expect(result.stdout).toMatch(/==== PASS tests\/unittests\/legacy\.test\.cjs/);
    expect(result.stdout).toMatch(/==== FAIL tests\/unittests\/sums\.test\.mjs \([^)]*, exit 1\)/);
    expect(result.stdout).toMatch(/wrong sum/);
    expect(result.stdout).toMatch(/==== FAIL tests\/unittests\/waits\.test\.mjs \([^)]*, timed out after 8 s/);
    expect(result.stdout).toMatch(/\n3 passed, 2 failed$/);
    expect(existsSync(path.join(root, 'node_modules'))).toBe(false);
    const report = await readFile(path.join(root, '.lambda-cd/reports/unit-tests.xml'), 'utf8');
    expect(report).toMatch(/<testcase [^>]*name="greets"/);
    expect(report).toMatch(/<testcase [^>]*name="wrong sum"[\s\S]*?<failure/);
    expect(report).toMatch(/tests\/unittests\/waits\.test\.mjs/);

    const again = await runCli(['unit-test', '--path', root, '--timeout', '8', '--json'], { timeout: 300_000 });
    expect(again.stderr).toMatch(/dev and production dependencies from the cache/);
    const json = JSON.parse(again.stdout);
    expect(json).toMatchObject({ result: 'failed', runtime: 'nodejs22.x' });
  });

  it('Runner: npm runs the package\'s test script once; no test files is nothing to run', async () => {
    const root = await makeNodeRepo({
      packageJson: { scripts: { test: 'node --test tests/unittests/' } },
      files: { 'config/config.yaml': `${NODE_CONFIG}Unittests: {Folder: tests/unittests, Runner: npm}\n`, 'tests/unittests/a.test.mjs': "import test from 'node:test';\ntest('ok', () => {});\n" },
    });
    const result = await runCli(['unit-test', '--path', root], { timeout: 300_000 });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/==== PASS npm test/);

    const empty = await makeNodeRepo({ files: { 'tests/unittests/README.md': 'nothing here\n' } });
    const nothing = await runCli(['unit-test', '--path', empty]);
    expect(nothing.exitCode).toBe(0);
    expect(nothing.stdout).toMatch(/no unit tests in tests\/unittests\/ \(no \*\.js, \*\.mjs or \*\.cjs files in it\): nothing to run/);
  });
});
