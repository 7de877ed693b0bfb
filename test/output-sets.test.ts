/**
 * A set of outputs is replaced as a whole or not at all (#12): create-cf's templates on a full
 * disk or with a folder in the way, and lib/atomic.ts replaceOutputSet itself.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { replaceOutputSet, writeFileSetAtomic } from '../lib/atomic.js';
import { CLI, PROJECT_ROOT } from './helpers/cli.js';
import { makeRepo, tempDir, writeManifest } from './helpers/repo.js';

const OLD = { 'stackGamma.json': '{"old": "Gamma"}\n', 'stackPROD.json': '{"old": "PROD"}\n' };

/** A repository whose PROD template is far bigger than Gamma's (a long iam file), so a size limit can fall between them. */
async function repoWithBigProd(): Promise<string> {
  const statements = Array.from({ length: 400 }, (_, i) => `  - Effect: Allow\n    Action: [s3:GetObject]\n    Resource: "arn:aws:s3:::bucket-${i}/*"\n`).join('');
  return makeRepo({ 'config/Gamma/env.yaml': 'A1: "x"\n', 'config/PROD/iam.yaml': `Statements:\n${statements}` });
}

async function oldTemplates(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(OLD)) await writeFile(path.join(dir, name), text);
}

function contents(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).sort().map((name) => [name, readFileSync(path.join(dir, name), 'utf8')]));
}

async function createCf(root: string, outDir: string, prefix: string[] = []) {
  await writeManifest(root); // create-cf names each version after the package's zip
  const [file, ...args] = [...prefix, process.execPath, CLI, 'create-cf', '--path', root, '--stack', 'Pipe', '--out-dir', outDir];
  const result = await execa(file!, args, { env: { NO_COLOR: '1' }, reject: false });
  return { exitCode: result.exitCode, stderr: result.stderr };
}

const mounted: string[] = [];
afterAll(async () => {
  for (const dir of mounted) await execa('umount', [dir], { reject: false });
});

describe('create-cf replaces its templates as one set', () => {
  it('the file size limit reached at the second template (ulimit -f): the previous set stays, whole, and no temporary is left', async () => {
    const root = await repoWithBigProd();
    const out = await tempDir();
    await oldTemplates(out);
    // Gamma's template (a few KB) fits, PROD's (about 60 KB) does not.
    const result = await createCf(root, out, ['prlimit', '--fsize=20000']);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^lambda-cd: error: .*stackPROD\.json: cannot write the output here: file too large for this file system or for the file size limit \(ulimit -f\)$/)]);
    expect(result.exitCode).toBe(3);
    expect(contents(out)).toEqual(OLD);
    // Without the limit, both are replaced.
    const again = await createCf(root, out);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(Object.keys(contents(out))).toEqual(['stackGamma.json', 'stackPROD.json']);
    expect(JSON.parse(contents(out)['stackPROD.json']!).Resources).toBeDefined();
  });

  it.runIf(process.getuid?.() === 0)('a full disk (a small tmpfs): no new stackGamma.json next to an old stackPROD.json', async () => {
    const root = await repoWithBigProd();
    const out = await tempDir();
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=48k', 'tmpfs', out]);
    mounted.push(out);
    await oldTemplates(out);
    const result = await createCf(root, out);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^lambda-cd: error: .*stackPROD\.json: cannot write the output here: no space left on the device$/)]);
    expect(result.exitCode).toBe(3);
    expect(contents(out)).toEqual(OLD);
  });

  it('variant: a folder in the way of the last rename puts the first template back', async () => {
    const root = await makeRepo({ 'config/Gamma/env.yaml': 'A1: "x"\n' });
    const out = await tempDir();
    await writeFile(path.join(out, 'stackGamma.json'), OLD['stackGamma.json']);
    await mkdir(path.join(out, 'stackPROD.json'));
    const result = await createCf(root, out);
    expect(result.stderr).toMatch(/stackPROD\.json: cannot write the output here: a folder of that name is in the way/);
    expect(result.exitCode).toBe(3);
    expect(readFileSync(path.join(out, 'stackGamma.json'), 'utf8')).toBe(OLD['stackGamma.json']);
    expect(readdirSync(out).sort()).toEqual(['stackGamma.json', 'stackPROD.json']);
  });
});

