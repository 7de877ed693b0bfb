/**
 * `lambda-cd package` for Node.js functions, through the CLI with real npm (offline: every
 * dependency is a local tarball, test/helpers/npm-packages.ts) and the zip read back by Python's
 * zipfile.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { lock, makeNodeRepo, nativePackage, NODE_CONFIG, packLocal, platformPackages, type LocalPackage } from './helpers/npm-packages.js';
import { tempDir, writeFiles } from './helpers/repo.js';

const ZIP_READER = `
import sys, json, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    print(json.dumps({i.filename: {"mode": oct(i.external_attr >> 16), "date": list(i.date_time),
        "content": z.read(i).decode("utf-8", "replace") if not i.is_dir() else None} for i in z.infolist()}))
`;
type ZipListing = Record<string, { mode: string; date: number[]; content: string | null }>;
const readZip = async (file: string): Promise<ZipListing> => JSON.parse((await execa('python3', ['-c', ZIP_READER, file])).stdout) as ZipListing;
const sha256 = async (file: string) => createHash('sha256').update(await readFile(file)).digest('hex');
const pkg = (root: string, ...args: string[]) => runCli(['package', '--path', root, ...args], { timeout: 300_000 });

const platforms = platformPackages('@demo/native');
/** What musl systems (Alpine) get: never Lambda's, whatever machine builds. */
const musl: LocalPackage = { name: '@demo/native-linux-x64-musl', fields: { os: ['linux'], cpu: ['x64'], libc: ['musl'] } };
const native = nativePackage('@demo/native', platforms);
const greeting: LocalPackage = { name: 'greeting', version: '2.1.0', files: { 'index.js': 'module.exports = (name) => `Hello, ${name}!`;\n' } };
const devOnly: LocalPackage = { name: 'dev-only-tool', version: '0.3.0' };

/** An ESM handler that uses a native package (its platform package chosen for Lambda) and a plain one. */
const ESM_HANDLER = `import native from '@demo/native';
import greet from 'greeting';
export const handler = async (event) => ({ statusCode: 200, body: greet(event?.name ?? 'world'), native });
`;

