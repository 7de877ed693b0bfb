/**
 * A src/-only rebuild copies the zip part the wheels place, kept by the last build, instead of
 * planning and copying every wheel again (lib/package-deps-block.ts). It must give the very bytes
 * a build from an empty cache gives, and a kept part that was tampered with, truncated or
 * replaced must never ship: it is found, discarded and the zip built from the wheels.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from './helpers/cli.js';
import { makeRepo, tempDir } from './helpers/repo.js';
import { buildWheel, offlinePipEnv } from './helpers/wheels.js';

let wheelhouse: string;

beforeAll(async () => {
  wheelhouse = await tempDir('lambda-cd-block-wheels-');
  await buildWheel(wheelhouse, {
    name: 'datapkg', version: '1.0',
    files: {
      'datapkg/__init__.py': 'from datapkg_extra.mod import VALUE\n',
      'datapkg/run.sh': '#!/bin/sh\necho run\n',
      'datapkg/blob.bin': Buffer.alloc(30_000, 7),
      'datapkg-1.0.data/purelib/datapkg_extra/__init__.py': '',
      'datapkg-1.0.data/purelib/datapkg_extra/mod.py': 'VALUE = 42\n',
      'datapkg-1.0.data/scripts/datapkg-tool': '#!python\nprint("tool")\n',
    },
    modes: { 'datapkg/run.sh': 0o755 },
    stored: ['datapkg/blob.bin'],
  });
  await buildWheel(wheelhouse, { name: 'ns-a', version: '1.0', files: { 'ns/a/__init__.py': 'A = 1\n', 'shared/__init__.py': '' } });
  await buildWheel(wheelhouse, { name: 'ns-b', version: '2.0', files: { 'ns/b/__init__.py': 'B = 2\n' }, requires: ['ns-a'], entryPoints: '[console_scripts]\nnsb = ns.b:main\n' });
});

const FILES = { 'requirements.txt': 'datapkg==1.0\nns-b\n', 'src/service/__init__.py': '', 'src/service/logic.py': 'X = 1\n' };
const build = (root: string, args: string[] = []): Promise<CliResult> => runCli(['package', '--path', root, ...args], { env: offlinePipEnv(wheelhouse) });
const zipSha = async (root: string) => createHash('sha256').update(await readFile(path.join(root, 'dist/function.zip'))).digest('hex');
const KEPT = 'their zip part kept from the last build';
/** The last "zipping" progress line: the one of the attempt that wrote the zip. */
const lastZipping = (result: CliResult) => result.stderr.split('\n').filter((line) => line.includes('] zipping ')).pop() ?? '';

/** The zip read back by Python's zipfile (every CRC checked) and unzip -t: name -> sha256 of the content. */
async function readBack(file: string): Promise<Record<string, string>> {
  await execa('unzip', ['-tq', file]);
  const script = 'import hashlib, json, sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint(json.dumps({i.filename: hashlib.sha256(z.read(i)).hexdigest() for i in z.infolist()}))';
  return JSON.parse((await execa('python3', ['-c', script, file])).stdout);
}

/** The zip a build with an empty cache makes of `root` as it is now. */
async function cleanBuildSha(root: string): Promise<string> {
  const fresh = await build(root, ['--cache-dir', await tempDir('lambda-cd-block-clean-'), '--out', path.join(await tempDir('lambda-cd-block-out-'), 'f.zip')]);
  expect(fresh.exitCode, fresh.stderr).toBe(0);
  return fresh.stdout.split('\n')[1]!.replace('sha256 ', '');
}

async function keptBlock(root: string): Promise<string> {
  const packageCache = path.join(root, '.lambda-cd/cache/package');
  const [entry] = await readdir(packageCache);
  const blocks = (await readdir(path.join(packageCache, entry!))).filter((name) => /^deps-[0-9a-f]{64}\.bin$/.test(name));
  expect(blocks).toHaveLength(1);
  return path.join(packageCache, entry!, blocks[0]!);
}

