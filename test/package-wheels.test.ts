/**
 * `lambda-cd package` writes the zip from the wheel files itself (pip only resolves). These tests
 * hold it to what `pip install --target` places for the same wheels: the same file names, the
 * same bytes after inflating, the same executable bits, a RECORD that lists exactly what is there,
 * and metadata that importlib.metadata reads; with wheels using .data/purelib and platlib,
 * scripts, headers and data (left out: they would go outside the import path), namespace
 * packages, console scripts, stored members, a quoted RECORD path and a non-ASCII name.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { makeRepo, tempDir } from './helpers/repo.js';
import { buildWheel, offlinePipEnv } from './helpers/wheels.js';

let wheelhouse: string;

beforeAll(async () => {
  wheelhouse = await tempDir('lambda-cd-wheelset-');
  await buildWheel(wheelhouse, {
    name: 'datapkg', version: '1.0',
    files: {
      'datapkg/__init__.py': 'from datapkg_extra.mod import VALUE\n',
      'datapkg/run.sh': '#!/bin/sh\necho run\n',
      'datapkg/table,with comma.txt': 'a,b\n',
      'datapkg/données.txt': 'é\n',
      'datapkg/blob.bin': Buffer.alloc(30_000, 7),
      'datapkg/empty.txt': '',
      'datapkg-1.0.data/purelib/datapkg_extra/__init__.py': '',
      'datapkg-1.0.data/purelib/datapkg_extra/mod.py': 'VALUE = 42\n',
      'datapkg-1.0.data/platlib/datapkg_native.py': 'NATIVE = True\n',
      'datapkg-1.0.data/scripts/datapkg-tool': '#!python\nprint("tool")\n',
      'datapkg-1.0.data/headers/datapkg.h': '#define X 1\n',
      'datapkg-1.0.data/data/share/datapkg/readme.txt': 'data\n',
    },
    modes: { 'datapkg/run.sh': 0o755, 'datapkg-1.0.data/scripts/datapkg-tool': 0o755 },
    stored: ['datapkg/blob.bin', 'datapkg/empty.txt', 'datapkg/__init__.py'],
  });
  // A PEP 420 namespace package split over two distributions, and a pkgutil-style one sharing an __init__.py.
  await buildWheel(wheelhouse, { name: 'ns-a', version: '1.0', files: { 'ns/a/__init__.py': 'A = 1\n', 'legacyns/__init__.py': "__path__ = __import__('pkgutil').extend_path(__path__, __name__)\n", 'legacyns/a.py': '' } });
  await buildWheel(wheelhouse, { name: 'ns-b', version: '2.0', files: { 'ns/b/__init__.py': 'B = 2\n', 'legacyns/__init__.py': "__path__ = __import__('pkgutil').extend_path(__path__, __name__)\n", 'legacyns/b.py': '' }, requires: ['ns-a'] });
  // Members compressed with bzip2 and lzma (zipfile writes them; we must decompress before deflating).
  const otherMethods = `
import base64, hashlib, sys, zipfile
members = [("othermethods/__init__.py", b"from .data import TEXT\\n", zipfile.ZIP_BZIP2), ("othermethods/data.py", b"TEXT = '" + b"x" * 3000 + b"'\\n", zipfile.ZIP_LZMA),
           ("othermethods-1.0.dist-info/METADATA", b"Metadata-Version: 2.1\\nName: othermethods\\nVersion: 1.0\\n", zipfile.ZIP_DEFLATED),
           ("othermethods-1.0.dist-info/WHEEL", b"Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n", zipfile.ZIP_DEFLATED)]
record = "".join("%s,sha256=%s,%d\\n" % (n, base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b"=").decode(), len(d)) for n, d, _ in members) + "othermethods-1.0.dist-info/RECORD,,\\n"
with zipfile.ZipFile(sys.argv[1] + "/othermethods-1.0-py3-none-any.whl", "w") as z:
    for name, data, method in members + [("othermethods-1.0.dist-info/RECORD", record.encode(), zipfile.ZIP_DEFLATED)]:
        z.writestr(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), data, compress_type=method)
`;
  await execa('python3', ['-c', otherMethods, wheelhouse]);
  await buildWheel(wheelhouse, {
    name: 'clitool', version: '3.1', files: { 'clitool/__init__.py': 'def main():\n    return 0\n', 'clitool/__pycache__/x.cpython-312.pyc': 'bytecode' },
    entryPoints: '[console_scripts]\nclitool = clitool:main\n',
  });
});

/** Every file below `root`: name -> {sha256, executable}. */
async function tree(root: string, prefix = ''): Promise<Record<string, { sha256: string; executable: boolean }>> {
  const files: Record<string, { sha256: string; executable: boolean }> = {};
  for (const name of await readdir(path.join(root, prefix))) {
    const relative = prefix ? `${prefix}/${name}` : name;
    const info = await stat(path.join(root, relative));
    if (info.isDirectory()) Object.assign(files, await tree(root, relative));
    else files[relative] = { sha256: createHash('sha256').update(await readFile(path.join(root, relative))).digest('hex'), executable: (info.mode & 0o100) !== 0 };
  }
  return files;
}

