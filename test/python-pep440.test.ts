/**
 * PEP 440 in TypeScript (languages/python/resolver/pep440.ts) against Python's own packaging: one
 * python3 process evaluates a corpus of versions × specifier sets with pip's vendored packaging
 * (21.3 in pip < 24.1) and the current packaging (pytest's dependency), and every answer of ours
 * must equal theirs, or be "unsure" (undefined) exactly where the two generations disagree.
 */
import { execFileSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  compareVersions,
  isPrerelease,
  isValidVersion,
  normalizeVersion,
  parseSpecifierSet,
  parseVersion,
} from '../languages/python/resolver/pep440.js';

const RELEASES = ['0', '1', '1.0', '1.0.0', '1.0.0.0', '01.0', '1.01', '2', '2.0', '2.0.1', '1.1', '1.2', '1.9', '1.10', '1.5'];
const PYTHONS = ['3.10', '3.11', '3.11.0', '3.11.7', '3.11.0rc1', '3.11.0a1', '3.12.0b2', '3.13', '3.13.0a1'];
const PRE_POST_DEV = [
  '1.0a1', '1.0a', '1.0alpha1', '1.0b1', '1.0beta2', '1.0c1', '1.0rc1', '1.0pre1', '1.0preview1', '1.0-a1',
  '1.0.a1', '1.0_a_1', '1.0A1', '1.0RC1', '1.0a-1', '1.0a.1', '1.0a_dev1', '1.5a1', '2.0a1', '2.0b1',
  '1.0.post1', '1.0post1', '1.0-1', '1.0.r1', '1.0rev1', '1.0.post', '1.0-post-1', '1.0.post1.dev1', '1.0a1.post1',
  '1.0a1.post1.dev1', '1.0.post0', '1.0.post2', '1.0.dev0', '1.0.dev1', '1.0dev', '1.0-dev2', '1.0a1.dev1',
  '1.0rc1.dev3', '1.0.post1.dev0', '1a1', '1.post1', '1.dev0', '1.0a1-1', '1.0a-post1', '1.0.a.post.dev',
];
const LOCAL_EPOCH = [
  '1.0+local', '1.0+abc.1', '1.0+1.abc', '1.0+ABC-2_x', '1.0.post1+l', '1.0a1+l', '1.0a2+l', '1.0+5', '1.0+05',
  '1.0+abc', '1.0+abc.2', '1.0+1', '1!1.0', '1!2.0', '0!1.0', '2!0.1', '1!1.0a1', '1!1.5',
];
const ODD = [
  'v1.0', 'V1.0', ' 1.0 ', '\t1.0\n', '1.0\x0c', '1.0\x1c', '', 'abc', '1.0.', '.1', '1..0', '1.0a-', '1.0-', '1.0+',
  '1.0+abc.', '1.0++1', 'a1.0', '1.0 a1', '1,0', '1.0ſ', '1.0poſt1', '١.٠', '1.0\u00a0', '1.0.post1.post2', '1.0dev1a1',
  '1!', '!1.0', '1.0-a-1', '1.0.post-1', '1.0-r-1', '1.0a.-1', '1.0a-.1', '1.0-dev-', '1.0.dev.',
  '1.0.99999999999999999999999', '99999999999999999999.0', 'foo', 'FOO', '1.0.0-1',
];
// Generated from the grammar's pieces (fixed seed), some with one character mutated, so spellings
// nobody listed above are checked too.
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const next = random(440);
const pick = <T,>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
const maybe = (piece: () => string, odds = 0.5): string => (next() < odds ? piece() : '');
const SEP = ['', '', '.', '-', '_'];
function generatedVersion(): string {
  const release = Array.from({ length: 1 + Math.floor(next() * 3) }, () => pick(['0', '1', '2', '10', '01', '00']));
  let text = maybe(() => 'v', 0.1) + maybe(() => `${pick(['0', '1', '2'])}!`, 0.15) + release.join('.');
  text += maybe(() => pick(SEP) + pick(['a', 'b', 'c', 'rc', 'alpha', 'beta', 'pre', 'preview', 'A', 'RC']) + pick(SEP) + pick(['', '0', '1', '2']), 0.4);
  text += maybe(() => pick(['-1', '-0', `${pick(SEP)}${pick(['post', 'r', 'rev', 'POST'])}${pick(SEP)}${pick(['', '0', '1', '2'])}`]), 0.3);
  text += maybe(() => `${pick(SEP)}${pick(['dev', 'DEV'])}${pick(SEP)}${pick(['', '0', '1'])}`, 0.3);
  text += maybe(() => `+${pick(['local', 'abc.1', '1.abc', 'x-y_z', '5', 'ABC'])}`, 0.2);
  if (next() < 0.25) {
    const at = Math.floor(next() * (text.length + 1));
    text = text.slice(0, at) + pick(['.', '-', '_', '+', '!', '*', ' ', 'a', '1', '']) + text.slice(at + (next() < 0.5 ? 1 : 0));
  }
  return text;
}
const GENERATED_VERSIONS = Array.from({ length: 120 }, generatedVersion);
const VERSIONS = [...new Set([...RELEASES, ...PYTHONS, ...PRE_POST_DEV, ...LOCAL_EPOCH, ...ODD, ...GENERATED_VERSIONS])];

