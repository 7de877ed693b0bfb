import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { EXAMPLE } from './cli.js';

const created: string[] = [];
afterAll(async () => {
  await Promise.all(created.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A temporary folder removed after the test file. */
export async function tempDir(prefix = 'lambda-cd-test-'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

/** Writes `files` (path -> content) below `root`. */
export async function writeFiles(root: string, files: Record<string, string>): Promise<void> {
  for (const [relative, content] of Object.entries(files)) {
    const file = path.join(root, relative);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
  }
}

/** A minimal valid function repository plus `files` (which may override its files). */
export async function makeRepo(files: Record<string, string> = {}): Promise<string> {
  const root = await tempDir('lambda-cd-repo-');
  await writeFiles(root, {
    'config/config.yaml': 'Name: Demo\nHandler: app.handler\n',
    'config/PROD/.keep': '',
    'src/app.py': 'def handler(event, context):\n    return {"ok": True}\n',
    'requirements.txt': '',
    ...files,
  });
  return root;
}

/** A private copy of the bundled example repository (tests may change it). */
export async function copyExample(): Promise<string> {
  const root = path.join(await tempDir('lambda-cd-example-'), 'hello-python');
  await cp(EXAMPLE, root, { recursive: true, filter: (src) => !/[/\\](dist|\.lambda-cd|__pycache__)$/.test(src) });
  return root;
}

/**
 * The package manifest `lambda-cd package` leaves in dist/ (create-cf names each stage's version
 * after the zip's sha256), for tests that template a repository without packaging it.
 */
export async function writeManifest(root: string, sha256 = 'a'.repeat(64)): Promise<void> {
  await writeFiles(root, { 'dist/function.zip.manifest.json': `${JSON.stringify({ file: 'function.zip', sha256 })}\n` });
}