describe('package: a Node.js function', { timeout: 300_000 }, () => {
  it('zips src/ and production node_modules/ for x86_64 and arm64, chosen by the platform packages\' os/cpu', async () => {
    const root = await makeNodeRepo({ dependencies: [native, greeting], optionalDependencies: [...platforms, musl], devDependencies: [devOnly], files: { 'src/index.mjs': ESM_HANDLER } });
    const x64 = await pkg(root);
    expect(x64.stderr).not.toMatch(/error/i);
    expect(x64.exitCode).toBe(0);
    expect(x64.stderr).toMatch(/handler index\.handler loads from the zip/);
    const zip = await readZip(path.join(root, 'dist/function.zip'));
    expect(Object.keys(zip)).toContain('index.mjs');
    expect(Object.keys(zip)).toContain('node_modules/@demo/native-linux-x64/bin/x64.node');
    expect(Object.keys(zip).some((name) => name.includes('linux-arm64') || name.includes('-musl'))).toBe(false);
    expect(Object.keys(zip).some((name) => name.includes('dev-only-tool'))).toBe(false);
    expect(Object.keys(zip).some((name) => name.startsWith('node_modules/.bin') || name === 'node_modules/.package-lock.json')).toBe(false);
    expect(zip['index.mjs']!.date).toEqual([1980, 1, 1, 0, 0, 0]);
    expect(zip['index.mjs']!.mode).toBe('0o100644');
    const manifest = JSON.parse(await readFile(path.join(root, 'dist/function.zip.manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ runtime: 'nodejs22.x', architecture: 'x86_64', sha256: await sha256(path.join(root, 'dist/function.zip')) });
    expect(manifest.distributions).toEqual([
      { name: '@demo/native', version: '1.0.0' },
      { name: '@demo/native-linux-x64', version: '1.0.0' },
      { name: 'greeting', version: '2.1.0' },
    ]);

    await writeFile(path.join(root, 'config/config.yaml'), `${NODE_CONFIG}Architecture: arm64\n`);
    const arm = await pkg(root);
    expect(arm.exitCode).toBe(0);
    const armZip = Object.keys(await readZip(path.join(root, 'dist/function.zip')));
    expect(armZip).toContain('node_modules/@demo/native-linux-arm64/bin/arm64.node');
    expect(armZip.some((name) => name.includes('linux-x64'))).toBe(false);
  });

  it('is reproducible: the same bytes from the cache, from a cold cache and in another checkout', async () => {
    const root = await makeNodeRepo({ dependencies: [greeting], files: { 'src/index.mjs': ESM_HANDLER.replace(/.*@demo\/native.*\n/, '').replace(', native', '') } });
    expect((await pkg(root)).exitCode).toBe(0);
    const first = await sha256(path.join(root, 'dist/function.zip'));
    const again = await pkg(root);
    expect(again.stderr).toMatch(/node_modules\/ for linux x64 from the cache/);
    expect(await sha256(path.join(root, 'dist/function.zip'))).toBe(first);
    const cold = await pkg(root, '--cache-dir', await tempDir());
    expect(cold.exitCode).toBe(0);
    expect(await sha256(path.join(root, 'dist/function.zip'))).toBe(first);
    // A cached blob that was changed is found and the entry rebuilt.
    const entries = path.join(root, '.lambda-cd/cache/npm-package');
    const [entry] = (await import('node:fs')).readdirSync(entries).filter((name) => !name.startsWith('.'));
    await writeFile(path.join(entries, entry!, 'deps-0.bin'), 'tampered');
    const tampered = await pkg(root);
    expect(tampered.exitCode).toBe(0);
    expect(tampered.stderr).toMatch(/cached node_modules\/ discarded \(deps-0\.bin/);
    expect(await sha256(path.join(root, 'dist/function.zip'))).toBe(first);
  });

  it('loads CommonJS handlers (.cjs, and .js without "type": "module") and ESM .js under "type": "module"', async () => {
    const cjs = await makeNodeRepo({ dependencies: [greeting], files: { 'config/config.yaml': 'Name: DemoNode\nRuntime: nodejs22.x\nHandler: main.handler\n', 'src/main.cjs': "const greet = require('greeting');\nexports.handler = async () => greet('cjs');\n", 'src/legacy.js': "module.exports.handler = async () => require('greeting')('js');\n" } });
    const result = await pkg(cjs);
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toMatch(/handler main\.handler loads/);
    await writeFile(path.join(cjs, 'config/config.yaml'), 'Name: DemoNode\nRuntime: nodejs22.x\nHandler: legacy.handler\n');
    const js = await pkg(cjs);
    expect(js.exitCode).toBe(0);
    expect(js.stderr).toMatch(/handler legacy\.handler loads/);

    const esmJs = await makeNodeRepo({ dependencies: [greeting], packageJson: { type: 'module' }, files: { 'src/app.js': "import greet from 'greeting';\nexport const main = async () => greet('esm');\n", 'config/config.yaml': 'Name: DemoNode\nRuntime: nodejs24.x\nHandler: app.main\n' } });
    const esm = await pkg(esmJs);
    expect(esm.exitCode).toBe(0);
    const zip = await readZip(path.join(esmJs, 'dist/function.zip'));
    expect(JSON.parse(zip['package.json']!.content!)).toEqual({ type: 'module' });

    // Code that does not parse fails the build, and no zip is left behind.
    const wrong = await makeNodeRepo({ files: { 'src/app.js': 'export const main = async () => {;\n', 'config/config.yaml': 'Name: DemoNode\nRuntime: nodejs22.x\nHandler: app.main\n' } });
    const failed = await pkg(wrong);
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toMatch(/src\/app\.js: the handler's module does not load from the built zip: SyntaxError/);
    expect(existsSync(path.join(wrong, 'dist/function.zip'))).toBe(false);
  });

  it('refuses a handler that is not exported, and a dependency the zip lacks (a devDependency)', async () => {
    const root = await makeNodeRepo({ devDependencies: [greeting], files: { 'src/index.mjs': 'export const other = 1;\n' } });
    const missing = await pkg(root);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/src\/index\.mjs: the module loads but exports no function handler/);
    await writeFile(path.join(root, 'src/index.mjs'), "import greet from 'greeting';\nexport const handler = () => greet('x');\n");
    const dev = await pkg(root);
    expect(dev.exitCode).toBe(1);
    expect(dev.stderr).toMatch(/nothing in the zip provides greeting: add it to "dependencies" in package\.json \(devDependencies are not packaged\)/);
  });

  it('a lock file out of sync with package.json is exit 2 naming both', async () => {
    const root = await makeNodeRepo({ dependencies: [greeting] });
    const manifest = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8'));
    manifest.dependencies['left-pad'] = '^1.3.0';
    await writeFile(path.join(root, 'package.json'), JSON.stringify(manifest));
    const result = await pkg(root);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/package-lock\.json: out of sync with package\.json.*run npm install and commit the updated package-lock\.json/);
    expect(result.stderr).not.toMatch(/npm (error|ERR!)/);
  });

  it('a dependency whose install script would compile native code, without a prebuilt linux binary, is exit 2 naming it', async () => {
    const compiling = nativePackage('@demo/compiled', []);
    const root = await makeNodeRepo({ dependencies: [compiling, greeting] });
    const result = await pkg(root);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/package-lock\.json: @demo\/compiled@1\.0\.0 \(binding\.gyp\) would compile native code .* no prebuilt binary/);
    // A script that compiles only for the other CPU still compiles here.
    const armOnly = platforms.filter((p) => p.name.endsWith('arm64'));
    const other = await makeNodeRepo({ dependencies: [nativePackage('@demo/native', armOnly)], optionalDependencies: armOnly });
    const x64 = await pkg(other);
    expect(x64.exitCode).toBe(2);
    expect(x64.stderr).toMatch(/@demo\/native@1\.0\.0 \(binding\.gyp\) would compile native code .*linux x64/);
  });

  it('only npm\'s lock is read: a yarn or pnpm lock alone is exit 2 saying so; dependencies without any lock too', async () => {
    const root = await makeNodeRepo({ dependencies: [greeting], noLock: true });
    const none = await pkg(root);
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toMatch(/package\.json: lists dependencies but there is no package-lock\.json/);
    await writeFiles(root, { 'pnpm-lock.yaml': "lockfileVersion: '9.0'\n" });
    const pnpm = await pkg(root);
    expect(pnpm.exitCode).toBe(2);
    expect(pnpm.stderr).toMatch(/pnpm-lock\.yaml: lambda-cd installs with npm ci from package-lock\.json only, and a pnpm lock is not one/);
  });

  it('a lock entry from outside the repository (file:../x.tgz) is exit 2: a build has only the repository', async () => {
    const root = await makeNodeRepo();
    const outside = await tempDir();
    const spec = await packLocal(outside, greeting);
    const relative = path.relative(root, path.join(outside, spec.slice('file:'.length)));
    await writeFile(path.join(root, 'package.json'), JSON.stringify({ name: 'demo-node', version: '1.0.0', dependencies: { greeting: `file:${relative}` } }));
    await lock(root);
    const result = await pkg(root);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/package-lock\.json: node_modules\/greeting comes from \.\.\/.*greeting-2\.1\.0\.tgz, a path that leaves the repository/);
  });

  it('Bundle: esbuild zips one minified ESM file and its source map, @aws-sdk/* left to Lambda', async () => {
    const root = await makeNodeRepo({
      dependencies: [greeting],
      files: {
        'config/config.yaml': `${NODE_CONFIG}Bundle: esbuild\n`,
        'src/index.mjs': "import greet from 'greeting';\nimport { LambdaClient } from '@aws-sdk/client-lambda';\nimport data from './data.json' with { type: 'json' };\nexport const handler = async () => ({ body: greet(data.name), client: typeof LambdaClient });\n",
        'src/data.json': '{"name": "bundle"}\n',
        'src/template.txt': 'kept beside the bundle\n',
      },
    });
    const result = await pkg(root);
    expect(result.stderr).toMatch(/bundling src\/index\.mjs with esbuild .*ESM, node22, minified, source map, @aws-sdk\/\* external/);
    expect(result.exitCode).toBe(0);
    const zip = await readZip(path.join(root, 'dist/function.zip'));
    expect(Object.keys(zip).filter((name) => !name.endsWith('/')).sort()).toEqual(['index.mjs', 'index.mjs.map', 'template.txt']);
    expect(zip['index.mjs']!.content).toContain('Hello, ');
    expect(zip['index.mjs']!.content).toMatch(/from"@aws-sdk\/client-lambda"|from "@aws-sdk\/client-lambda"/);
    const map = JSON.parse(zip['index.mjs.map']!.content!);
    expect(map.sources).toContain('../node_modules/greeting/index.js');
    const manifest = JSON.parse(await readFile(path.join(root, 'dist/function.zip.manifest.json'), 'utf8'));
    expect(manifest.distributions).toEqual([{ name: 'greeting', version: '2.1.0', bundled: true }]);
    const first = await sha256(path.join(root, 'dist/function.zip'));
    expect((await pkg(root, '--cache-dir', await tempDir())).exitCode).toBe(0);
    expect(await sha256(path.join(root, 'dist/function.zip'))).toBe(first);
  });
});