const SPECIFIERS = [
  '', ' ', ',', '==1.0', '==1.0.*', '==1.*', '==1.0.0.*', '==2.*', '!=1.0', '!=1.*', '!=1.0.*', '<1.0', '<=1.0',
  '>1.0', '>=1.0', '~=1.0', '~=1.0.0', '~=1.0a1', '~=1.0.post1', '~=2.2.1', '~=1.0rc1', '~=1.0.alpha1', '~=1.0alpha1',
  '~=1!1.0', '~=1', '~=1.*', '===1.0', '===1.0.0', '===v1.0', '===foo', '===1.0a1', '===FOO', '==1.0+local',
  '!=1.0+local', '==1.0+abc.1', '==1.0a1', '>=1.0a1', '<=1.0a1', '>1.0a1', '<1.0a1', '>1.0.post1', '<1.0.post1',
  '>1.0.dev1', '<1.0.dev1', '>=1.0.dev0', '==1.0.0', '==0!1.0', '==1!1.0', '==1!1.*', '==0!1.*', '==01.*',
  '~=1!2.0', '<2', '>=1,<2', '>=1.0,!=1.5.*,<2', '>0.9,<1.0', '>1.0a1,<2', '== 1.0', ' >= 1.0 ', '>=1.0,,<2',
  '>=1.0,', '=1.0', '==', '>=1.0.*', '<1.0+local', '==1.0a1.*', '==1.0.post1.*', '==1.0.dev1.*', '===1.0,>=1',
  '==1.0rc1', '>=v1.0', '>=V1.0', '==1.0-1', '>=1.0a-1', '<1.0.0', '>1.0+l', '>=3.11', '<3.11', '>=3.10', '<3.13',
  '==3.11.*', '!=3.11.*', '~=3.11.0', '>=1.0ſ', '==1.0\t', '>=\x0c1.0', '<=1.0.post1', '>=1.0.post1.dev1',
  '>1.0,<1.0.post2', '==1.0.*,!=1.0.5', '~=0.9,>=0.9.5', 'foo', '>=foo', '==1.0;', '===1.0;x', '==1.0)', '>=1 <2',
  ...Array.from({ length: 70 }, () => {
    const one = (): string => pick(['==', '!=', '<', '<=', '>', '>=', '~=', '===']) + maybe(() => ' ', 0.2) +
      generatedVersion() + maybe(() => '.*', 0.2);
    return [one(), ...(next() < 0.4 ? [one()] : [])].join(pick([',', ', ', ' ,']));
  }),
];

