/**
 * What a requirements file makes pip read, by content (lib/requirement-inputs.ts): the cache
 * keys of package and the test runners are built from this digest, so a vendored wheel rebuilt
 * under the same name, an edited include or a changed local project folder is never stale.
 */
import { chmod, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../lib/errors.js';
import { readRequirementInputs } from '../lib/requirement-inputs.js';
import { tempDir, writeFiles } from './helpers/repo.js';

async function repo(files: Record<string, string>): Promise<string> {
  const root = await tempDir('lambda-cd-reqs-');
  await writeFiles(root, files);
  return root;
}

function read(root: string, file = 'requirements.txt', extraFindLinks?: string[]) {
  return readRequirementInputs(path.join(root, file), { cwd: root, extraFindLinks });
}

function failure(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('readRequirementInputs', () => {
  it('covers a vendored wheel, a local project folder, includes and find-links folders by content', async () => {
    const root = await repo({
      'requirements.txt': '-r common/base.txt\n./vendor/mylib-1.0-py3-none-any.whl\n-e ./libs/shared  # editable\n--find-links wheels\n',
      'common/base.txt': '-c pins.txt\nsix==1.16.0 \\\n  --hash=sha256:abc\n',
      'common/pins.txt': 'six==1.16.0\n',
      'vendor/mylib-1.0-py3-none-any.whl': 'wheel v1',
      'libs/shared/pyproject.toml': '[project]\nname = "shared"\n',
      'libs/shared/shared/__init__.py': 'X = 1\n',
      'libs/shared/shared/__pycache__/x.pyc': 'ignored',
      'wheels/other-2.0-py3-none-any.whl': 'other v1',
    });
    const first = read(root);
    expect(first.requirementFiles.map((file) => path.relative(root, file))).toEqual(['requirements.txt', 'common/base.txt', 'common/pins.txt']);
    expect(first.localPaths.map((file) => path.relative(root, file))).toEqual(['vendor/mylib-1.0-py3-none-any.whl', 'libs/shared']);
    expect(first.findLinks.map((file) => path.relative(root, file))).toEqual(['wheels']);
    expect(first.requirements.map((line) => line.text)).toEqual(['six==1.16.0 --hash=sha256:abc', './vendor/mylib-1.0-py3-none-any.whl', '-e ./libs/shared']);
    expect(first.constraints.map((line) => line.text)).toEqual(['six==1.16.0']);

    const digests = [first.digest];
    for (const [file, content] of [
      ['vendor/mylib-1.0-py3-none-any.whl', 'wheel v2'], // rebuilt under the same name
      ['libs/shared/shared/__init__.py', 'X = 2\n'],
      ['common/pins.txt', 'six==1.17.0\n'],
      ['wheels/other-2.0-py3-none-any.whl', 'other v2'],
    ] as const) {
      await writeFile(path.join(root, file), content);
      digests.push(read(root).digest);
    }
    expect(new Set(digests).size).toBe(digests.length);
    // Bytecode caches and the repository's absolute location change nothing.
    await writeFile(path.join(root, 'libs/shared/shared/__pycache__/x.pyc'), 'changed');
    expect(read(root).digest).toBe(digests.at(-1));
  });

  it('gives the same digest for the same content in another folder (CodeBuild checks out somewhere new each build)', async () => {
    const files = { 'requirements.txt': '-r more.txt\n./vendor/a-1-py3-none-any.whl\n', 'more.txt': 'six\n', 'vendor/a-1-py3-none-any.whl': 'a' };
    expect(read(await repo(files)).digest).toBe(read(await repo(files)).digest);
  });

  it('reads find-links given on the command line, and a file: URL requirement', async () => {
    const root = await repo({ 'requirements.txt': 'mylib @ file:///PLACEHOLDER\n', 'extra/x-1-py3-none-any.whl': '1', 'lib.whl': 'v1' });
    await writeFile(path.join(root, 'requirements.txt'), `mylib @ file://${path.join(root, 'lib.whl')}\n`);
    const before = read(root, 'requirements.txt', [path.join(root, 'extra'), 'https://example.com/simple']);
    expect(before.localPaths).toEqual([path.join(root, 'lib.whl')]);
    await writeFile(path.join(root, 'extra/x-1-py3-none-any.whl'), '2');
    expect(read(root, 'requirements.txt', [path.join(root, 'extra')]).digest).not.toBe(before.digest);
  });

  it('records index URLs and VCS requirements with where they came from', async () => {
    const root = await repo({ 'requirements.txt': '--index-url https://pypi.example.com/simple\nrequests\ngit+https://github.com/o/r.git@v1#egg=r\n' });
    const inputs = read(root);
    expect(inputs.indexUrls).toMatchObject([{ line: 1, text: 'https://pypi.example.com/simple' }]);
    expect(inputs.vcs).toMatchObject([{ line: 3 }]);
  });

  it('refuses an include cycle, naming the chain', async () => {
    const root = await repo({ 'requirements.txt': 'six\n-r requirements.txt\n' });
    expect(failure(() => read(root)).message).toMatch(/requirements\.txt line 2: includes itself \(.*requirements\.txt -> .*requirements\.txt\)/);
    const indirect = await repo({ 'requirements.txt': '-r a.txt\n', 'a.txt': '-r b.txt\n', 'b.txt': '-c a.txt\n' });
    expect(failure(() => read(indirect)).message).toMatch(/b\.txt line 1: includes itself \(.*a\.txt -> .*b\.txt -> .*a\.txt\)/);
  });

  it('reads a file included twice (not a cycle) once', async () => {
    const root = await repo({ 'requirements.txt': '-r a.txt\n-r b.txt\n', 'a.txt': '-c pins.txt\n', 'b.txt': '-c pins.txt\n', 'pins.txt': 'six==1\n' });
    expect(read(root).requirementFiles).toHaveLength(4);
  });

  it('never reads a pseudo-file or device, and never echoes what it holds', async () => {
    const root = await repo({ 'requirements.txt': '-r /proc/self/environ\n' });
    const message = failure(() => read(root)).message;
    expect(message).toBe('requirements.txt line 1: -r /proc/self/environ: expected a regular file, found a special file'.replace('requirements.txt', path.join(root, 'requirements.txt')));
    for (const target of ['/dev/zero', '/proc/self/environ']) {
      await symlink(target, path.join(root, `link-${path.basename(target)}`));
      await writeFile(path.join(root, 'requirements.txt'), `-r link-${path.basename(target)}\n`);
      expect(failure(() => read(root)).message).toMatch(/expected a regular file, found a special file/);
    }
  });

  it('names a missing include, a folder given as an include, a missing local wheel and an unreadable file', async () => {
    const root = await repo({ 'requirements.txt': '-r nope.txt\n', 'folder/x': '' });
    expect(failure(() => read(root)).message).toMatch(/requirements\.txt line 1: -r nope\.txt: no such file$/);
    await writeFile(path.join(root, 'requirements.txt'), 'six\n-r folder\n');
    expect(failure(() => read(root)).message).toMatch(/line 2: -r folder: expected a regular file, found a folder$/);
    await writeFile(path.join(root, 'requirements.txt'), './vendor/gone-1.0-py3-none-any.whl\n');
    expect(failure(() => read(root)).message).toMatch(/line 1: \.\/vendor\/gone-1\.0-py3-none-any\.whl: no such file or folder/);
    if (process.getuid?.() !== 0) {
      await writeFile(path.join(root, 'requirements.txt'), '-r secret.txt\n');
      await writeFile(path.join(root, 'secret.txt'), 'six\n');
      await chmod(path.join(root, 'secret.txt'), 0);
      expect(failure(() => read(root)).message).toMatch(/cannot be read \(EACCES\)/);
    }
  });

  it('names the line of a file: URL it cannot use, and of a folder that holds unreadable pseudo-files', async () => {
    const root = await repo({ 'requirements.txt': '' });
    for (const line of ['-f file://buildhost/wheels', '-e file:///tmp/%zz', 'mylib @ file://server/share/mylib-1.0-py3-none-any.whl']) {
      await writeFile(path.join(root, 'requirements.txt'), `six\n${line}\n`);
      expect(failure(() => read(root)).message).toMatch(/requirements\.txt line 2: .*: not a local file URL \(expected file:\/\/\/absolute\/path, or a path\)$/);
    }
    // A folder requirement pointing at the filesystem's root walks into /proc: a clear error, not a crash.
    await writeFile(path.join(root, 'requirements.txt'), '-e /proc/self\n');
    expect(failure(() => read(root)).message).toMatch(/requirements\.txt line 1: .*cannot be (read|listed) \(\w+\)/);
  });

  it('escapes control characters of a line it names', async () => {
    const root = await repo({ 'requirements.txt': '-r ./x\u001b[31m.txt\n' });
    expect(failure(() => read(root)).message).toContain('\\x1b[31m');
  });
});