/** The zip's files as Python's zipfile reads them (CRC checked): name -> {sha256, executable}, and its directories. */
async function zipTree(file: string): Promise<{ files: Record<string, { sha256: string; executable: boolean }>; dirs: string[] }> {
  const script = `
import hashlib, json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
files = {i.filename: {"sha256": hashlib.sha256(z.read(i)).hexdigest(), "executable": bool((i.external_attr >> 16) & 0o100)} for i in z.infolist() if not i.is_dir()}
print(json.dumps({"files": files, "dirs": [i.filename for i in z.infolist() if i.is_dir()]}))
`;
  return JSON.parse((await execa('python3', ['-c', script, file])).stdout);
}

describe('lambda-cd package writes what pip install --target places', () => {
  it('has the same files with the same bytes and modes, less scripts, headers and data, and a RECORD listing exactly them', async () => {
    const requirements = 'datapkg==1.0\nns-b\nclitool\nothermethods\n';
    const root = await makeRepo({ 'requirements.txt': requirements });
    const env = offlinePipEnv(wheelhouse);
    const packaged = await runCli(['package', '--path', root, '--json'], { env });
    expect(packaged.exitCode, packaged.stderr).toBe(0);

    const target = path.join(await tempDir('lambda-cd-pip-target-'), 'site');
    await mkdir(target);
    await execa('python3', ['-m', 'pip', 'install', '--no-compile', '--target', target, '-r', path.join(root, 'requirements.txt')], { env: { ...process.env, ...env } });
    const pip = await tree(target);
    const zip = await zipTree(path.join(root, 'dist/function.zip'));

    // What pip placed outside the import path (bin/ scripts, include/ headers, share/ data) and bytecode are not packed.
    const expected = Object.keys(pip).filter((name) => !/^(bin|include|share)\//.test(name) && !/__pycache__|\.pyc$/.test(name));
    expect(Object.keys(pip)).toEqual(expect.arrayContaining(['bin/clitool', 'bin/datapkg-tool', 'share/datapkg/readme.txt']));
    const ours = Object.keys(zip.files).filter((name) => name !== 'app.py');
    expect(ours.sort()).toEqual(expected.sort());
    for (const name of expected) {
      if (name.endsWith('/RECORD')) continue;
      expect(zip.files[name], name).toEqual(pip[name]);
    }
    expect(zip.files['datapkg/run.sh']!.executable).toBe(true);

    // RECORD: pip's rows, less those of what is not in the zip (../../bin/x, bytecode), byte for byte.
    const unzipped = await tempDir('lambda-cd-unzipped-');
    await execa('unzip', ['-q', path.join(root, 'dist/function.zip'), '-d', unzipped]);
    const rowPath = (row: string) => (row.startsWith('"') ? row.slice(1, row.indexOf('",')).replace(/""/g, '"') : row.slice(0, row.indexOf(',')));
    for (const record of expected.filter((name) => name.endsWith('/RECORD'))) {
      const pipRows = (await readFile(path.join(target, record), 'utf8')).split('\r\n').filter((row) => row !== '' && rowPath(row) in zip.files);
      expect(pipRows.length).toBeGreaterThan(3);
      expect(await readFile(path.join(unzipped, record), 'utf8'), record).toBe(pipRows.map((row) => `${row}\r\n`).join(''));
    }

    // Python imports from the unzipped package alone, and importlib.metadata finds every listed file.
    const check = `
import importlib.metadata as md, sys
sys.path.insert(0, sys.argv[1])
import datapkg, ns.a, ns.b, legacyns.a, legacyns.b, datapkg_native, clitool, othermethods
assert datapkg.VALUE == 42 and othermethods.TEXT == "x" * 3000
for name in ("datapkg", "ns-a", "ns-b", "clitool"):
    files = md.files(name)
    missing = [str(f) for f in files if not f.locate().exists()]
    assert not missing, (name, missing)
print(md.version("datapkg"), md.version("ns-b"), sorted(e.name for e in md.entry_points(group="console_scripts") if e.name == "clitool"))
`;
    const { stdout } = await execa('python3', ['-I', '-c', check, unzipped]);
    expect(stdout).toBe("1.0 2.0 ['clitool']");
    expect(JSON.parse(packaged.stdout).distributions.map((d: { name: string }) => d.name)).toEqual(['clitool', 'datapkg', 'ns-a', 'ns-b', 'othermethods']);
    // Every member of our zip is stored or deflated (what Lambda and every unzip read).
    const methods = (await execa('python3', ['-c', 'import sys, zipfile; print(sorted({i.compress_type for i in zipfile.ZipFile(sys.argv[1]).infolist()}))', path.join(root, 'dist/function.zip')])).stdout;
    expect(methods).toBe('[0, 8]');
  });

  it('gives the same bytes whether the wheels come from pip or from the cache, and in another checkout folder', async () => {
    const files = { 'requirements.txt': 'datapkg==1.0\nns-b\n' };
    const cache = await tempDir('lambda-cd-shared-cache-');
    const env = offlinePipEnv(wheelhouse);
    const first = await makeRepo(files);
    const cold = await runCli(['package', '--path', first, '--cache-dir', cache], { env });
    expect(cold.exitCode, cold.stderr).toBe(0);
    const second = await makeRepo(files); // CodeBuild checks out into a new folder each build
    const warm = await runCli(['package', '--path', second, '--cache-dir', cache], { env });
    expect(warm.exitCode, warm.stderr).toBe(0);
    expect(warm.stderr).toContain('no pip run');
    expect(warm.stdout.split('\n')[1]).toBe(cold.stdout.split('\n')[1]);
  });
});
