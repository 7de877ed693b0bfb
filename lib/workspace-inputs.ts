/**
 * Change detection for a multi-function build: a digest over everything that decides a
 * function's zip (its folder, the folders it includes, the layers it uses, the root entry, the
 * options and pip's environment), and a record of the last successful build beside its outputs.
 * The record is untrusted (dist/ may be restored from a CI cache or edited): it is believed only
 * when its digest is the one computed now from the sources AND the zip and manifest beside it
 * still hash to what it recorded; anything else (a missing, malformed or tampered record, an
 * edited zip) means a rebuild, never a stale zip.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync, type Dirent } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from './atomic.js';
import { toPosix } from './paths.js';
import { version } from './version.js';

/** Never inputs: build outputs, caches, VCS data, bytecode. */
const SKIP = new Set(['.lambda-cd', 'dist', '.git', '.hg', '.svn', '__pycache__', '.pytest_cache', '.mypy_cache', '.tox', '.venv']);
const RECORD_VERSION = 1;

/** sha256 over the names and contents of every file below `folder` (symlinks by their target text and what they lead to). */
export function digestFolder(folder: string): string {
  const hash = createHash('sha256');
  const pending = [''];
  const names: string[] = [];
  while (pending.length > 0) {
    const relative = pending.pop()!;
    let entries: Dirent[];
    try {
      entries = readdirSync(path.join(folder, relative), { withFileTypes: true });
    } catch {
      names.push(`${relative}\0unreadable`);
      continue;
    }
    for (const entry of entries) {
      if (SKIP.has(entry.name) || entry.name.endsWith('.pyc')) continue;
      const child = relative ? path.join(relative, entry.name) : entry.name;
      if (entry.isDirectory()) pending.push(child);
      else names.push(child);
    }
  }
  for (const name of names.sort()) {
    const absolute = path.join(folder, name);
    hash.update(`${toPosix(name)}\0`);
    try {
      const info = statSync(absolute);
      const link = (() => {
        try {
          return readlinkSync(absolute);
        } catch {
          return '';
        }
      })();
      hash.update(`${link}\0${info.mode & 0o111 ? 'x' : '-'}\0`);
      if (info.isFile()) hash.update(readFileSync(absolute));
      else if (info.isDirectory()) hash.update('\0a linked folder'); // by its target text only: links may loop
    } catch {
      hash.update('\0missing');
    }
    hash.update('\0');
  }
  return hash.digest('hex');
}

/** The digest of a set of named parts (folders by digest, settings as JSON). */
export function digestInputs(parts: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify({ lambdaCd: version(), ...parts })).digest('hex');
}

/** pip's and lambda-cd's environment that can change what a build resolves. */
export function buildEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([key]) => key.startsWith('PIP_') || key === 'LAMBDA_CD_MAX_UNZIPPED_BYTES' || key === 'LAMBDA_CD_WARN_ZIP_BYTES' || key === 'LAMBDA_CD_PYTHON').sort() as [string, string][]);
}

interface BuildRecord {
  version: number;
  inputs: string;
  zipSha256: string;
  manifestSha256: string;
}

function sha256File(file: string): string | undefined {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    return undefined;
  }
}

export const recordFile = (zip: string) => `${zip}.inputs.json`;

/** Why `zip` must be built again for `inputs`, or undefined when the record and the outputs still check out. */
export function whyRebuild(zip: string, inputs: string): string | undefined {
  const file = recordFile(zip);
  if (!existsSync(file)) return 'no earlier build';
  let record: Partial<BuildRecord>;
  try {
    record = JSON.parse(readFileSync(file, 'utf8')) as Partial<BuildRecord>;
  } catch {
    return 'its build record cannot be read';
  }
  if (typeof record !== 'object' || record === null || record.version !== RECORD_VERSION || typeof record.inputs !== 'string' || typeof record.zipSha256 !== 'string' || typeof record.manifestSha256 !== 'string') return 'its build record is not one lambda-cd wrote';
  if (record.inputs !== inputs) return 'its inputs changed';
  const zipSha = sha256File(zip);
  if (zipSha === undefined) return 'its zip is missing';
  if (zipSha !== record.zipSha256) return 'its zip does not match the build record';
  const manifest = `${zip}.manifest.json`;
  if (sha256File(manifest) !== record.manifestSha256) return 'its manifest does not match the build record';
  try {
    if ((JSON.parse(readFileSync(manifest, 'utf8')) as { sha256?: unknown }).sha256 !== zipSha) return 'its manifest names another zip';
  } catch {
    return 'its manifest cannot be read';
  }
  return undefined;
}

/** Records a successful build of `zip` from `inputs` (after the zip and manifest are in place). */
export async function writeBuildRecord(zip: string, inputs: string): Promise<void> {
  const record: BuildRecord = { version: RECORD_VERSION, inputs, zipSha256: sha256File(zip)!, manifestSha256: sha256File(`${zip}.manifest.json`)! };
  await writeFileAtomic(recordFile(zip), `${JSON.stringify(record, null, 2)}\n`);
}
