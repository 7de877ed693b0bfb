/**
 * lib/zip.ts writes the same bytes whichever way an entry's data was made: deflated into memory
 * (a few small files, a src-only rebuild) or into blob files on the thread pool, and a zip whose
 * first part is copied from a kept prefix (with its central directory records merged, not rebuilt)
 * equals the zip written whole. Read back by Python's zipfile, every CRC checked.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { compressFiles, fitsInMemory, IN_MEMORY_LIMIT, writeZip, type FileToZip, type ZipEntry } from '../lib/zip.js';
import { tempDir } from './helpers/repo.js';

async function sampleFiles(dir: string): Promise<FileToZip[]> {
  await mkdir(path.join(dir, 'in'), { recursive: true });
  const text = 'def handler(event, context):\n    return {"ok": True}\n'.repeat(40);
  const contents: Record<string, Buffer> = {
    'app.py': Buffer.from(text),
    'empty.py': Buffer.alloc(0),
    'noise.bin': randomBytes(20_000), // deflate makes it larger: stored
    'run.sh': Buffer.from('#!/bin/sh\necho hi\n'),
    'pkg/ünïcode.py': Buffer.from('X = "ü"\n'),
    'pkg/sixteen.txt': Buffer.from('a'.repeat(70_000)), // above the 16 KB synchronous limit of the blob path
  };
  const files: FileToZip[] = [];
  for (const [name, data] of Object.entries(contents)) {
    const file = path.join(dir, 'in', name.replace(/\//g, '_'));
    await writeFile(file, data);
    files.push({ name, path: file, executable: name.endsWith('.sh'), size: data.length });
  }
  await chmod(path.join(dir, 'in', 'run.sh'), 0o755);
  // A range of a file (a stored wheel member) and generated content.
  await writeFile(path.join(dir, 'in', 'archive'), Buffer.concat([Buffer.from('HEADER'), Buffer.from(text), Buffer.from('TRAILER')]));
  files.push({ name: 'member.py', path: path.join(dir, 'in', 'archive'), executable: false, offset: 6, size: text.length });
  files.push({ name: 'pkg-1.0.dist-info/INSTALLER', path: 'pkg-1.0.dist-info/INSTALLER', executable: false, data: Buffer.from('pip\n'), size: 4 });
  return files;
}

async function zipfileContents(file: string): Promise<Record<string, string>> {
  const script = 'import json, sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint(json.dumps({i.filename: z.read(i).hex() for i in z.infolist()}))';
  return JSON.parse((await execa('python3', ['-c', script, file])).stdout);
}

describe('compressFiles into memory or into blobs', () => {
  it('gives the same entries and the very same zip bytes', async () => {
    const dir = await tempDir('lambda-cd-zip-');
    const files = await sampleFiles(dir);
    expect(fitsInMemory(files)).toBe(true);
    const inMemory = await compressFiles(files, path.join(dir, 'mem'), { inMemory: true });
    const inBlobs = await compressFiles(files, path.join(dir, 'blob'), { concurrency: 2 });
    expect(inMemory.every((entry) => entry.data !== undefined && entry.blob === undefined)).toBe(true);
    expect(inBlobs.every((entry) => entry.data === undefined && entry.blob !== undefined)).toBe(true);
    const fields = (entries: ZipEntry[]) => entries.map(({ name, method, crc, size, compressedSize, executable }) => ({ name, method, crc, size, compressedSize, executable }));
    expect(fields(inMemory)).toEqual(fields(inBlobs));
    expect(inMemory.find((entry) => entry.name === 'noise.bin')!.method).toBe(0);
    await writeZip(path.join(dir, 'mem.zip'), inMemory);
    await writeZip(path.join(dir, 'blob.zip'), inBlobs);
    expect((await readFile(path.join(dir, 'mem.zip'))).equals(await readFile(path.join(dir, 'blob.zip')))).toBe(true);
    const content = await zipfileContents(path.join(dir, 'mem.zip'));
    expect(Buffer.from(content['member.py']!, 'hex').toString()).toBe((await readFile(path.join(dir, 'in', 'app.py'))).toString());
    expect(Object.keys(content)).toHaveLength(files.length);
  });

  it('uses blobs for a set larger than the in-memory limit, or one whose sizes are not known', async () => {
    expect(fitsInMemory([{ name: 'a', path: 'a', executable: false, size: IN_MEMORY_LIMIT + 1 }])).toBe(false);
    expect(fitsInMemory([{ name: 'a', path: 'a', executable: false }])).toBe(false);
    const dir = await tempDir('lambda-cd-zip-');
    await writeFile(path.join(dir, 'big'), randomBytes(IN_MEMORY_LIMIT + 10));
    const [entry] = await compressFiles([{ name: 'big', path: path.join(dir, 'big'), executable: false, size: IN_MEMORY_LIMIT + 10 }], path.join(dir, 'blob'), { inMemory: true });
    expect(entry!.blob).toBeDefined();
    expect(entry!.data).toBeUndefined();
  });
});

describe('a zip written from a kept first part', () => {
  it('equals the zip written whole, its central directory sorted across both parts, for a part of several copy chunks', async () => {
    const dir = await tempDir('lambda-cd-zip-');
    const files = await sampleFiles(dir);
    // A first part larger than the copy's chunks (4 MB, three in flight): 13 MB, stored.
    await writeFile(path.join(dir, 'in', 'large'), randomBytes(13 * 1024 * 1024 + 17));
    const deps = await compressFiles([...files.slice(0, 4), { name: 'pkg/large.so', path: path.join(dir, 'in', 'large'), executable: false, size: 13 * 1024 * 1024 + 17 }], path.join(dir, 'deps'), { concurrency: 2 });
    // The second part's names fall between, before and after the first's.
    const src = (await compressFiles(files.slice(4), path.join(dir, 'src'), { inMemory: true })).map((entry) => ({ ...entry, name: `${entry.name === 'member.py' ? 'a' : 'z'}/${entry.name}` }));
    src.push({ ...src[0]!, name: 'pkg/between.py' });
    const whole = await writeZip(path.join(dir, 'whole.zip'), src, { first: deps });
    const kept = path.join(dir, 'kept.bin');
    await writeFile(kept, Buffer.concat([(await readFile(path.join(dir, 'whole.zip'))).subarray(0, whole.first.length), Buffer.from('whatever follows')]));
    const copied = await writeZip(path.join(dir, 'copied.zip'), src, { first: { file: kept, length: whole.first.length, central: whole.first.central } });
    expect(copied.sha256).toBe(whole.sha256);
    expect((await readFile(path.join(dir, 'copied.zip'))).equals(await readFile(path.join(dir, 'whole.zip')))).toBe(true);
    expect(copied.first.hash.copy().digest('hex')).toBe(whole.first.hash.copy().digest('hex'));
    const names = Object.keys(await zipfileContents(path.join(dir, 'copied.zip')));
    expect(names).toEqual([...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    expect(names).toContain('pkg/between.py');
    expect(names).toHaveLength(deps.length + src.length);
  });

  it('refuses a name in both parts, and a kept part shorter than its length', async () => {
    const dir = await tempDir('lambda-cd-zip-');
    const files = await sampleFiles(dir);
    const entries = await compressFiles(files, path.join(dir, 'blob'), { inMemory: true });
    await expect(writeZip(path.join(dir, 'twice.zip'), entries.slice(0, 2), { first: entries.slice(0, 3) })).rejects.toThrow(/in both parts/);
    const whole = await writeZip(path.join(dir, 'whole.zip'), entries.slice(3), { first: entries.slice(0, 3) });
    const kept = path.join(dir, 'short.bin');
    await writeFile(kept, (await readFile(path.join(dir, 'whole.zip'))).subarray(0, whole.first.length - 5));
    await expect(writeZip(path.join(dir, 'short.zip'), entries.slice(3), { first: { file: kept, length: whole.first.length, central: whole.first.central } })).rejects.toThrow(/shorter than/);
  });
});
