/**
 * npm runs no install script for lambda-cd (`--ignore-scripts`): a script would run on the build
 * machine, and one that compiles native code (node-gyp, a binding.gyp) builds for the build
 * machine's CPU and C library, not Lambda's, as an sdist does for Python. So lambda-cd looks at
 * every installed package with an install script: one that would compile is an error naming it,
 * unless it ships prebuilt binaries for Lambda's platform (an optional platform package that npm
 * installed for --os linux --cpu X, as @esbuild/linux-x64 and @img/sharp-linux-x64 are, or a
 * prebuilds/linux-X/ folder, node-gyp-build's layout). Other install scripts are only named: not run.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../lib/errors.js';
import { warn } from '../../lib/output.js';
import { safeName } from '../../lib/redact.js';
import type { LockedPackage } from './lockfile.js';

const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall'];
/** What a compiling install script calls. */
const COMPILES = /\b(node-gyp|prebuild-install|node-pre-gyp|cmake-js|node-gyp-build|gcc|g\+\+|make|cc)\b/;

interface InstalledJson {
  scripts?: Record<string, unknown>;
  optionalDependencies?: Record<string, unknown>;
  os?: string[];
  cpu?: string[];
}

/** Judges the installed packages' install scripts; throws ConfigError (exit 2) for those that would compile. */
export function checkInstallScripts(prefix: string, installed: LockedPackage[], cpu: string, shownLock: string): void {
  const byLocation = new Map(installed.map((p) => [p.location, p]));
  const compiling: string[] = [];
  const skipped: string[] = [];
  for (const pkg of installed) {
    const folder = path.join(prefix, pkg.location);
    const json = readInstalled(folder);
    const scripts = INSTALL_SCRIPTS.map((name) => json.scripts?.[name]).filter((script): script is string => typeof script === 'string');
    const gyp = existsSync(path.join(folder, 'binding.gyp'));
    if (scripts.length === 0 && !gyp && !pkg.hasInstallScript) continue;
    const label = `${safeName(pkg.name)}@${safeName(pkg.version)}`;
    if (!gyp && !scripts.some((script) => COMPILES.test(script))) {
      skipped.push(label);
      continue;
    }
    if (prebuiltFor(prefix, pkg, json, cpu, byLocation)) continue;
    compiling.push(`${label} (${gyp ? 'binding.gyp' : safeName(scripts.find((script) => COMPILES.test(script))!, 60)})`);
  }
  if (skipped.length > 0) warn(`${shownLock}: install scripts not run (lambda-cd never runs them at package time): ${skipped.slice(0, 5).join(', ')}${skipped.length > 5 ? ` and ${skipped.length - 5} more` : ''}`);
  if (compiling.length > 0) {
    throw new ConfigError(
      `${shownLock}: ${compiling.slice(0, 5).join(', ')}${compiling.length > 5 ? ` and ${compiling.length - 5} more` : ''} would compile native code when installed, for this build machine rather than Lambda (linux ${cpu}, glibc), and ship${compiling.length === 1 ? 's' : ''} no prebuilt binary for it; ` +
        'use a version or an alternative with prebuilt linux binaries (optional platform packages such as @img/sharp-linux-x64), or provide it from a Lambda layer built on Amazon Linux',
    );
  }
}

/** A platform package for linux/cpu among its installed optional dependencies, or node-gyp-build's prebuilds/linux-cpu/. */
function prebuiltFor(prefix: string, pkg: LockedPackage, json: InstalledJson, cpu: string, byLocation: Map<string, LockedPackage>): boolean {
  if (existsSync(path.join(prefix, pkg.location, 'prebuilds', `linux-${cpu}`))) return true;
  for (const name of Object.keys(json.optionalDependencies ?? {})) {
    // npm places it next to the package (nested) or higher up; the nearest one is what require() finds.
    const candidates = nestedLocations(pkg.location, name);
    const platform = candidates.map((location) => byLocation.get(location)).find((found) => found !== undefined);
    if (!platform) continue;
    const own = readInstalled(path.join(prefix, platform.location));
    const os = own.os ?? platform.os;
    const cpus = own.cpu ?? platform.cpu;
    if (os?.includes('linux') && cpus?.includes(cpu)) return true;
  }
  return false;
}

/** node_modules/a/node_modules/b -> where `name` would be found from there, nearest first. */
function nestedLocations(location: string, name: string): string[] {
  const result: string[] = [];
  let base = location;
  for (;;) {
    result.push(`${base}/node_modules/${name}`);
    const at = base.lastIndexOf('/node_modules/');
    if (at < 0) break;
    base = base.slice(0, at);
  }
  result.push(`node_modules/${name}`);
  return result;
}

function readInstalled(folder: string): InstalledJson {
  try {
    return JSON.parse(readFileSync(path.join(folder, 'package.json'), 'utf8')) as InstalledJson;
  } catch {
    return {};
  }
}

