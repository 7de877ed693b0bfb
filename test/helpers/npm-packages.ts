/**
 * Tiny local npm packages for tests that must not reach a registry: each package is written as a
 * folder and packed into `vendor/NAME-VERSION.tgz` of the repository (npm's tarball layout,
 * `package/...`), the repository's package.json depends on `file:vendor/...` and its
 * package-lock.json is made by a real `npm install --package-lock-only --offline`, so `npm ci`
 * runs offline exactly as it does against a registry. Platform packages get `os`/`cpu` fields,
 * as @esbuild/linux-x64 or @img/sharp-linux-arm64 have.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { tempDir, writeFiles } from './repo.js';

export interface LocalPackage {
  name: string;
  version?: string;
  /** package.json fields beyond name and version (os, cpu, scripts, optionalDependencies, type, main). */
  fields?: Record<string, unknown>;
  /** Files of the package (path -> content); index.js by default. */
  files?: Record<string, string>;
}

export function tarballName(pkg: LocalPackage): string {
  return `${pkg.name.replace(/^@/, '').replace('/', '-')}-${pkg.version ?? '1.0.0'}.tgz`;
}

/** Packs `pkg` into `<root>/vendor/`; returns the `file:` spec a package.json names it by. */
export async function packLocal(root: string, pkg: LocalPackage): Promise<string> {
  const work = await tempDir('lambda-cd-npm-pkg-');
  const folder = path.join(work, 'package');
  await writeFiles(folder, {
    'package.json': `${JSON.stringify({ name: pkg.name, version: pkg.version ?? '1.0.0', main: 'index.js', ...pkg.fields }, null, 2)}\n`,
    ...(pkg.files ?? { 'index.js': `module.exports = { name: ${JSON.stringify(pkg.name)} };\n` }),
  });
  await mkdir(path.join(root, 'vendor'), { recursive: true });
  const tarball = tarballName(pkg);
  await execa('tar', ['-czf', path.join(root, 'vendor', tarball), '-C', work, 'package']);
  return `file:vendor/${tarball}`;
}

/** The platform packages of a native package, for linux x64 and arm64 (what sharp and esbuild publish). */
export function platformPackages(base: string): LocalPackage[] {
  return ['x64', 'arm64'].map((cpu) => ({
    name: `${base}-linux-${cpu}`,
    fields: { os: ['linux'], cpu: [cpu] },
    files: { 'index.js': `module.exports = ${JSON.stringify(`${base} for linux-${cpu}`)};\n`, [`bin/${cpu}.node`]: `binary for ${cpu}\n` },
  }));
}

/**
 * A native package in the manner of sharp: an install script that would compile (binding.gyp,
 * node-gyp rebuild) and optional platform packages with the prebuilt binary.
 */
export function nativePackage(name: string, platforms: LocalPackage[]): LocalPackage {
  return {
    name,
    fields: { scripts: { install: 'node-gyp rebuild' }, optionalDependencies: Object.fromEntries(platforms.map((p) => [p.name, p.version ?? '1.0.0'])) },
    files: {
      'binding.gyp': '{"targets": []}\n',
      'index.js': `for (const cpu of ['x64', 'arm64']) { try { module.exports = require(${JSON.stringify(`${name}-linux-`)} + cpu); break; } catch {} }\n`,
    },
  };
}

export interface NodeRepoOptions {
  /** Packed into vendor/ and listed in dependencies. */
  dependencies?: LocalPackage[];
  /** Packed and listed in optionalDependencies (platform packages a native dependency names). */
  optionalDependencies?: LocalPackage[];
  devDependencies?: LocalPackage[];
  /** package.json fields (type, scripts). */
  packageJson?: Record<string, unknown>;
  /** Repository files (config/config.yaml, src/...); a default config, handler and PROD stage otherwise. */
  files?: Record<string, string>;
  /** Skip writing package-lock.json. */
  noLock?: boolean;
}

export const NODE_CONFIG = 'Name: DemoNode\nRuntime: nodejs22.x\nHandler: index.handler\n';

/** A Node.js function repository with local dependencies and a real lock file. */
export async function makeNodeRepo(options: NodeRepoOptions = {}): Promise<string> {
  const root = await tempDir('lambda-cd-node-repo-');
  await writeFiles(root, {
    'config/config.yaml': NODE_CONFIG,
    'config/PROD/.keep': '',
    'src/index.mjs': 'export const handler = async () => ({ statusCode: 200 });\n',
    ...options.files,
  });
  const specs = async (packages: LocalPackage[] = []) => Object.fromEntries(await Promise.all(packages.map(async (pkg) => [pkg.name, await packLocal(root, pkg)])));
  const manifest = {
    name: 'demo-node', version: '1.0.0', private: true, ...options.packageJson,
    dependencies: await specs(options.dependencies),
    optionalDependencies: await specs(options.optionalDependencies),
    devDependencies: await specs(options.devDependencies),
  };
  await writeFile(path.join(root, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  if (!options.noLock) await lock(root);
  return root;
}

/** package-lock.json from package.json, offline (every dependency is a local tarball). */
export async function lock(root: string): Promise<void> {
  await execa('npm', ['install', '--package-lock-only', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: root, env: { npm_config_update_notifier: 'false' } });
}