const SCRIPT = String.raw`
import json, sys, warnings
warnings.simplefilter("ignore")
from pip._vendor.packaging import version as lv, specifiers as ls
try:
    from packaging import version as mv, specifiers as ms
except ImportError:
    mv = ms = None
data = json.load(sys.stdin)
versions, specs = data["versions"], data["specifiers"]

def ver(module, text):
    try:
        v = module.Version(text)
    except Exception:
        return None
    return [str(v), v.is_prerelease]

def legacy_set(text):
    s = ls.SpecifierSet(text)
    if any(isinstance(x, ls.LegacySpecifier) for x in s):
        raise ValueError("legacy")
    return s

def modern_set(text):
    s = ms.SpecifierSet(text)
    for x in s:  # packaging 26 parses a specifier's version lazily (and asserts on a bad one)
        if x.operator != "===":
            mv.Version(x.version[:-2] if x.version.endswith(".*") else x.version)
    return s

def attempt(f):
    try:
        return f()
    except Exception:
        return None

def pair(a, b):
    if a is None or b is None:
        return "e"
    return {(False, False): "0", (True, True): "1", (True, False): "a", (False, True): "b"}[(a, b)]

out = {"modern": ms is not None, "versions": [], "order": [], "specifiers": []}
parsed = []
for text in versions:
    l = ver(lv, text)
    m = ver(mv, text) if mv else l
    out["versions"].append([l, m])
    parsed.append(lv.Version(text) if l and m else None)
for a in parsed:
    out["order"].append("".join("." if a is None or b is None else "<" if a < b else ">" if a > b else "=" for b in parsed))
legacy_parsed = [lv.parse(t) for t in versions]
modern_parsed = [attempt(lambda: mv.Version(t)) or t for t in versions] if mv else versions
for text in specs:
    L = attempt(lambda: legacy_set(text))
    M = attempt(lambda: modern_set(text)) if ms else L
    entry = {"legacy": L is not None, "modern": M is not None}
    if L is not None and M is not None:
        entry["mentions"] = [bool(L.prereleases), bool(M.prereleases)]
        cells = []
        # Parsed once (the same answers: 21.3 parses a string the same way; 26 compares === against
        # the string as written, so a set with === gets the strings).
        modern_items = versions if "===" in text else modern_parsed
        for v, lv_item, mv_item in zip(versions, legacy_parsed, modern_items):
            for p in (bool(L.prereleases), True, False):
                cells.append(pair(attempt(lambda: L.contains(lv_item, prereleases=p)), attempt(lambda: M.contains(mv_item, prereleases=p))))
        entry["contains"] = "".join(cells)
    out["specifiers"].append(entry)
print(json.dumps(out))
`;

interface Reference {
  modern: boolean;
  versions: ([string, boolean] | null)[][];
  order: string[];
  specifiers: { legacy: boolean; modern: boolean; mentions?: [boolean, boolean]; contains?: string }[];
}

let ref: Reference;
beforeAll(() => {
  const input = JSON.stringify({ versions: VERSIONS, specifiers: SPECIFIERS });
  ref = JSON.parse(execFileSync('python3', ['-c', SCRIPT], { input, encoding: 'utf8', maxBuffer: 64 << 20 }));
});

// Refusing what Python accepts is allowed only for non-ASCII text (Python's case-insensitive
// regexes fold `ſ` into `s`; no real version depends on that).
const nonAscii = (text: string): boolean => /[^\x00-\x7f]/.test(text);
const show = (text: string): string => JSON.stringify(text);

function report(mismatches: string[]): void {
  expect(mismatches.slice(0, 25), `${mismatches.length} mismatches with packaging`).toEqual([]);
}

describe('PEP 440 versions against packaging', () => {
  it('accepts exactly the versions both packaging generations accept, normalized as str(Version)', () => {
    const mismatches: string[] = [];
    VERSIONS.forEach((text, i) => {
      const [legacy, modern] = ref.versions[i]!;
      const both = legacy && modern;
      const ours = parseVersion(text);
      if (!both) {
        if (ours) mismatches.push(`${show(text)}: we accept, packaging 21.3=${!!legacy} 26=${!!modern}`);
        return;
      }
      if (!ours) {
        if (!nonAscii(text)) mismatches.push(`${show(text)}: we refuse a valid version`);
        return;
      }
      if (normalizeVersion(ours) !== legacy[0] || legacy[0] !== modern[0])
        mismatches.push(`${show(text)}: normalized ${normalizeVersion(ours)} vs ${legacy[0]}/${modern[0]}`);
      if (isPrerelease(text) !== legacy[1]) mismatches.push(`${show(text)}: isPrerelease ${!legacy[1]}`);
      if (!isValidVersion(text)) mismatches.push(`${show(text)}: isValidVersion false`);
    });
    report(mismatches);
  });

  it('orders every pair of valid versions as packaging does (epoch, pre/post/dev, local)', () => {
    const mismatches: string[] = [];
    VERSIONS.forEach((a, i) => {
      [...ref.order[i]!].forEach((expected, j) => {
        if (expected === '.') return;
        const b = VERSIONS[j]!;
        const got = ['<', '=', '>'][compareVersions(a, b) + 1];
        if (got !== expected) mismatches.push(`${show(a)} ${got} ${show(b)}, packaging says ${expected}`);
      });
    });
    report(mismatches);
  });
});

