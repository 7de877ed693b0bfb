/**
 * Differential review of the pip-free resolver (languages/python/resolver/): hostile and unusual
 * wheel sets, each resolved by the fast path and by pip itself (lib/lambda-resolve.ts, the same
 * inputs). Wherever the fast path answers, its wheels, their install order and `requested` must
 * be pip's; wherever pip fails, the fast path must decline (pip then reports). It never throws.
 * `expect` says what a case must do: 'same' (answers, equal to pip), 'declines', or 'either'
 * (hostile inputs: declining is fine, a different answer is not).
 */
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveWithoutPip } from '../languages/python/resolver/index.js';
import { resolveForLambda } from '../lib/lambda-resolve.js';
import { readRequirementInputs } from '../lib/requirement-inputs.js';
import type { LambdaTarget } from '../lib/wheel-tags.js';
import { tempDir } from './helpers/repo.js';
import { buildWheel, type WheelSpec } from './helpers/wheels.js';

const X86: LambdaTarget = { pythonVersion: '3.11', glibcMinor: 26, architecture: 'x86_64' };
const ARM: LambdaTarget = { pythonVersion: '3.12', glibcMinor: 34, architecture: 'arm64' };
const saved = { ...process.env };

beforeAll(() => {
  for (const name of Object.keys(process.env)) if (name.startsWith('PIP_')) delete process.env[name];
  Object.assign(process.env, { PIP_CONFIG_FILE: '/dev/null', PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1' });
});
afterAll(() => {
  for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
  Object.assign(process.env, saved);
});

type Where = 'links' | 'index' | 'both' | 'links2';
/** A wheel written member by member (any file name, any METADATA). */
interface RawWheel {
  file: string;
  members: Record<string, string | Buffer>;
  where?: Where;
}

interface Case {
  wheels?: (WheelSpec & { where?: Where })[];
  raw?: RawWheel[];
  requirements: string;
  /** More files next to requirements.txt (includes, constraint files). */
  files?: Record<string, string>;
  /** Files written as they are into the find-links folder (not zips). */
  plain?: Record<string, string>;
  /** The second find-links folder is a symlink to a folder whose real path sorts after the first's. */
  links2Symlinked?: boolean;
  /** Symlinks in the find-links folder: name -> target. */
  links?: Record<string, string>;
  /** Index pages written as given (project -> HTML; `<root>` is the case's folder) instead of generated ones. */
  pages?: Record<string, string>;
  /** data-yanked / data-requires-python on generated index pages, by file name. */
  yanked?: string[];
  requiresPython?: Record<string, string>;
  env?: Record<string, string>;
  target?: LambdaTarget;
  expect: 'same' | 'declines' | 'either';
}

const pkg = (name: string, version: string, more: Partial<WheelSpec> & { where?: Where } = {}): WheelSpec & { where?: Where } => ({
  name, version, files: { [`${name.replace(/[-.]/g, '_').toLowerCase()}/__init__.py`]: `V = "${version}"\n` }, ...more,
});

/** dist-info members for a raw wheel: the METADATA text as given. */
const distInfo = (folder: string, metadata: string | Buffer, tag = 'py3-none-any'): Record<string, string | Buffer> => ({
  [`${folder}/METADATA`]: metadata,
  [`${folder}/WHEEL`]: `Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: ${tag}\n`,
  [`${folder}/RECORD`]: '',
});

const RAW_WRITER = `
import sys, json, zipfile
out, entries = sys.argv[1], json.load(sys.stdin)
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for name, hex_data in entries:
        z.writestr(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), bytes.fromhex(hex_data))
`;

async function writeRaw(folder: string, wheel: RawWheel): Promise<string> {
  await mkdir(folder, { recursive: true });
  const out = path.join(folder, wheel.file);
  const members = Object.entries(wheel.members).map(([name, data]) => [name, Buffer.from(data).toString('hex')]);
  await execa('python3', ['-c', RAW_WRITER, out], { input: JSON.stringify(members) });
  return out;
}

type Outcome = string[] | string;

/** [the fast path's wheels or `declines: why`, pip's wheels or `fails: ErrorClass`]. */
async function both(scenario: Case): Promise<{ fast: Outcome; pip: Outcome }> {
  const root = await tempDir('lambda-cd-adversarial-');
  try {
    const linksDir = path.join(root, 'wheels');
    const indexDir = path.join(root, 'indexed');
    await mkdir(linksDir, { recursive: true });
    const indexed: string[] = [];
    const links2Dir = path.join(root, 'more-wheels');
    if (scenario.links2Symlinked) {
      await mkdir(path.join(root, 'zz-real'));
      await symlink(path.join(root, 'zz-real'), links2Dir);
    }
    const place = async (where: Where | undefined, write: (folder: string) => Promise<string>) => {
      if (where === 'links2') return void (await write(links2Dir));
      if (where !== 'index') await write(linksDir);
      if (where === 'index' || where === 'both') indexed.push(await write(indexDir));
    };
    for (const spec of scenario.wheels ?? []) await place(spec.where, (folder) => buildWheel(folder, spec));
    for (const wheel of scenario.raw ?? []) await place(wheel.where, (folder) => writeRaw(folder, wheel));
    for (const [name, content] of Object.entries(scenario.plain ?? {})) await writeFile(path.join(linksDir, name), content);
    for (const [name, target] of Object.entries(scenario.links ?? {})) await symlink(target, path.join(linksDir, name));
    await mkdir(links2Dir, { recursive: true });
    const pipOptions = { findLinks: [linksDir, links2Dir] as string[], indexUrl: undefined as string | undefined };
    if (indexed.length > 0 || scenario.pages) {
      const byProject = new Map<string, string[]>();
      for (const file of indexed) {
        const project = path.basename(file).split('-')[0]!.toLowerCase().replace(/[-_.]+/g, '-');
        byProject.set(project, [...(byProject.get(project) ?? []), file]);
      }
      for (const [project, files] of byProject) {
        const anchors = files.map((file) => {
          const name = path.basename(file);
          const requires = scenario.requiresPython?.[name];
          return `<a href="../../indexed/${encodeURIComponent(name)}"${requires ? ` data-requires-python="${requires.replace(/</g, '&lt;').replace(/>/g, '&gt;')}"` : ''}${scenario.yanked?.includes(name) ? ' data-yanked=""' : ''}>${name}</a><br/>`;
        });
        await mkdir(path.join(root, 'simple', project), { recursive: true });
        await writeFile(path.join(root, 'simple', project, 'index.html'), `<!DOCTYPE html><html><body>\n${anchors.join('\n')}\n</body></html>\n`);
      }
      for (const [project, html] of Object.entries(scenario.pages ?? {})) {
        await mkdir(path.join(root, 'simple', project), { recursive: true });
        await writeFile(path.join(root, 'simple', project, 'index.html'), html.replaceAll('<root>', root));
      }
      pipOptions.indexUrl = pathToFileURL(path.join(root, 'simple')).href;
      process.env.PIP_NO_INDEX = '0';
    } else {
      process.env.PIP_NO_INDEX = '1';
    }
    for (const [name, content] of Object.entries(scenario.files ?? {})) {
      await mkdir(path.dirname(path.join(root, name)), { recursive: true });
      await writeFile(path.join(root, name), content);
    }
    const requirementsFile = path.join(root, 'requirements.txt');
    await writeFile(requirementsFile, scenario.requirements);
    const previous = { ...process.env };
    Object.assign(process.env, scenario.env ?? {});
    try {
      const inputs = readRequirementInputs(requirementsFile, { cwd: root, extraFindLinks: pipOptions.findLinks, findLinksContent: false });
      const target = scenario.target ?? X86;
      const shown = (wheel: { file: string; requested: boolean }) => `${path.basename(wheel.file)}${wheel.requested ? ' (requested)' : ''}`;
      const local = await resolveWithoutPip({ requirementsFile, inputs, target, pip: pipOptions, python: 'python3' });
      const fast = 'wheels' in local ? local.wheels.map(shown) : `declines: ${local.fallback}`;
      const scratch = path.join(root, 'scratch');
      await mkdir(scratch);
      let pip: Outcome;
      try {
        const resolved = await resolveForLambda({
          python: 'python3', requirementsFile, requirementsLabel: 'requirements.txt', inputs, target, runtime: `python${target.pythonVersion}`, pip: pipOptions, allowSdist: false, scratch,
        });
        pip = resolved.wheels.map(shown);
      } catch (error) {
        pip = `fails: ${(error as Error).constructor.name}: ${(error as Error).message.slice(0, 300)}`;
      }
      return { fast, pip };
    } finally {
      for (const name of Object.keys(process.env)) if (!(name in previous)) delete process.env[name];
      Object.assign(process.env, previous);
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

function check(scenario: Case, { fast, pip }: { fast: Outcome; pip: Outcome }): void {
  const summary = `fast: ${JSON.stringify(fast)}\npip:  ${JSON.stringify(pip)}`;
  if (process.env.ADVERSARIAL_SHOW) console.log(summary);
  if (typeof fast === 'string') {
    expect(scenario.expect, `the fast path declined where it should answer\n${summary}`).not.toBe('same');
    return;
  }
  expect(scenario.expect, `the fast path answered where it should decline\n${summary}`).not.toBe('declines');
  expect(fast, summary).toEqual(pip);
}

/** Cases where the fast path and pip disagreed when this file was written, fixed since (or marked it.fails below). */
const CASES: Record<string, Case> = {
  // --- install order ---------------------------------------------------------------------
  'a Requires-Python in METADATA adds pip\'s Python vertex to the install-order graph': {
    wheels: [pkg('aa', '1.0'), pkg('zz', '1.0', { requiresPython: '>=3.8' }), pkg('mm', '1.0', { requires: ['zz'] })],
    requirements: 'aa\nzz\nmm\n', expect: 'same',
  },
  'install order of a deep chain and a wide fan-out': {
    wheels: [
      ...Array.from({ length: 25 }, (_, i) => pkg(`chain${i}`, '1.0', i < 24 ? { requires: [`chain${i + 1}`] } : {})),
      pkg('fan', '1.0', { requires: Array.from({ length: 12 }, (_, i) => `leaf${i}`) }), ...Array.from({ length: 12 }, (_, i) => pkg(`leaf${i}`, '1.0')),
    ],
    requirements: 'fan\nchain0\nleaf3\n', expect: 'same',
  },
  // --- pip's pin order -------------------------------------------------------------------
  'a sibling pip pins first by name narrows what the other would choose': {
    wheels: [pkg('a', '1.0', { requires: ['q'] }), pkg('b', '1.0', { requires: ['p'] }), pkg('q', '2.0', { requires: ['p<2'] }), pkg('q', '1.0'), pkg('p', '1.0'), pkg('p', '2.0')],
    requirements: 'a\nb\n', expect: 'either',
  },
  'a specifier mentioning a pre-release, seen by pip before it pins': {
    wheels: [pkg('c', '1.0', { requires: ['lib'] }), pkg('a', '1.0', { requires: ['b'] }), pkg('b', '1.0', { requires: ['lib>=1.0rc1'] }), pkg('lib', '1.5'), pkg('lib', '2.0rc1')],
    requirements: 'c\na\n', expect: 'either',
  },
  'a == pin deep in the graph that pip pins before shallower projects': {
    wheels: [pkg('top', '1.0', { requires: ['mid'] }), pkg('mid', '1.0', { requires: ['exact==1.0'] }), pkg('exact', '1.0', { requires: ['shared'] }),
      pkg('other', '1.0', { requires: ['shared<2'] }), pkg('other', '0.9'), pkg('shared', '1.0'), pkg('shared', '2.0')],
    requirements: 'top\nother\n', expect: 'either',
  },
  // --- equal versions, several files ------------------------------------------------------
  '1.0 and 1.0.0 with the same tag in one find-links folder': {
    wheels: [pkg('lib', '1.0'), pkg('lib', '1.0.0'), pkg('lib', '01.0', { tag: 'py2.py3-none-any' })],
    requirements: 'lib\n', expect: 'same',
  },
  'the same version in a find-links folder and a file:// index under different spellings': {
    wheels: [pkg('lib', '1.0', { where: 'links' }), pkg('lib', '1.0.0', { where: 'index' }), pkg('dep', '2.0', { where: 'index', tag: 'py2.py3-none-any' }), pkg('dep', '2', { where: 'links', tag: 'py3-none-any' })],
    requirements: 'lib\ndep\n', expect: 'same',
  },
  'the same file name in a find-links folder and an index': {
    wheels: [pkg('lib', '1.0', { where: 'both' })],
    requirements: 'lib\n', expect: 'either',
  },
  'tags: abi3 against cp311 against py2.py3, build tags 2, 10, 2b': {
    wheels: [pkg('native', '1.0', { tag: 'cp38-abi3-manylinux2014_x86_64' }), pkg('native', '1.0', { tag: 'cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64' }),
      pkg('native', '1.0', { tag: 'py2.py3-none-any' }), pkg('native', '1.1', { tag: 'cp311-cp311-manylinux_2_28_x86_64' }),
      pkg('built', '1.0', { build: '2' }), pkg('built', '1.0', { build: '10' }), pkg('built', '1.0', { build: '2b' }), pkg('built', '0.9', { build: '99' }),
      pkg('compressed', '1.0', { tag: 'py3.py2-none-any' }), pkg('compressed', '1.0', { tag: 'cp311.cp312-abi3.none-manylinux1_x86_64.any' })],
    requirements: 'native\nbuilt\ncompressed\n', expect: 'same',
  },
  'an older version the only one with a compatible tag': {
    wheels: [pkg('lib', '3.0', { tag: 'cp312-cp312-manylinux_2_17_x86_64' }), pkg('lib', '2.0', { tag: 'cp311-cp311-musllinux_1_1_x86_64' }), pkg('lib', '1.5', { tag: 'cp311-cp311-manylinux_2_17_aarch64' }), pkg('lib', '1.0')],
    requirements: 'lib\n', expect: 'same',
  },
  // --- names and versions spelled otherwise -----------------------------------------------
  'project names spelled with _ . - and capitals in files, METADATA and Requires-Dist': {
    wheels: [pkg('Foo.Bar', '1.0', { requires: ['ZOPE_Interface>=1', 'zope.interface<3'] }), pkg('zope.interface', '2.0'), pkg('Zope-Interface', '2.5')],
    requirements: 'foo-bar\nFOO_bar>=0.5\n', expect: 'same',
  },
  'versions with v, leading zeros, epochs, post and local segments': {
    wheels: [pkg('lib', 'v1.0'), pkg('lib', '1.0.post1'), pkg('lib', '1.0+cpu'), pkg('lib', '1.0+gpu'), pkg('epoch', '2.0'), pkg('epoch', '1!0.5'),
      pkg('star', '1.0.1'), pkg('star', '1.0+local'), pkg('star', '1.1'), pkg('neq', '1.0+cpu'), pkg('neq', '0.9')],
    requirements: 'lib==1.0\nepoch\nstar==1.0.*\nneq!=1.0\n', expect: 'same',
  },
  'local versions asked for by name: +cpu and +cu118': {
    wheels: [pkg('torchish', '2.1.0+cpu'), pkg('torchish', '2.1.0+cu118'), pkg('torchish', '2.1.0'), pkg('torchish', '2.0.1+cpu')],
    requirements: 'torchish==2.1.0+cpu\n', expect: 'same',
  },
  // --- METADATA shapes --------------------------------------------------------------------
  'METADATA with a BOM': {
    raw: [{ file: 'bom-1.0-py3-none-any.whl', members: { 'bom/__init__.py': '', ...distInfo('bom-1.0.dist-info', '\ufeffMetadata-Version: 2.1\nName: bom\nVersion: 1.0\nRequires-Dist: dep\n') } }],
    wheels: [pkg('dep', '1.0')],
    requirements: 'bom\n', expect: 'either',
  },
  'METADATA with CRLF, a folded Summary, duplicate and no Requires-Dist': {
    raw: [
      { file: 'folded-1.0-py3-none-any.whl', members: { ...distInfo('folded-1.0.dist-info', 'Metadata-Version: 2.1\r\nName: folded\r\nVersion: 1.0\r\nSummary: one\r\n  two\r\nRequires-Dist: dep>=1.5\r\nRequires-Dist: dep>=1.5\r\n\r\nRequires-Dist: body-not-header\r\n') } },
    ],
    wheels: [pkg('dep', '1.0'), pkg('dep', '1.6'), pkg('body-not-header', '1.0'), pkg('bare', '1.0')],
    requirements: 'folded\nbare\n', expect: 'same',
  },
  // A folded Requires-Dist keeps its line break: packaging 21.3 (pip 23) reads it, 26 refuses it, so pip decides.
  'METADATA with a folded Requires-Dist': {
    raw: [
      { file: 'folded-1.0-py3-none-any.whl', members: { ...distInfo('folded-1.0.dist-info', 'Metadata-Version: 2.1\r\nName: folded\r\nVersion: 1.0\r\nRequires-Dist: dep\r\n  >=1.5\r\nRequires-Dist: other;\r\n python_version < "3"\r\n') } },
    ],
    wheels: [pkg('dep', '1.0'), pkg('dep', '1.6'), pkg('other', '1.0')],
    requirements: 'folded\n', expect: 'declines',
  },
  'METADATA that names another project or version than its file': {
    raw: [{ file: 'liar-2.0-py3-none-any.whl', members: distInfo('liar-2.0.dist-info', 'Metadata-Version: 2.1\nName: liar\nVersion: 3.0\n') },
      { file: 'alias-1.0-py3-none-any.whl', members: distInfo('alias-1.0.dist-info', 'Metadata-Version: 2.1\nName: other\nVersion: 1.0\n') }],
    wheels: [pkg('liar', '1.0')],
    requirements: 'liar\n', expect: 'either',
  },
  'METADATA version 1.0.0 in a file named 1.0': {
    raw: [{ file: 'spelled-1.0-py3-none-any.whl', members: distInfo('spelled-1.0.dist-info', 'Metadata-Version: 2.1\nName: Spelled\nVersion: 1.0.0\nRequires-Dist: dep\n') }],
    wheels: [pkg('dep', '1.0')],
    requirements: 'spelled\n', expect: 'same',
  },
  'a huge METADATA and a malformed one': {
    raw: [{ file: 'huge-1.0-py3-none-any.whl', members: distInfo('huge-1.0.dist-info', `Metadata-Version: 2.1\nName: huge\nVersion: 1.0\nRequires-Dist: dep\n\n${'x'.repeat(4_000_000)}\n`) },
      { file: 'broken-1.0-py3-none-any.whl', members: distInfo('broken-1.0.dist-info', Buffer.from([0xff, 0xfe, 0x00, 0x41, 0x0a, 0x80, 0x81])) }],
    wheels: [pkg('dep', '1.0')],
    requirements: 'huge\nbroken\n', expect: 'either',
  },
  'a METADATA that inflates to 17 MB (a zip bomb\'s shape)': {
    raw: [{ file: 'bomb-1.0-py3-none-any.whl', members: distInfo('bomb-1.0.dist-info', Buffer.concat([Buffer.from('Metadata-Version: 2.1\nName: bomb\nVersion: 1.0\n\n'), Buffer.alloc(17 * 1024 * 1024, 0x20)])) }],
    requirements: 'bomb\n', expect: 'either',
  },
  'two dist-info folders, or none': {
    raw: [{ file: 'twice-1.0-py3-none-any.whl', members: { ...distInfo('twice-1.0.dist-info', 'Metadata-Version: 2.1\nName: twice\nVersion: 1.0\n'), ...distInfo('other-1.0.dist-info', 'Metadata-Version: 2.1\nName: other\nVersion: 1.0\n') } },
      { file: 'none-1.0-py3-none-any.whl', members: { 'none/__init__.py': '' } }],
    requirements: 'twice\nnone\n', expect: 'either',
  },
  // --- extras ------------------------------------------------------------------------------
  'extras on extras, self-referencing extras, an extra asked twice': {
    wheels: [pkg('a', '1.0', { providesExtra: ['b', 'x', 'y'], requires: ['c[d]; extra == "b"', 'a[y]; extra == "x"', 'ydep; extra == "y"', 'base'] }),
      pkg('c', '1.0', { providesExtra: ['d'], requires: ['e; extra == "d"'] }), pkg('e', '1.0'), pkg('ydep', '1.0'), pkg('base', '1.0')],
    requirements: 'a[b,x]\na[B]\n', expect: 'same',
  },
  'extras spelled otherwise in Provides-Extra and markers': {
    wheels: [pkg('web', '1.0', { providesExtra: ['Socks', 'fast_io'], requires: ['pysocks; extra == "Socks"', 'uvloop; extra == "fast_io"', 'core'] }),
      pkg('pysocks', '1.0'), pkg('uvloop', '1.0'), pkg('core', '1.0')],
    requirements: 'web[socks]\n', expect: 'either',
  },
  'extra markers combined with or, and with platform markers': {
    wheels: [pkg('lib', '1.0', { providesExtra: ['tls'], requires: ['certs; extra == "tls" or python_version < "3.12"', 'armonly; extra == "tls" and platform_machine == "aarch64"', 'never; extra == "nope" or sys_platform == "win32"'] }),
      pkg('certs', '1.0'), pkg('armonly', '1.0'), pkg('never', '1.0')],
    requirements: 'lib[tls]\n', target: ARM, expect: 'same',
  },
  // --- markers and Requires-Python --------------------------------------------------------
  'markers for arm64 against x86_64 and python_full_version': {
    wheels: [pkg('app', '1.0', { requires: ['arm; platform_machine == "aarch64"', 'mac; platform_machine == "arm64"', 'intel; platform_machine == "x86_64"', 'full; python_full_version >= "3.11"', 'old; python_full_version < "3.9.2"'] }),
      pkg('arm', '1.0'), pkg('mac', '1.0'), pkg('intel', '1.0'), pkg('full', '1.0'), pkg('old', '1.0')],
    requirements: 'app\n', target: ARM, expect: 'same',
  },
  'Requires-Python with odd specifiers in METADATA': {
    wheels: [pkg('star', '2.0', { requiresPython: '>=3.8.*' }), pkg('star', '1.0'), pkg('notthis', '2.0', { requiresPython: '!=3.11.*' }), pkg('notthis', '1.0'),
      pkg('garbage', '2.0', { requiresPython: 'python3' }), pkg('garbage', '1.0')],
    requirements: 'notthis\n', expect: 'same',
  },
  'Requires-Python with odd specifiers that pip versions read differently': {
    // `>3.11.0rc1`: packaging 21.3 and 26 differ on `>V` with V a pre-release, so it declines (pip answers rc 2.0)
    wheels: [pkg('star', '2.0', { requiresPython: '>=3.8.*' }), pkg('star', '1.0'), pkg('garbage', '2.0', { requiresPython: 'python3' }), pkg('garbage', '1.0'),
      pkg('rc', '2.0', { requiresPython: '>3.11.0rc1' }), pkg('rc', '1.0')],
    requirements: 'star\ngarbage\nrc\n', expect: 'either',
  },
  'Requires-Python on index links: &gt;, spaces, !=3.11.*': {
    wheels: [pkg('lib', '1.0', { where: 'index' }), pkg('lib', '2.0', { where: 'index' }), pkg('lib', '3.0', { where: 'index' })],
    requiresPython: { 'lib-3.0-py3-none-any.whl': '!= 3.11.*', 'lib-2.0-py3-none-any.whl': ' >=3.7, <4 ' },
    requirements: 'lib\n', expect: 'same',
  },
  // --- yanked, pre-releases, cycles, conflicts ---------------------------------------------
  'a yanked pin, and a yanked newest': {
    wheels: [pkg('pinned', '1.0', { where: 'index' }), pkg('pinned', '1.2', { where: 'index' }), pkg('lib', '1.0', { where: 'index' }), pkg('lib', '2.0', { where: 'index' })],
    yanked: ['pinned-1.2-py3-none-any.whl', 'lib-2.0-py3-none-any.whl'],
    requirements: 'pinned==1.2\nlib\n', expect: 'either',
  },
  'only pre-releases, and a pre-release only through a dependency': {
    wheels: [pkg('beta', '2.0b1'), pkg('beta', '2.0b2'), pkg('uses', '1.0', { requires: ['beta'] })],
    requirements: 'uses\n', expect: 'either',
  },
  'a dependency cycle through an extra': {
    wheels: [pkg('a', '1.0', { providesExtra: ['x'], requires: ['b'] }), pkg('b', '1.0', { requires: ['a[x]'] })],
    requirements: 'a\n', expect: 'either',
  },
  'conflicting specifiers across parents, resolvable only by an older parent': {
    wheels: [pkg('left', '2.0', { requires: ['shared>=2'] }), pkg('left', '1.0', { requires: ['shared'] }), pkg('right', '1.0', { requires: ['shared<2'] }), pkg('shared', '1.0'), pkg('shared', '2.0')],
    requirements: 'left\nright\n', expect: 'either',
  },
  'a newest version whose dependency no wheel provides': {
    wheels: [pkg('lib', '2.0', { requires: ['ghost>=1'] }), pkg('lib', '1.0')],
    requirements: 'lib\n', expect: 'either',
  },
  'very many candidates': {
    wheels: Array.from({ length: 45 }, (_, i) => pkg('many', `1.${i}`, i % 3 === 0 ? { tag: 'cp311-cp311-manylinux_2_17_x86_64' } : {})),
    requirements: 'many<1.40,!=1.39.*\n', expect: 'same',
  },
  // --- requirements files -----------------------------------------------------------------
  'a constraint file, -r includes, ${VAR}, comments and continuations': {
    wheels: [pkg('lib', '1.0'), pkg('lib', '2.0'), pkg('dep', '1.0'), pkg('dep', '1.5'), pkg('inc', '1.0', { requires: ['dep'] }), pkg('inc', '3.0', { requires: ['dep'] })],
    files: { 'pins.txt': '# pins\ndep!=1.5 \\\n  ; python_version >= "3"\nlib<2\n', 'more.txt': '-c pins.txt\ninc==${INC_VERSION}  # from the environment\n' },
    env: { INC_VERSION: '1.0' },
    requirements: '-r more.txt\nlib \\\n  >=0.5\n', expect: 'same',
  },
  'the same project on several lines, with extras and without': {
    wheels: [pkg('lib', '1.0', { providesExtra: ['x'], requires: ['xdep; extra == "x"'] }), pkg('lib', '1.1', { providesExtra: ['x'], requires: ['xdep; extra == "x"'] }), pkg('xdep', '1.0')],
    requirements: 'lib[x]\nLIB<1.1\nlib\n', expect: 'same',
  },
  'equal versions in two find-links folders (pip compares their URLs)': {
    wheels: [pkg('lib', '1.0.0', { where: 'links2' }), pkg('lib', '1.0', { where: 'links' }), pkg('dep', '2.0', { where: 'links' }), pkg('dep', '2.0.0', { where: 'links2' }), pkg('plus', '1.0+a.b', { where: 'links' }), pkg('plus', '1.0+a-b', { where: 'links2' })],
    requirements: 'lib\ndep\nplus\n', expect: 'same',
  },
  'equal versions in a find-links folder given through a symlink (pip sorts by the real path)': {
    wheels: [pkg('lib', '1.0.0', { where: 'links2' }), pkg('lib', '1.0', { where: 'links' })],
    links2Symlinked: true,
    requirements: 'lib\n', expect: 'same',
  },
  'a == pin among the user\'s requirements is pinned first': {
    wheels: [pkg('a', '1.0', { requires: ['dep'] }), pkg('b', '1.0', { requires: ['dep<2'] }), pkg('b', '2.0'), pkg('dep', '1.0'), pkg('dep', '2.0')],
    requirements: 'a\nb==1.0\n', expect: 'same',
  },
  'siblings with and without specifiers at one depth (pip pins the constrained first)': {
    wheels: [pkg('root1', '1.0', { requires: ['zed>=1'] }), pkg('root2', '1.0', { requires: ['alpha'] }), pkg('zed', '2.0', { requires: ['alpha<2'] }), pkg('zed', '1.0'),
      pkg('alpha', '1.0'), pkg('alpha', '2.0')],
    requirements: 'root1\nroot2\n', expect: 'either',
  },
  'markers on the user\'s lines: extra == at the root, and an unset ${VAR}': {
    wheels: [pkg('lib', '1.0'), pkg('skipped', '1.0')],
    requirements: 'lib\nskipped; extra == "x"\nskipped; python_version < "3.0" or extra == "y"\n', expect: 'same',
  },
  'an unset ${VAR} in a requirement': {
    wheels: [pkg('lib', '1.0')],
    requirements: 'lib==${LAMBDA_CD_SURELY_UNSET_VERSION}\n', expect: 'either',
  },
  'METADATA that is UTF-8 in its headers but Latin-1 further on': {
    raw: [{ file: 'latin-1.0-py3-none-any.whl', members: distInfo('latin-1.0.dist-info', Buffer.concat([Buffer.from('Metadata-Version: 2.1\nName: latin\nVersion: 1.0\nSummary: caf'), Buffer.from([0xe9]), Buffer.from('\n\nbody\n')])) }],
    requirements: 'latin\n', expect: 'either',
  },
  'Requires-Dist that pip cannot parse, or a direct reference': {
    raw: [{ file: 'bad-1.0-py3-none-any.whl', members: distInfo('bad-1.0.dist-info', 'Metadata-Version: 2.1\nName: bad\nVersion: 1.0\nRequires-Dist: dep (>=1.0\n') },
      { file: 'url-1.0-py3-none-any.whl', members: distInfo('url-1.0.dist-info', 'Metadata-Version: 2.1\nName: url\nVersion: 1.0\nRequires-Dist: dep @ file:///nowhere/dep-1.0-py3-none-any.whl\n') }],
    wheels: [pkg('dep', '1.0')],
    requirements: 'bad\nurl\n', expect: 'either',
  },
  'Requires-Dist in the old parenthesised form and with odd spacing': {
    raw: [{ file: 'old-1.0-py3-none-any.whl', members: distInfo('old-1.0.dist-info', 'Metadata-Version: 1.2\nName: old\nVersion: 1.0\nRequires-Dist: dep (>=1.0,<2)\nRequires-Dist:    other[x]   ;   python_version>="3"\nRequires-Python: >=3.6\n') }],
    wheels: [pkg('dep', '1.0'), pkg('dep', '1.5'), pkg('dep', '2.0'), pkg('other', '1.0', { providesExtra: ['x'], requires: ['xdep; extra == "x"'] }), pkg('xdep', '1.0')],
    requirements: 'old\n', expect: 'same',
  },
  'a constraint with extras or a local path, and one on a project never required': {
    wheels: [pkg('lib', '1.0'), pkg('lib', '2.0')],
    files: { 'c.txt': 'lib[x]<2\n' },
    requirements: '-c c.txt\nlib\n', expect: 'either',
  },
  'wheel file names pip skips: .WHL, a missing tag, a name that is another project\'s prefix': {
    raw: [{ file: 'lib-3.0-py3-none-any.WHL', members: distInfo('lib-3.0.dist-info', 'Metadata-Version: 2.1\nName: lib\nVersion: 3.0\n') },
      { file: 'lib-2.0-py3-none.whl', members: distInfo('lib-2.0.dist-info', 'Metadata-Version: 2.1\nName: lib\nVersion: 2.0\n') }],
    wheels: [pkg('lib', '1.0'), pkg('lib-extra', '9.0'), pkg('libx', '9.0')],
    requirements: 'lib\n', expect: 'same',
  },
  'a yanked file next to a good file of the same version': {
    wheels: [pkg('lib', '2.0', { where: 'index' }), pkg('lib', '2.0', { where: 'index', tag: 'cp311-cp311-manylinux_2_17_x86_64' }), pkg('lib', '1.0', { where: 'index' })],
    yanked: ['lib-2.0-cp311-cp311-manylinux_2_17_x86_64.whl'],
    requirements: 'lib\n', expect: 'same',
  },
  'Requires-Python on a project asked for only with an extra': {
    wheels: [pkg('web', '1.0', { providesExtra: ['x'], requiresPython: '>=3.7', requires: ['xdep; extra == "x"'] }), pkg('xdep', '1.0'), pkg('aaa', '1.0')],
    requirements: 'web[x]\naaa\n', expect: 'same',
  },
  // --- hostile sources ---------------------------------------------------------------------
  'a .whl that is not a zip, and a file name with spaces and unicode': {
    raw: [{ file: 'lib-1.0-py3-none-any (1).whl', members: distInfo('lib-1.0.dist-info', 'Metadata-Version: 2.1\nName: lib\nVersion: 1.0\n') }],
    wheels: [pkg('lib', '0.9')],
    files: {},
    requirements: 'lib\n', expect: 'same',
  },
  'a .whl that is not a zip': {
    wheels: [pkg('dep', '1.0')],
    plain: { 'notzip-1.0-py3-none-any.whl': 'Name: notzip\nVersion: 1.0\n' },
    requirements: 'notzip\n', expect: 'either',
  },
  'a symlink in the find-links folder to /etc/passwd named as a wheel': {
    links: { 'x-1.0-py3-none-any.whl': '/etc/passwd' },
    requirements: 'x\n', expect: 'either',
  },
  'an index page with an anchor inside an HTML comment or a script': {
    wheels: [pkg('lib', '1.0', { where: 'index' }), pkg('lib', '9.0', { where: 'index' }), pkg('lib', '8.0', { where: 'index' })],
    pages: { lib: '<html><body><!-- <a href="../../indexed/lib-9.0-py3-none-any.whl">old</a> -->\n<script>var s = \'<a href="../../indexed/lib-8.0-py3-none-any.whl">\';</script>\n<a href="../../indexed/lib-1.0-py3-none-any.whl">lib-1.0</a></body></html>' },
    requirements: 'lib\n', expect: 'either',
  },
  'an index page with an anchor inside an HTML comment': {
    wheels: [pkg('lib', '1.0', { where: 'index' }), pkg('lib', '9.0', { where: 'index' })],
    pages: { lib: '<html><body><!-- <a href="../../indexed/lib-9.0-py3-none-any.whl">withdrawn</a> --><a href="../../indexed/lib-1.0-py3-none-any.whl">lib-1.0</a><!----></body></html>' },
    requirements: 'lib\n', expect: 'same',
  },
  'an index serving PEP 658 metadata files that differ from the wheels\' METADATA': {
    wheels: [pkg('lib', '1.0', { where: 'index', requires: ['dep'] }), pkg('dep', '1.0'), pkg('other', '1.0'), pkg('app', '1.0', { where: 'index', requires: ['dep'] })],
    pages: {
      lib: '<a href="../../indexed/lib-1.0-py3-none-any.whl" data-dist-info-metadata="true">lib</a>',
      app: '<a href="../../indexed/app-1.0-py3-none-any.whl" data-core-metadata="true">app</a>',
    },
    files: {
      'indexed/lib-1.0-py3-none-any.whl.metadata': 'Metadata-Version: 2.1\nName: lib\nVersion: 1.0\nRequires-Dist: other\n',
      'indexed/app-1.0-py3-none-any.whl.metadata': 'Metadata-Version: 2.1\nName: app\nVersion: 1.0\nRequires-Dist: other\n',
    },
    requirements: 'lib\napp\n', expect: 'either',
  },
  'an index href with a broken %-escape': {
    wheels: [pkg('lib', '1.0', { where: 'index' })],
    pages: { lib: '<a href="../../indexed/lib-1.0%zz-py3-none-any.whl">x</a>' },
    requirements: 'lib\n', expect: 'either',
  },
  'an encoded slash in an index href': {
    pages: { other: '<a href="../../indexed/a%2Fb/other-1.0-py3-none-any.whl">x</a>' },
    requirements: 'other\n', expect: 'either',
  },
  'a file URL on another host in an index page': {
    pages: { far: '<a href="file://elsewhere/x/far-1.0-py3-none-any.whl">x</a>' },
    requirements: 'far\n', expect: 'either',
  },
  'an extra index given as a file URL on another host': {
    wheels: [pkg('lib', '1.0')],
    requirements: '--index-url file://elsewhere/simple\nlib\n', env: { PIP_NO_INDEX: '0' }, expect: 'either',
  },
  'an index page linking outside the index (../../ and an absolute file URL)': {
    wheels: [pkg('safe', '1.0')],
    pages: { out: '<a href="../../../../../../../../etc/out-1.0-py3-none-any.whl">out</a><a href="file:///etc/passwd#out-2.0-py3-none-any.whl">x</a>' },
    requirements: 'out\n', expect: 'either',
  },
};

/** A seeded random dependency graph: versions, specifiers, Requires-Python, extras, markers. */
function randomGraph(seed: number, size: number): Case {
  let state = seed;
  const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]!;
  const name = (index: number) => `${pick(['', 'py-', 'x'])}${['alpha', 'beta', 'gamma', 'delta', 'eps', 'zeta', 'eta', 'theta'][index % 8]}${index}`;
  const names = Array.from({ length: size }, (_, index) => name(index));
  const wheels: WheelSpec[] = [];
  names.forEach((project, index) => {
    for (const version of ['1.0', '1.1', '2.0'].filter(() => random() < 0.8).concat('0.9')) {
      const requires: string[] = [];
      for (let dep = index + 1; dep < size; dep++) {
        if (random() > 3 / size) continue;
        requires.push(`${names[dep]}${pick(['', '', '>=1.0', '<2', '!=1.1', '~=1.0', '>=0.9,<2.0'])}${pick(['', '', '; python_version >= "3.8"', '; platform_machine == "aarch64"'])}`);
      }
      wheels.push(pkg(project, version, { requires, ...(random() < 0.2 ? { requiresPython: pick(['>=3.8', '>=3.12', '<3.11', '>=3.6,<4']) } : {}) }));
    }
  });
  const roots = names.filter(() => random() < 0.25).map((project) => `${project}${pick(['', '', '<2', '>=1.1'])}`);
  return { wheels, requirements: `${[names[0], ...roots].join('\n')}\n`, expect: 'either' };
}

describe('pip-free resolver, seeded random graphs against pip', () => {
  for (const seed of [7, 42, 2026]) {
    it(`graph ${seed}`, async () => {
      const scenario = randomGraph(seed, 14);
      check(scenario, await both(scenario));
    }, 180_000);
  }
});

describe('pip-free resolver, adversarial inputs against pip', () => {
  for (const [title, scenario] of Object.entries(CASES)) {
    it(title, async () => {
      check(scenario, await both(scenario));
    }, 120_000);
  }
});
