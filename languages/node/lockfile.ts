/**
 * The repository's package.json and package-lock.json: which exist, what they say, and the
 * local files a lock entry points at (`file:vendor/x-1.0.0.tgz`), which count by content in
 * every cache key. Only npm's lock is read: a pnpm or yarn lock alone is exit 2 saying so.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseJson } from '../../lib/data-files.js';
import { ConfigError } from '../../lib/errors.js';
import { displayPath } from '../../lib/output.js';
import { resolveInside, toPosix } from '../../lib/paths.js';
import { safeName } from '../../lib/redact.js';

const OTHER_LOCKS = [['pnpm-lock.yaml', 'pnpm'], ['yarn.lock', 'yarn'], ['bun.lockb', 'bun'], ['bun.lock', 'bun']] as const;

export interface LockedPackage {
  /** Path in the lock: node_modules/@img/sharp-linux-x64 */
  location: string;
  name: string;
  version: string;
  dev: boolean;
  optional: boolean;
  hasInstallScript: boolean;
  os?: string[];
  cpu?: string[];
}

export interface NpmProject {
  root: string;
  packageJson: string;
  /** Absent when package.json lists no dependencies at all. */
  lockFile?: string;
  /** package.json's "type": a .js file is ESM when it is "module". */
  moduleType: 'module' | 'commonjs';
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  packages: LockedPackage[];
  /** Repository-relative local files and folders lock entries point at (file: tarballs, folders). */
  localFiles: string[];
  /** The test script (Runner: npm). */
  testScript?: string;
}

type Json = Record<string, unknown>;

/** Reads the project at `root`; undefined when there is no package.json (no dependencies). */
export function readNpmProject(root: string): NpmProject | undefined {
  const packageJson = path.join(root, 'package.json');
  const lockFile = path.join(root, 'package-lock.json');
  const shrinkwrap = path.join(root, 'npm-shrinkwrap.json');
  if (!existsSync(packageJson)) {
    const other = OTHER_LOCKS.find(([file]) => existsSync(path.join(root, file)));
    if (other) throw new ConfigError(`${displayPath(path.join(root, other[0]))}: a ${other[1]} lock without package.json; expected package.json and package-lock.json at the repository's root`);
    return undefined;
  }
  const manifest = readJson(packageJson, 'package.json');
  const dependencies = stringMap(manifest.dependencies, packageJson, 'dependencies');
  const devDependencies = stringMap(manifest.devDependencies, packageJson, 'devDependencies');
  const optional = stringMap(manifest.optionalDependencies, packageJson, 'optionalDependencies');
  const scripts = manifest.scripts && typeof manifest.scripts === 'object' ? (manifest.scripts as Json) : {};
  const project: NpmProject = {
    root, packageJson, moduleType: manifest.type === 'module' ? 'module' : 'commonjs', dependencies: { ...dependencies, ...optional }, devDependencies, packages: [], localFiles: [],
    testScript: typeof scripts.test === 'string' ? scripts.test : undefined,
  };
  const lock = existsSync(shrinkwrap) ? shrinkwrap : existsSync(lockFile) ? lockFile : undefined;
  if (lock === undefined) {
    const other = OTHER_LOCKS.find(([file]) => existsSync(path.join(root, file)));
    if (other) {
      throw new ConfigError(`${displayPath(path.join(root, other[0]))}: lambda-cd installs with npm ci from package-lock.json only, and a ${other[1]} lock is not one; create it with npm install --package-lock-only (and commit it)`);
    }
    if (Object.keys(project.dependencies).length + Object.keys(devDependencies).length > 0) {
      throw new ConfigError(`${displayPath(packageJson)}: lists dependencies but there is no package-lock.json next to it; run npm install and commit package-lock.json (lambda-cd installs exactly what the lock file says, with npm ci)`);
    }
    return project;
  }
  project.lockFile = lock;
  const parsed = readJson(lock, path.basename(lock));
  const version = parsed.lockfileVersion;
  if (typeof version !== 'number' || version < 2) {
    throw new ConfigError(`${displayPath(lock)}: lockfileVersion ${safeName(String(version))}; expected 2 or 3 (npm 7 and newer): run npm install with npm 10 to upgrade it`);
  }
  const packages = parsed.packages && typeof parsed.packages === 'object' ? (parsed.packages as Record<string, Json>) : {};
  for (const [location, entry] of Object.entries(packages)) {
    if (location === '' || typeof entry !== 'object' || entry === null) continue;
    const resolved = typeof entry.resolved === 'string' ? entry.resolved : undefined;
    const local = resolved?.startsWith('file:') ? resolved.slice(5) : entry.link === true && typeof entry.resolved === 'string' ? entry.resolved : !location.includes('node_modules/') ? location : undefined;
    if (local !== undefined) project.localFiles.push(localPath(root, lock, local, location));
    if (!location.includes('node_modules/')) continue; // a workspace or linked folder itself
    project.packages.push({
      location,
      name: typeof entry.name === 'string' ? entry.name : location.slice(location.lastIndexOf('node_modules/') + 'node_modules/'.length),
      version: typeof entry.version === 'string' ? entry.version : '',
      dev: entry.dev === true,
      optional: entry.optional === true || entry.devOptional === true,
      hasInstallScript: entry.hasInstallScript === true,
      os: Array.isArray(entry.os) ? entry.os.map(String) : undefined,
      cpu: Array.isArray(entry.cpu) ? entry.cpu.map(String) : undefined,
    });
  }
  project.localFiles = [...new Set(project.localFiles)].sort();
  return project;
}

/** A local path a lock entry names must stay inside the repository (CI has nothing else). */
function localPath(root: string, lock: string, local: string, location: string): string {
  const inside = resolveInside(root, local);
  if (!inside.ok) throw new ConfigError(`${displayPath(lock)}: ${safeName(location)} comes from ${safeName(local)}, ${inside.reason}; a build has only the repository: vendor it inside (npm pack) or publish it`);
  if (!existsSync(inside.absolute)) throw new ConfigError(`${displayPath(lock)}: ${safeName(location)} comes from ${safeName(local)}, which does not exist`);
  return toPosix(path.relative(root, inside.absolute)) + (statSync(inside.absolute).isDirectory() ? '/' : '');
}

function readJson(file: string, shown: string): Json {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`${displayPath(file)}: cannot read it (${(error as NodeJS.ErrnoException).code}); expected ${shown}`);
  }
  const value = parseJson(text, { shown: displayPath(file), bounded: false });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(`${displayPath(file)}: expected a JSON object, found ${Array.isArray(value) ? 'a list' : typeof value}`);
  return value as Json;
}

function stringMap(value: unknown, file: string, key: string): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    throw new ConfigError(`${displayPath(file)}: ${key}: expected a mapping of package names to version ranges`);
  }
  return value as Record<string, string>;
}
