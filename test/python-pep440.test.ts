/**
 * PEP 440 in TypeScript (languages/python/resolver/pep440.ts) against Python's own packaging: one
 * python3 process evaluates a corpus of versions × specifier sets with pip's vendored packaging
 * (21.3 in pip < 24.1) and the installed packaging (pytest's dependency, 26 today). Our model of
 * each generation must answer exactly as that generation does, and decide() may give a definite
 * answer only where all of them agree.
 */
import { execFileSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  compareVersions,
  containsBy,
  generationOf,
  isPrerelease,
  isValidVersion,
  normalizeVersion,
  parseSpecifierSet,
  parseVersion,
} from '../languages/python/resolver/pep440.js';
import { LOAD_GENERATIONS, random } from './helpers/packaging-generations.js';

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
const GENERATED_VERSIONS = Array.from({ length: 60 }, generatedVersion);
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
  ...Array.from({ length: 40 }, () => {
    const one = (): string => pick(['==', '!=', '<', '<=', '>', '>=', '~=', '===']) + maybe(() => ' ', 0.2) +
      generatedVersion() + maybe(() => '.*', 0.2);
    return [one(), ...(next() < 0.4 ? [one()] : [])].join(pick([',', ', ', ' ,']));
  }),
];


const SCRIPT = LOAD_GENERATIONS + String.raw`
data = json.load(sys.stdin)
versions, specs = data["versions"], data["specifiers"]

def ver(g, text):
    try:
        v = g["version"].Version(text)
    except Exception:
        return None
    return [str(v), v.is_prerelease]

def make_set(g, text):
    s = g["specifiers"].SpecifierSet(text)
    if any(type(x).__name__ == "LegacySpecifier" for x in s):
        raise ValueError("legacy")
    for x in s:  # packaging 26 parses a specifier's version lazily (and asserts on a bad one)
        if x.operator != "===":
            g["version"].Version(x.version[:-2] if x.version.endswith(".*") else x.version)
    return s

def modern(g):
    return int(g["release"].split(".")[0]) >= 26

out = {"generations": [g["release"] for g in gens], "versions": [], "order": [], "specifiers": []}
parsed = []
for text in versions:
    out["versions"].append([ver(g, text) for g in gens])
    parsed.append(gens[0]["version"].Version(text) if all(out["versions"][-1]) else None)
for a in parsed:
    out["order"].append("".join("." if a is None or b is None else "<" if a < b else ">" if a > b else "=" for b in parsed))
# Parsed once per generation (the same answers: a string is parsed the same way inside), except
# for sets with ===, which 26 compares against the string as written.
items = [[attempt(lambda: g["version"].Version(t)) or t for t in versions] for g in gens]
for text in specs:
    sets = [attempt(lambda: make_set(g, text)) for g in gens]
    entry = {"valid": [s is not None for s in sets]}
    if all(entry["valid"]):
        entry["mentions"] = [attempt(lambda: bool(s.prereleases)) for s in sets]
        cells = []
        for i, v in enumerate(versions):
            for mode in ("default", True, False):
                for g, s, parsed_items in zip(gens, sets, items):
                    item = v if "===" in text else parsed_items[i]
                    if mode != "default":
                        p = mode
                    else:  # before 26, None means the set's own rule; 26 treats None as "if nothing else matches"
                        p = attempt(lambda: bool(s.prereleases)) if modern(g) else None
                    cells.append(cell(attempt(lambda: s.contains(item, prereleases=p))))
        entry["contains"] = "".join(cells)
    out["specifiers"].append(entry)
print(json.dumps(out))
`;

interface Reference {
  generations: string[];
  versions: ([string, boolean] | null)[][];
  order: string[];
  specifiers: { valid: boolean[]; mentions?: (boolean | null)[]; contains?: string }[];
}