describe('a src/-only rebuild copies the kept installed part', () => {
  it('gives the bytes a build from an empty cache gives, readable by zipfile and unzip, and keeps the manifest', async () => {
    const root = await makeRepo(FILES);
    const cold = await build(root);
    expect(cold.exitCode, cold.stderr).toBe(0);
    const coldManifest = JSON.parse(await readFile(path.join(root, 'dist/function.zip.manifest.json'), 'utf8'));
    await writeFile(path.join(root, 'src/service/logic.py'), 'X = 2\n');
    await writeFile(path.join(root, 'src/service/extra.py'), 'Y = 3\n');
    const rebuilt = await build(root);
    expect(rebuilt.exitCode, rebuilt.stderr).toBe(0);
    expect(rebuilt.stderr).toContain('no pip run');
    expect(rebuilt.stderr).toContain(KEPT);
    expect(await zipSha(root)).toBe(await cleanBuildSha(root));
    const content = await readBack(path.join(root, 'dist/function.zip'));
    expect(Object.keys(content)).toEqual(expect.arrayContaining(['datapkg/blob.bin', 'datapkg_extra/mod.py', 'ns/b/__init__.py', 'service/extra.py', 'service/', 'ns_b-2.0.dist-info/RECORD']));
    expect(Object.keys(content).some((name) => name.includes('datapkg-tool') || name.startsWith('bin/'))).toBe(false);
    expect(content['service/logic.py']).toBe(createHash('sha256').update('X = 2\n').digest('hex'));
    const manifest = JSON.parse(await readFile(path.join(root, 'dist/function.zip.manifest.json'), 'utf8'));
    expect(manifest.distributions).toEqual(coldManifest.distributions);
    expect(manifest.fileCount).toBe(coldManifest.fileCount + 1);
    const modes = (await execa('unzip', ['-Z', path.join(root, 'dist/function.zip'), 'datapkg/run.sh', 'service/extra.py'])).stdout;
    expect(modes).toMatch(/-rwxr-xr-x.*datapkg\/run\.sh/);
    expect(modes).toMatch(/-rw-r--r--.*service\/extra\.py/);
  });

  it('falls back to the wheels when src/ replaces an installed file, or clashes with an installed folder', async () => {
    const root = await makeRepo(FILES);
    expect((await build(root)).exitCode).toBe(0);
    await mkdir(path.join(root, 'src/shared'), { recursive: true });
    await writeFile(path.join(root, 'src/shared/__init__.py'), 'MINE = True\n');
    const shadowing = await build(root);
    expect(shadowing.exitCode, shadowing.stderr).toBe(0);
    expect(shadowing.stderr).toContain('src/ replaces 1 installed file of the same name (shared/__init__.py)');
    expect(shadowing.stderr).not.toContain(KEPT);
    expect(await zipSha(root)).toBe(await cleanBuildSha(root));
    expect((await readBack(path.join(root, 'dist/function.zip')))['shared/__init__.py']).toBe(createHash('sha256').update('MINE = True\n').digest('hex'));
    // A src/ file where the wheels have a folder: the same one-line refusal as without a kept part.
    await rm(path.join(root, 'src/shared'), { recursive: true });
    await writeFile(path.join(root, 'src/ns'), 'a file\n');
    const clash = await build(root);
    expect(clash.exitCode).toBe(2);
    expect(clash.stderr).toContain('src/ns is a file, but ns/a/__init__.py from ns-a 1.0 needs a folder of that name');
  });
});

