/**
 * The pip-free resolver (languages/python/resolver/) against pip itself: for generated wheel
 * sets, the same wheels in the same install order as lib/lambda-resolve.ts's pip run on the same
 * inputs, or it declines (and pip decides). Each scenario also says which of the two it expects,
 * so a resolver that declines everything cannot pass.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
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
  Object.assign(process.env, { PIP_CONFIG_FILE: '/dev/null', PIP_NO_INDEX: '1', PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1' });
});
afterAll(() => {
  for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
  Object.assign(process.env, saved);
});

interface Scenario {
  wheels: WheelSpec[];
  requirements: string;
  files?: Record<string, string>;
  target?: LambdaTarget;
  /** Serve the wheels as a file:// simple index (yanked and Requires-Python per file name) instead of a find-links folder. */
  index?: { yanked?: string[]; requiresPython?: Record<string, string> };
  expect: 'fast' | 'declines';
}

const pkg = (name: string, version: string, more: Partial<WheelSpec> = {}): WheelSpec => ({ name, version, files: { [`${name.replace(/-/g, '_')}/__init__.py`]: `V = "${version}"\n` }, ...more });

/** Both resolvers on the scenario: [fast result or the reason it declined, pip's result]. */
async function both(scenario: Scenario): Promise<{ fast: string[] | string; pip: string[] }> {
  const root = await tempDir('lambda-cd-resolver-');
  const wheels = path.join(root, 'wheels');
  const files = await Promise.all(scenario.wheels.map((spec) => buildWheel(wheels, spec)));
  const pipOptions = { findLinks: [] as string[], indexUrl: undefined as string | undefined };
  if (scenario.index) {
    const byProject = new Map<string, string[]>();
    for (const file of files) {
      const project = path.basename(file).split('-')[0]!.toLowerCase().replace(/[-_.]+/g, '-');
      byProject.set(project, [...(byProject.get(project) ?? []), file]);
    }
    for (const [project, projectFiles] of byProject) {
      await mkdir(path.join(root, 'simple', project), { recursive: true });
      const anchors = projectFiles.map((file) => {
        const name = path.basename(file);
        const requires = scenario.index!.requiresPython?.[name];
        return `<a href="../../wheels/${name}"${requires ? ` data-requires-python="${requires.replace(/</g, '&lt;').replace(/>/g, '&gt;')}"` : ''}${scenario.index!.yanked?.includes(name) ? ' data-yanked=""' : ''}>${name}</a><br/>`;
      });
      await writeFile(path.join(root, 'simple', project, 'index.html'), `<!DOCTYPE html><html><body>\n${anchors.join('\n')}\n</body></html>\n`);
    }
    pipOptions.indexUrl = pathToFileURL(path.join(root, 'simple')).href;
    process.env.PIP_NO_INDEX = '0';
  } else {
    pipOptions.findLinks = scenario.requirements.includes('-f ') ? [] : [wheels];
    process.env.PIP_NO_INDEX = '1';
  }
  for (const [name, content] of Object.entries(scenario.files ?? {})) await writeFile(path.join(root, name), content);
  const requirementsFile = path.join(root, 'requirements.txt');
  await writeFile(requirementsFile, scenario.requirements);
  const inputs = readRequirementInputs(requirementsFile, { cwd: root, extraFindLinks: pipOptions.findLinks, findLinksContent: false });
  const target = scenario.target ?? X86;
  const shown = (wheel: { file: string; requested: boolean }) => `${path.basename(wheel.file)}${wheel.requested ? ' (requested)' : ''}`;
  try {
    const fast = await resolveWithoutPip({ requirementsFile, inputs, target, pip: pipOptions, python: 'python3' });
    const scratch = path.join(root, 'scratch');
    await mkdir(scratch);
    const pip = await resolveForLambda({
      python: 'python3', requirementsFile, requirementsLabel: 'requirements.txt', inputs, target, runtime: `python${target.pythonVersion}`, pip: pipOptions, allowSdist: false, scratch,
    });
    return { fast: 'wheels' in fast ? fast.wheels.map(shown) : fast.fallback, pip: pip.wheels.map(shown) };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

const SCENARIOS: Record<string, Scenario> = {
  'a chain with versions to choose among': {
    wheels: [pkg('alpha', '1.0', { requires: ['beta>=1.1'] }), pkg('beta', '1.0'), pkg('beta', '1.1'), pkg('beta', '2.0'), pkg('gamma', '0.9'), pkg('gamma', '1.0')],
    requirements: 'alpha\ngamma<1\n', expect: 'fast',
  },
  'an upper bound below a pre-release, as AWS packages write it': {
    wheels: [pkg('transfer', '0.19', { requires: ['core (<2.0a.0,>=1.1)', 'crt-only[crt] (>=1); extra == "crt"'] }), pkg('core', '1.0'), pkg('core', '1.5'), pkg('core', '2.0b1'), pkg('core', '2.0')],
    requirements: 'transfer\n', expect: 'fast',
  },
  'a diamond narrowing a shared dependency': {
    wheels: [pkg('top', '1.0', { requires: ['left', 'right'] }), pkg('left', '1.0', { requires: ['shared<2'] }), pkg('right', '1.0', { requires: ['shared>=1.0'] }),
      pkg('shared', '0.5'), pkg('shared', '1.0'), pkg('shared', '1.5'), pkg('shared', '2.0')],
    requirements: 'top\n', expect: 'fast',
  },
  'markers on python_version and platform_machine (x86_64, 3.11)': {
    wheels: [pkg('app', '1.0', { requires: ['old; python_version < "3.12"', 'arm; platform_machine == "aarch64"', 'intel; platform_machine == "x86_64"', 'win; sys_platform == "win32"',
      'backport; python_full_version < "3.11"', 'modern; python_full_version >= "3.11.0" and platform_python_implementation != "PyPy"'] }),
      pkg('old', '1.0'), pkg('arm', '1.0'), pkg('intel', '1.0'), pkg('win', '1.0'), pkg('backport', '1.0'), pkg('modern', '1.0')],
    requirements: 'app\nnever; python_version < "3"\n', expect: 'fast',
  },
  'markers on python_version and platform_machine (arm64, 3.12)': {
    wheels: [pkg('app', '1.0', { requires: ['old; python_version < "3.12"', 'arm; platform_machine == "aarch64"', 'intel; platform_machine == "x86_64"'] }),
      pkg('old', '1.0'), pkg('arm', '1.0'), pkg('intel', '1.0'), pkg('arm', '2.0', { tag: 'cp312-cp312-manylinux_2_17_aarch64' }), pkg('arm', '3.0', { tag: 'cp312-cp312-manylinux_2_17_x86_64' })],
    requirements: 'app\n', target: ARM, expect: 'fast',
  },
  'extras asked by the user and by a dependency, one the wheel lacks': {
    wheels: [pkg('web', '1.0', { providesExtra: ['socks', 'speed'], requires: ['core', 'pysocks; extra == "socks"', 'fast>=2; extra == "speed"', 'slow; extra == "other"'] }),
      pkg('core', '1.0'), pkg('pysocks', '1.0'), pkg('fast', '1.0'), pkg('fast', '2.0'), pkg('slow', '1.0'), pkg('client', '1.0', { requires: ['web[speed]'] })],
    requirements: 'web[socks,missing]\nclient\n', expect: 'fast',
  },
  'pre-releases left out unless asked for': {
    wheels: [pkg('lib', '1.0'), pkg('lib', '2.0rc1'), pkg('lib', '2.0.dev3'), pkg('other', '1.0', { requires: ['lib'] })],
    requirements: 'other\n', expect: 'fast',
  },
  'a pre-release asked for': {
    wheels: [pkg('lib', '1.0'), pkg('lib', '2.0rc1')],
    requirements: 'lib>=2.0rc1\n', expect: 'declines',
  },
  'yanked files in a file:// index': {
    wheels: [pkg('lib', '1.0'), pkg('lib', '1.1'), pkg('lib', '1.2'), pkg('pinned', '1.0'), pkg('pinned', '2.0')],
    requirements: 'lib\npinned==1.0\n', index: { yanked: ['lib-1.2-py3-none-any.whl', 'pinned-2.0-py3-none-any.whl'] }, expect: 'fast',
  },
  'Requires-Python in the index and in METADATA': {
    wheels: [pkg('lib', '1.0'), pkg('lib', '2.0'), pkg('lib', '3.0', { requiresPython: '>=3.12' }), pkg('tool', '1.0'), pkg('tool', '2.0')],
    requirements: 'lib\ntool\n', index: { requiresPython: { 'tool-2.0-py3-none-any.whl': '>=3.12,<4' } }, expect: 'fast',
  },
  'several tags and build tags for one version': {
    wheels: [pkg('native', '1.0'), pkg('native', '1.0', { tag: 'cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64' }), pkg('native', '1.0', { tag: 'cp311-abi3-manylinux_2_17_x86_64' }),
      pkg('native', '1.0', { tag: 'cp311-cp311-manylinux_2_28_x86_64' }), pkg('native', '1.1', { tag: 'cp311-cp311-musllinux_1_1_x86_64' }),
      pkg('built', '1.0'), pkg('built', '1.0', { build: '1' }), pkg('built', '1.0', { build: '2' }), pkg('abi', '1.0', { tag: 'cp38-abi3-manylinux2014_x86_64' }), pkg('abi', '1.0', { tag: 'py2.py3-none-any' })],
    requirements: 'native\nbuilt\nabi\n', expect: 'fast',
  },
  'constraint files restrict only what is required': {
    wheels: [pkg('lib', '1.0'), pkg('lib', '2.0'), pkg('dep', '1.0'), pkg('dep', '1.5'), pkg('uses', '1.0', { requires: ['dep'] }), pkg('unrelated', '1.0')],
    requirements: '-c pins.txt\nlib\nuses\n', files: { 'pins.txt': 'lib<2\ndep!=1.5\nunrelated==1.0\nother; python_version < "3"\n' }, expect: 'fast',
  },
  'install order of a deeper graph, ties by name': {
    wheels: [pkg('zeta', '1.0', { requires: ['mid'] }), pkg('alpha', '1.0', { requires: ['mid', 'leaf-b'] }), pkg('mid', '1.0', { requires: ['leaf-a', 'leaf-b'] }),
      pkg('leaf-a', '1.0'), pkg('leaf-b', '1.0'), pkg('solo', '1.0'), pkg('Mixed_Case.Name', '1.0', { requires: ['leaf-a'] })],
    requirements: 'zeta\nalpha\nsolo\nmixed-case-name\n', expect: 'fast',
  },
  'a later requirement excluding a version chosen earlier': {
    wheels: [pkg('first', '1.0'), pkg('first', '2.0'), pkg('second', '1.0', { requires: ['first<2'] })],
    requirements: 'first\nsecond\n', expect: 'declines',
  },
  'a -f line relative to the requirements file and a harmless option': {
    wheels: [pkg('lib', '1.0', { requires: ['dep'] }), pkg('dep', '1.0')],
    requirements: '--trusted-host example.org\n-f wheels\nlib\n', expect: 'fast',
  },
};

describe('pip-free resolver against pip', () => {
  for (const [title, scenario] of Object.entries(SCENARIOS)) {
    it(title, async () => {
      const { fast, pip } = await both(scenario);
      if (scenario.expect === 'fast') {
        expect(fast, typeof fast === 'string' ? `declined: ${fast}` : undefined).toEqual(pip);
      } else {
        expect(typeof fast, `expected a decline, got ${JSON.stringify(fast)}`).toBe('string');
      }
    }, 60_000);
  }
});