let ref: Reference;
beforeAll(() => {
  const input = JSON.stringify({ versions: VERSIONS, specifiers: SPECIFIERS });
  ref = JSON.parse(execFileSync('python3', ['-c', SCRIPT], { input, encoding: 'utf8', maxBuffer: 64 << 20 }));
  expect(ref.generations.length, 'pip._vendor.packaging and packaging (pytest needs it)').toBeGreaterThanOrEqual(2);
});

// Refusing what Python accepts is allowed only for non-ASCII text (Python's case-insensitive
// regexes fold `ſ` into `s`; no real version depends on that).
const nonAscii = (text: string): boolean => /[^\x00-\x7f]/.test(text);
const show = (text: string): string => JSON.stringify(text);
const answer = (c: string): boolean | undefined => (c === 'T' ? true : c === 'F' ? false : undefined);

function report(mismatches: string[]): void {
  expect(mismatches.slice(0, 25), `${mismatches.length} mismatches with packaging`).toEqual([]);
}

describe('PEP 440 versions against packaging', () => {
  it('accepts exactly the versions both packaging generations accept, normalized as str(Version)', () => {
    const mismatches: string[] = [];
    VERSIONS.forEach((text, i) => {
      const answers = ref.versions[i]!;
      const ours = parseVersion(text);
      if (!answers.every(Boolean)) {
        if (ours) mismatches.push(`${show(text)}: we accept, packaging ${ref.generations.map((g, k) => `${g}=${!!answers[k]}`)}`);
        return;
      }
      if (!ours) {
        if (!nonAscii(text)) mismatches.push(`${show(text)}: we refuse a valid version`);
        return;
      }
      for (const [normalized, prerelease] of answers as [string, boolean][]) {
        if (normalizeVersion(ours) !== normalized) mismatches.push(`${show(text)}: normalized ${normalizeVersion(ours)} vs ${normalized}`);
        if (isPrerelease(text) !== prerelease) mismatches.push(`${show(text)}: isPrerelease ${!prerelease}`);
      }
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
  it('parses the sets every generation reads alike, and answers contains() as each generation does', () => {
    const mismatches: string[] = [];
    const n = ref.generations.length;
    let checked = 0;
    SPECIFIERS.forEach((text, i) => {
      const expected = ref.specifiers[i]!;
      const ours = parseSpecifierSet(text);
      const mentions = expected.mentions?.filter((m) => m !== null);
      const readAlike = expected.valid.every(Boolean) && mentions!.every((m) => m === mentions![0]);
      if (!readAlike) {
        if (ours) mismatches.push(`${show(text)}: we parse it; valid=${expected.valid} mentions=${expected.mentions}`);
        return;
      }
      if (!ours) {
        if (!nonAscii(text)) mismatches.push(`${show(text)}: we refuse a set every generation reads alike`);
        return;
      }
      if (ours.mentionsPrerelease !== mentions![0]) mismatches.push(`${show(text)}: mentionsPrerelease`);
      VERSIONS.forEach((version, v) => {
        ['default', 'true', 'false'].forEach((mode, k) => {
          const options = mode === 'default' ? undefined : { prereleases: mode === 'true' };
          const cells = expected.contains!.slice((v * 3 + k) * n, (v * 3 + k + 1) * n);
          const where = `${show(text)}.contains(${show(version)}, prereleases=${mode})`;
          checked++;
          // Each generation as we model it, against that generation itself.
          ref.generations.forEach((release, g) => {
            const got = containsBy(generationOf(release), ours.specifiers, version, options);
            if (got !== answer(cells[g]!) && !nonAscii(version)) mismatches.push(`${where}: packaging ${release} says ${cells[g]}, our model ${got}`);
          });
          // decide(): a definite answer only where every generation gives it.
          const decided = ours.decide(version, options);
          if (decided !== undefined && [...cells].some((c) => answer(c) !== decided)) mismatches.push(`${where}: decide ${decided} but packaging ${cells}`);
          const newest = answer(cells[1]!);
          if (newest !== undefined && ours.contains(version, options) !== newest) mismatches.push(`${where}: contains != packaging ${ref.generations[1]}`);
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
