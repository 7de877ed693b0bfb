/**
 * The pip-free resolver declines every input it does not model (then pip resolves, with its own
 * behaviour and errors): one case per class, each next to a variant that it does take, so a
 * decline is for the reason named and not for any input at all.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveWithoutPip } from '../languages/python/resolver/index.js';
import { readRequirementInputs } from '../lib/requirement-inputs.js';
import { tempDir } from './helpers/repo.js';
import { buildWheel } from './helpers/wheels.js';

let root: string;
let wheels: string;
const OFFLINE = { PIP_CONFIG_FILE: '/dev/null', PIP_NO_INDEX: '1' };

beforeAll(async () => {
  root = await tempDir('lambda-cd-declines-');
  wheels = path.join(root, 'wheels');
  await buildWheel(wheels, { name: 'lib', version: '1.0', files: { 'lib/__init__.py': '' }, requires: ['dep'] });
  await buildWheel(wheels, { name: 'dep', version: '1.0', files: { 'dep/__init__.py': '' } });
  await buildWheel(wheels, { name: 'hostdep', version: '1.0', files: { 'hostdep/__init__.py': '' }, requires: ['dep; platform_version > "1"'] });
  await mkdir(path.join(root, 'simple/lib'), { recursive: true });
  await mkdir(path.join(root, 'plain'), { recursive: true });
});

async function attempt(requirements: string, env: Record<string, string> = {}, files: Record<string, string> = {}, findLinks = [wheels]): Promise<string> {
  const folder = await tempDir('lambda-cd-declines-repo-');
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(folder, name)), { recursive: true });
    await writeFile(path.join(folder, name), content.replaceAll('<wheels>', wheels).replaceAll('<root>', root));
  }
  const requirementsFile = path.join(folder, 'requirements.txt');
  await writeFile(requirementsFile, requirements.replaceAll('<wheels>', wheels).replaceAll('<root>', root));
  const inputs = readRequirementInputs(requirementsFile, { cwd: folder, findLinksContent: false });
  const result = await resolveWithoutPip({
    requirementsFile, inputs, target: { pythonVersion: '3.12', glibcMinor: 34, architecture: 'x86_64' }, pip: { findLinks },
    env: { HOME: folder, XDG_CONFIG_DIRS: path.join(folder, 'no-xdg'), ...OFFLINE, ...env },
  });
  return 'wheels' in result ? `ok: ${result.wheels.map((wheel) => `${wheel.name} ${wheel.version}`).join(', ')}` : `declines: ${result.fallback}`;
}

describe('the pip-free resolver declines what it does not model', () => {
  it('takes plain requirements over a local find-links folder', async () => {
    expect(await attempt('lib\n')).toBe('ok: dep 1.0, lib 1.0');
    expect(await attempt('lib; python_full_version >= "3.8" and implementation_version < "4"\n')).toBe('ok: dep 1.0, lib 1.0'); // the same for every 3.12.z
    expect(await attempt('lib\n', { PIP_DEFAULT_TIMEOUT: '60', PIP_CERT: '/etc/ssl/cert.pem', PIP_PROGRESS_BAR: 'off', PIP_NO_INDEX: 'yes' })).toBe('ok: dep 1.0, lib 1.0');
  });

  it.each([
    ['pip\'s default index (no --no-index)', 'lib\n', { PIP_NO_INDEX: '0' }, /an index on the network/],
    ['an index URL on the network', 'lib\n', { PIP_NO_INDEX: 'false', PIP_INDEX_URL: 'https://example.org/simple' }, /an index on the network/],
    ['an extra index on the network in a requirements file', '--extra-index-url https://example.org/simple\nlib\n', { PIP_NO_INDEX: 'off', PIP_INDEX_URL: 'file:///nowhere' }, /network/],
    ['find-links on the network', '-f https://example.org/wheels/\nlib\n', {}, /find-links on the network/],
    ['--pre in a requirements file', '--pre\nlib\n', {}, /sets a pip option \(--pre\)/],
    ['PIP_PRE', 'lib\n', { PIP_PRE: '1' }, /pip option pre \(from PIP_PRE\)/],
    ['--prefer-binary via the environment', 'lib\n', { PIP_PREFER_BINARY: 'true' }, /prefer-binary/],
    ['--upgrade-strategy', 'lib\n', { PIP_UPGRADE_STRATEGY: 'eager' }, /upgrade-strategy/],
    ['--no-binary', 'lib\n', { PIP_NO_BINARY: 'lib' }, /no-binary/],
    ['--only-binary other than ours', 'lib\n', { PIP_ONLY_BINARY: 'lib' }, /only-binary/],
    ['--use-deprecated', 'lib\n', { PIP_USE_DEPRECATED: 'legacy-resolver' }, /use-deprecated/],
    ['--require-hashes', 'lib\n', { PIP_REQUIRE_HASHES: '1' }, /require-hashes/],
    ['a --hash pin', 'lib==1.0 --hash=sha256:0000000000000000000000000000000000000000000000000000000000000000\n', {}, /requirement pip may read otherwise/],
    ['a direct reference', 'lib @ https://example.org/lib-1.0-py3-none-any.whl\n', {}, /direct reference/],
    ['a local wheel path', '<wheels>/lib-1.0-py3-none-any.whl\n', {}, /local path or VCS/],
    ['a VCS requirement', 'git+https://example.org/lib.git#egg=lib\n', {}, /local path or VCS/],
    ['a marker on platform_version in a dependency', 'hostdep\n', {}, /platform_version/],
    ['a marker on python_full_version that the host\'s patch release decides', 'lib; python_full_version >= "3.12.1"\n', {}, /depends on the build host's Python patch release/],
    ['a marker on a patch release beyond those tried', 'lib; python_full_version != "3.12.77"\n', {}, /python_full_version pip judges for the build host's patch release/],
    ['no-index that is not a boolean', 'lib\n', { PIP_NO_INDEX: 'maybe' }, /not a boolean/],
    ['LAMBDA_CD_RESOLVER=pip', 'lib\n', { LAMBDA_CD_RESOLVER: 'pip' }, /LAMBDA_CD_RESOLVER=pip/],
    ['a requirement no local wheel fits', 'lib>=2\n', {}, /no local wheel of lib fits/],
  ] as const)('declines %s', async (_title, requirements, env, reason) => {
    expect(await attempt(requirements, env)).toMatch(new RegExp(`^declines: .*${reason.source}`));
  });

  it('reads pip.conf as pip does: [install] over [global], PIP_* over both, PIP_CONFIG_FILE=/dev/null reading none', async () => {
    const conf = '[global]\nno-index = false\n\n[install]\nno-index = true\nfind-links = <wheels>\n';
    const home = await tempDir('lambda-cd-declines-home-');
    await mkdir(path.join(home, '.config/pip'), { recursive: true });
    await writeFile(path.join(home, '.config/pip/pip.conf'), conf.replaceAll('<wheels>', wheels));
    const read = async (more: Record<string, string>) => {
      const requirementsFile = path.join(home, 'requirements.txt');
      await writeFile(requirementsFile, 'lib\n');
      const result = await resolveWithoutPip({
        requirementsFile, inputs: readRequirementInputs(requirementsFile, { cwd: home, findLinksContent: false }), target: { pythonVersion: '3.12', glibcMinor: 34, architecture: 'x86_64' },
        pip: { findLinks: [] }, env: { HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), XDG_CONFIG_DIRS: path.join(home, 'none'), ...more },
      });
      return 'wheels' in result ? 'ok' : result.fallback;
    };
    expect(await read({})).toBe('ok'); // [install] no-index = true wins over [global]
    expect(await read({ PIP_NO_INDEX: '0' })).toMatch(/an index on the network/); // PIP_* wins over the file
    expect(await read({ PIP_CONFIG_FILE: '/dev/null' })).toMatch(/an index on the network/); // no file read: pip's default index
    await writeFile(path.join(home, '.config/pip/pip.conf'), '[install]\npre = yes\nno-index = 1\n');
    expect(await read({})).toMatch(/pip option pre \(from .*pip\.conf \[install\]\)/);
    await writeFile(path.join(home, '.config/pip/pip.conf'), '[install\nbroken\n');
    expect(await read({})).toMatch(/configuration file pip may read otherwise/);
  });

  it('declines when the interpreter\'s prefix holds a pip.conf (its sys.prefix is Python\'s to tell)', async () => {
    const prefix = await tempDir('lambda-cd-declines-prefix-');
    await mkdir(path.join(prefix, 'bin'), { recursive: true });
    await writeFile(path.join(prefix, 'bin/python3'), '');
    const requirementsFile = path.join(prefix, 'requirements.txt');
    await writeFile(requirementsFile, 'lib\n');
    const resolve = (env: Record<string, string>, python: string) => resolveWithoutPip({
      requirementsFile, inputs: readRequirementInputs(requirementsFile, { cwd: prefix, findLinksContent: false }), target: { pythonVersion: '3.12', glibcMinor: 34, architecture: 'x86_64' },
      pip: { findLinks: [wheels] }, python, env: { HOME: prefix, XDG_CONFIG_DIRS: path.join(prefix, 'none'), PIP_NO_INDEX: '1', ...env },
    });
    expect('wheels' in (await resolve({}, path.join(prefix, 'bin/python3')))).toBe(true);
    await writeFile(path.join(prefix, 'pip.conf'), '[install]\npre = true\n');
    for (const [env, python] of [[{}, path.join(prefix, 'bin/python3')], [{ PATH: path.join(prefix, 'bin') }, 'python3']] as const) {
      expect(await resolve(env, python)).toEqual({ fallback: `a pip.conf in the interpreter's prefix (${path.join(prefix, 'pip.conf')})` });
    }
    expect('wheels' in (await resolve({ PIP_CONFIG_FILE: '/dev/null' }, 'python3'))).toBe(true); // pip reads no file at all then
  });

  it('models constraint files (-c lines and pip.conf\'s constraint), declining what they hold beyond versions', async () => {
    expect(await attempt('-c pins.txt\nlib\n', {}, { 'pins.txt': 'dep==1.0\nunrelated>3\n' })).toBe('ok: dep 1.0, lib 1.0');
    expect(await attempt('-c pins.txt\nlib\n', {}, { 'pins.txt': 'dep>1.0\n' })).toMatch(/^declines: no local wheel of dep fits/);
    expect(await attempt('lib\n', { PIP_CONSTRAINT: 'pins.txt' }, { 'pins.txt': 'dep<1\n' })).toMatch(/^declines: no local wheel of dep fits/);
    expect(await attempt('lib\n', { PIP_CONSTRAINT: 'pins.txt' }, { 'pins.txt': 'dep==1.0\n' })).toBe('ok: dep 1.0, lib 1.0');
    expect(await attempt('lib\n', { PIP_CONSTRAINT: 'pins.txt' }, { 'pins.txt': '--pre\ndep\n' })).toMatch(/^declines: the constraint file pins\.txt sets more than versions/);
    expect(await attempt('-c pins.txt\nlib\n', {}, { 'pins.txt': 'dep @ https://example.org/dep.whl\n' })).toMatch(/^declines: constraint pins\.txt line 1: a direct reference/);
    expect(await attempt('-c pins.txt\nlib\n', {}, { 'pins.txt': 'dep[x]==1.0\n' })).toMatch(/^declines: constraint pins\.txt line 1: extras/);
  });

  it('reads a file:// simple index as pip does, and declines what pip would read otherwise', async () => {
    const page = (body: string) => writeFile(path.join(root, 'simple/lib/index.html'), `<html><body>${body}</body></html>`);
    const index = { PIP_NO_INDEX: '0', PIP_INDEX_URL: pathToFileURL(path.join(root, 'simple')).href };
    await mkdir(path.join(root, 'simple/dep'), { recursive: true });
    await writeFile(path.join(root, 'simple/dep/index.html'), `<a href="${pathToFileURL(path.join(wheels, 'dep-1.0-py3-none-any.whl')).href}">dep</a>`);
    await page(`<a href="../../wheels/lib-1.0-py3-none-any.whl" data-requires-python="&gt;=3.8">lib</a>`);
    expect(await attempt('lib\n', index, {}, [])).toBe('ok: dep 1.0, lib 1.0');
    await page(`<a href="../../wheels/lib-1.0-py3-none-any.whl" data-requires-python="&gt;=3.13">lib</a>`);
    expect(await attempt('lib\n', index, {}, [])).toMatch(/^declines: no local wheel of lib fits/);
    await page(`<base href="/elsewhere/"><a href="../../wheels/lib-1.0-py3-none-any.whl">lib</a>`);
    expect(await attempt('lib\n', index, {}, [])).toMatch(/<base> tag/);
    await page(`<a href="../../wheels/lib-1.0-py3-none-any.whl#md5=0123456789abcdef0123456789abcdef">lib</a>`);
    expect(await attempt('lib\n', index, {}, [])).toMatch(/a hash other than sha256/);
    await page(`<a href="https://example.org/lib-1.0-py3-none-any.whl">lib</a>`);
    expect(await attempt('lib\n', index, {}, [])).toMatch(/links to https/);
    await writeFile(path.join(root, 'plain/links.html'), '<a href="x.whl">x</a>');
    expect(await attempt('lib\n', {}, {}, [wheels, path.join(root, 'plain')])).toMatch(/HTML page/);
  });
});