describe('replaceOutputSet (lib/atomic.ts)', () => {
  it('a failure while producing the second output leaves the first target as it was and removes every temporary', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'function.zip'), 'old zip');
    await writeFile(path.join(dir, 'function.zip.manifest.json'), 'old manifest');
    await expect(replaceOutputSet([
      { target: path.join(dir, 'function.zip'), produce: (tmp) => writeFile(tmp, 'new zip') },
      { target: path.join(dir, 'function.zip.manifest.json'), produce: async () => { throw new Error('interrupted'); } },
    ])).rejects.toThrow('interrupted');
    expect(contents(dir)).toEqual({ 'function.zip': 'old zip', 'function.zip.manifest.json': 'old manifest' });
  });

  it('outputs that did not exist before are removed again when a later one fails', async () => {
    const dir = await tempDir();
    await mkdir(path.join(dir, 'b.json'));
    await expect(writeFileSetAtomic({ [path.join(dir, 'a.json')]: 'A', [path.join(dir, 'b.json')]: 'B' })).rejects.toMatchObject({ exitCode: 3 });
    expect(existsSync(path.join(dir, 'a.json'))).toBe(false);
    expect(readdirSync(dir)).toEqual(['b.json']);
  });

  it('replaces every output when all succeed, and leaves no backup behind', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'a'), 'old a');
    await writeFileSetAtomic({ [path.join(dir, 'a')]: 'new a', [path.join(dir, 'sub/b')]: 'new b' });
    expect(readFileSync(path.join(dir, 'a'), 'utf8')).toBe('new a');
    expect(readdirSync(dir).sort()).toEqual(['a', 'sub']);
    expect(readFileSync(path.join(dir, 'sub/b'), 'utf8')).toBe('new b');
  });

  it('a failure after the first file of a pair is in place (the second rename fails) puts the old pair back, leaving no temporary or backup', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'function.zip'), 'old zip');
    await writeFile(path.join(dir, 'function.zip.manifest.json'), 'old manifest');
    await expect(replaceOutputSet([
      { target: path.join(dir, 'function.zip'), produce: (tmp) => writeFile(tmp, 'new zip') },
      // Written, then gone before its rename (as if another process cleaned the folder): the zip is renamed first, then this fails.
      { target: path.join(dir, 'function.zip.manifest.json'), produce: async (tmp) => { await writeFile(tmp, 'new manifest'); await rm(tmp); } },
    ])).rejects.toMatchObject({ exitCode: 3 });
    expect(contents(dir)).toEqual({ 'function.zip': 'old zip', 'function.zip.manifest.json': 'old manifest' });
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('%s while the second output is written leaves the old pair and no temporary', async (signal) => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'function.zip'), 'old zip');
    await writeFile(path.join(dir, 'function.zip.manifest.json'), 'old manifest');
    // A process that writes the pair and is interrupted while producing the manifest (the zip's temporary written).
    const script = `import { writeFile } from 'node:fs/promises';
import { replaceOutputSet } from ${JSON.stringify(path.join(PROJECT_ROOT, 'build/lib/atomic.js'))};
const [dir, signal] = process.argv.slice(2);
await replaceOutputSet([
  { target: dir + '/function.zip', produce: (tmp) => writeFile(tmp, 'new zip') },
  { target: dir + '/function.zip.manifest.json', produce: async (tmp) => { await writeFile(tmp, 'half a manifest'); process.kill(process.pid, signal); await new Promise((r) => setTimeout(r, 30000)); } },
]);
`;
    const file = path.join(await tempDir(), 'interrupted.mjs');
    await writeFile(file, script);
    const run = await execa(process.execPath, [file, dir, signal], { reject: false });
    expect(run.signal).toBe(signal);
    expect(contents(dir)).toEqual({ 'function.zip': 'old zip', 'function.zip.manifest.json': 'old manifest' });
  });
});
