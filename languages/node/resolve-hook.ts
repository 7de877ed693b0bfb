/**
 * Where a Node.js process run by lambda-cd (a test file, the handler import check, an env.mjs)
 * finds packages: the folders of ours that npm installed into (`first`, before the repository's
 * own node_modules/, which may be stale) and, last, the AWS SDK v3 that Lambda's runtime provides
 * (lambda-cd's own @aws-sdk/* copy, when it has one). ESM goes through a resolve hook registered
 * with --import; CommonJS require() through NODE_PATH, which Node consults after node_modules/.
 * Packages resolve their own dependencies from where they are installed, untouched.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { temporaryName } from '../../lib/atomic.js';

/** The hook itself (ESM, run by Node's loader thread). */
const HOOK = String.raw`
let first = [], last = [], own = [];
export async function initialize(data) { ({ first, last } = data); own = first.map((file) => file.slice(0, file.lastIndexOf('/') + 1)); }
const bare = (specifier) => !/^(\.|\/|[a-zA-Z][a-zA-Z0-9+.-]*:)/.test(specifier) && !specifier.startsWith('#');
async function from(bases, specifier, context, next) {
  for (const base of bases) {
    try { return await next(specifier, { ...context, parentURL: base }); } catch {}
  }
  return undefined;
}
export async function resolve(specifier, context, next) {
  // Node 20 merges the context of every next() call into one object: each call names its parentURL.
  const parentURL = context.parentURL;
  const inside = parentURL && own.some((dir) => parentURL.startsWith(dir));
  if (bare(specifier) && !inside) {
    const found = await from(first, specifier, context, next);
    if (found) return found;
  }
  try {
    return await next(specifier, { ...context, parentURL });
  } catch (error) {
    if (!bare(specifier) || !specifier.startsWith('@aws-sdk/')) throw error;
    const found = await from(last, specifier, context, next);
    if (found) return found;
    throw error;
  }
}
`;
const REGISTER = String.raw`
import { register } from 'node:module';
register(new URL('./hook.mjs', import.meta.url), { data: JSON.parse(process.env.LAMBDA_CD_NODE_RESOLVE || '{"first":[],"last":[]}') });
`;

export interface ResolveOptions {
  cacheDir: string;
  /** node_modules folders searched first. */
  first: string[];
}

/** The variables that make a node process resolve as described above. */
export async function resolveEnvironment(options: ResolveOptions): Promise<Record<string, string>> {
  const register = await hookFiles(options.cacheDir);
  const sdk = await providedSdk(options.cacheDir);
  // A URL of a file inside each folder's parent: node_modules/ is looked up from there.
  const base = (nodeModules: string) => pathToFileURL(path.join(path.dirname(nodeModules), 'lambda-cd-resolve.js')).href;
  const data = { first: options.first.map(base), last: sdk ? [base(sdk)] : [] };
  return {
    NODE_OPTIONS: `--import=${pathToFileURL(register).href}`,
    NODE_PATH: [...options.first, ...(sdk ? [sdk] : [])].join(path.delimiter),
    LAMBDA_CD_NODE_RESOLVE: JSON.stringify(data),
  };
}

/** The hook's files, content-addressed in the cache (written once, checked on every use). */
async function hookFiles(cacheDir: string): Promise<string> {
  const digest = createHash('sha256').update(HOOK).update(REGISTER).digest('hex').slice(0, 16);
  const dir = path.join(cacheDir, 'node-hooks', digest);
  const register = path.join(dir, 'register.mjs');
  const intact = () => existsSync(register) && readFileSync(register, 'utf8') === REGISTER && readFileSync(path.join(dir, 'hook.mjs'), 'utf8') === HOOK;
  if (intact()) return register;
  await rm(dir, { recursive: true, force: true });
  const stage = path.join(path.dirname(dir), temporaryName('tmp'));
  await mkdir(stage, { recursive: true });
  await writeFile(path.join(stage, 'hook.mjs'), HOOK);
  await writeFile(path.join(stage, 'register.mjs'), REGISTER);
  await rename(stage, dir).catch(async () => rm(stage, { recursive: true, force: true }));
  return register;
}

/**
 * A node_modules/ holding only @aws-sdk (a link to lambda-cd's own copy), so that nothing else
 * lambda-cd depends on becomes importable by the function. Undefined when lambda-cd has no copy
 * (its image carries one bundled file).
 */
async function providedSdk(cacheDir: string): Promise<string | undefined> {
  let scope: string;
  try {
    scope = path.dirname(path.dirname(realpathSync(createRequire(import.meta.url).resolve('@aws-sdk/client-lambda/package.json'))));
  } catch {
    return undefined;
  }
  const nodeModules = path.join(cacheDir, 'node-sdk', 'node_modules');
  const link = path.join(nodeModules, '@aws-sdk');
  const current = (() => {
    try {
      return readlinkSync(link);
    } catch {
      return undefined;
    }
  })();
  if (current !== scope) {
    await mkdir(nodeModules, { recursive: true });
    const temporary = path.join(nodeModules, temporaryName('tmp'));
    await symlink(scope, temporary);
    await rename(temporary, link);
  }
  return nodeModules;
}