describe('a kept part an earlier lambda-cd wrote', () => {
  it('(deps-block-v1: entries in its JSON, a 12-byte trailer) is replaced without a warning', async () => {
    const root = await makeRepo(FILES);
    expect((await build(root)).exitCode).toBe(0);
    const file = await keptBlock(root);
    const part = Buffer.from('PK\u0003\u0004 an old part');
    const meta = Buffer.from(JSON.stringify({ format: 'deps-block-v1', entries: [] }));
    const trailer = Buffer.alloc(12);
    trailer.write('LCDB', 0, 'latin1');
    trailer.writeUInt32LE(part.length, 4);
    trailer.writeUInt32LE(meta.length, 8);
    await writeFile(file, Buffer.concat([part, meta, trailer]));
    await writeFile(path.join(root, 'src/service/logic.py'), 'X = 5\n');
    const result = await build(root);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).not.toContain('warning');
    expect(lastZipping(result)).not.toContain(KEPT);
    expect(await zipSha(root)).toBe(await cleanBuildSha(root));
    // Kept again in the current format (same bytes, so the same name), and used by the next build.
    expect((await readFile(await keptBlock(root))).subarray(-16, -12).toString('latin1')).toBe('LCDB');
    await writeFile(path.join(root, 'src/service/logic.py'), 'X = 6\n');
    expect((await build(root)).stderr).toContain(KEPT);
  });
});

describe('a kept part that does not check out never ships', () => {
  const damage: [string, (file: string) => Promise<string>][] = [
    ['a flipped bit in the copied bytes', async (file) => {
      const bytes = await readFile(file);
      bytes[Math.floor(bytes.length / 4)]! ^= 0x01;
      await writeFile(file, bytes);
      return 'corrupt';
    }],
    ['its record edited to still parse (a CRC changed)', async (file) => {
      // The central directory record of datapkg/__init__.py kept after the part (its name's last occurrence): its CRC field.
      const bytes = await readFile(file);
      const record = bytes.lastIndexOf(Buffer.from('datapkg/__init__.py')) - 46;
      expect(bytes.readUInt32LE(record)).toBe(0x02014b50);
      bytes[record + 16]! ^= 0x01;
      await writeFile(file, bytes);
      return 'corrupt';
    }],
    ['its records out of order (a name edited)', async (file) => {
      // The first central directory record kept after the part: its name made to sort last.
      const bytes = await readFile(file);
      const trailer = bytes.subarray(bytes.length - 16);
      const record = trailer.readUInt32LE(4);
      expect(bytes.readUInt32LE(record)).toBe(0x02014b50);
      bytes[record + 46] = 0x7e;
      await writeFile(file, bytes);
      return 'unusable';
    }],
    ['a truncated file', async (file) => {
      await truncate(file, 200);
      return 'unusable';
    }],
    ['another build\'s part under this name', async (file) => {
      await writeFile(file, Buffer.concat([Buffer.from('PK\u0003\u0004 not ours'), Buffer.from('LCDB'), Buffer.alloc(8)]));
      return 'unusable';
    }],
    ['a part renamed to a sha256 it does not have', async (file) => {
      await rename(file, path.join(path.dirname(file), `deps-${'0'.repeat(64)}.bin`));
      return 'corrupt';
    }],
  ];
  for (const [what, spoil] of damage) {
    it(`${what}: one warning, the zip built from the verified wheels, byte-identical to a clean build`, async () => {
      const root = await makeRepo(FILES);
      expect((await build(root)).exitCode).toBe(0);
      await writeFile(path.join(root, 'src/service/logic.py'), 'X = 9\n');
      const kind = await spoil(await keptBlock(root));
      const result = await build(root);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stderr.match(new RegExp(`warning: cache: the kept zip part deps-\\S+ is ${kind}`, 'g'))).toHaveLength(1);
      expect(lastZipping(result)).not.toContain(KEPT);
      expect(await zipSha(root)).toBe(await cleanBuildSha(root));
      await readBack(path.join(root, 'dist/function.zip'));
      // A good part is kept again, and the next build uses it.
      await keptBlock(root);
      const next = await build(root);
      expect(next.stderr).toContain(KEPT);
      expect(next.stderr).not.toContain('warning');
      expect(await zipSha(root)).toBe(await cleanBuildSha(root));
    });
  }
});