describe('PEP 440 specifier sets against packaging', () => {
  it('parses the sets both generations read alike, and contains() answers as packaging does', () => {
    const mismatches: string[] = [];
    let checked = 0;
    SPECIFIERS.forEach((text, i) => {
      const expected = ref.specifiers[i]!;
      const ours = parseSpecifierSet(text);
      const readAlike = expected.legacy && expected.modern && expected.mentions![0] === expected.mentions![1];
      if (!readAlike) {
        if (ours) mismatches.push(`${show(text)}: we parse it; 21.3=${expected.legacy} 26=${expected.modern} mentions=${expected.mentions}`);
        return;
      }
      if (!ours) {
        if (!nonAscii(text)) mismatches.push(`${show(text)}: we refuse a set both generations read alike`);
        return;
      }
      if (ours.mentionsPrerelease !== expected.mentions![0]) mismatches.push(`${show(text)}: mentionsPrerelease`);
      VERSIONS.forEach((version, v) => {
        ['default', 'true', 'false'].forEach((mode, k) => {
          const options = mode === 'default' ? undefined : { prereleases: mode === 'true' };
          const cell = expected.contains![v * 3 + k]!;
          const agreed = cell === '1' ? true : cell === '0' ? false : undefined;
          const modern = cell === '1' || cell === 'b' ? true : cell === '0' || cell === 'a' ? false : undefined;
          const decided = ours.decide(version, options);
          checked++;
          if (decided !== agreed && !(decided === undefined && nonAscii(version)))
            mismatches.push(`${show(text)}.decide(${show(version)}, prereleases=${mode}) = ${decided}, packaging 21.3/26: ${cell}`);
          if (modern !== undefined && ours.contains(version, options) !== modern)
            mismatches.push(`${show(text)}.contains(${show(version)}, prereleases=${mode}) != packaging 26 (${cell})`);
        });
      });
    });
    report(mismatches);
    expect(checked).toBeGreaterThan(10_000);
  });

  it('reads the pre-release rule a user expects', () => {
    const set = parseSpecifierSet('>=1.0,<2')!;
    expect(set.contains('1.5')).toBe(true);
    expect(set.contains('1.5a1')).toBe(false); // not asked for
    expect(set.contains('1.5a1', { prereleases: true })).toBe(true);
    expect(set.contains('2.0a1', { prereleases: true })).toBe(false); // <2 excludes 2's pre-releases
    expect(parseSpecifierSet('>=2.0b1')!.mentionsPrerelease).toBe(true);
    expect(parseSpecifierSet('~=1.4.2')!.contains('1.4.9')).toBe(true);
    expect(parseSpecifierSet('~=1.4.2')!.contains('1.5')).toBe(false);
    expect(parseSpecifierSet('==1.4.*')!.contains('1.4.0+cpu')).toBe(true);
    expect(parseSpecifierSet('')!.contains('0.1')).toBe(true);
    expect(parseSpecifierSet('>=1,<2,')?.specifiers.length).toBe(2); // SpecifierSet skips empty items
    expect(parseSpecifierSet('>=1.0.*')).toBeUndefined();
    expect(compareVersions('1.0.post1', '1.0+local')).toBe(1);
    expect(compareVersions('1!0.1', '99')).toBe(1);
  });
});
