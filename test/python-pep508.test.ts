/**
 * PEP 508 requirements and markers, and wheel METADATA, in TypeScript
 * (languages/python/resolver/pep508.ts, metadata.ts) against Python's own packaging: one python3
 * process parses and evaluates a corpus with pip's vendored packaging (21.3 in pip < 24.1) and the
 * installed packaging. Ours parses exactly what all of them parse alike, our model of each
 * generation evaluates as that generation does, and evaluateMarker answers only where all agree.
 */
import { execFileSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCoreMetadata } from '../languages/python/resolver/metadata.js';
import {
  type Marker,
  type MarkerEnvironment,
  evaluateMarker,
  evaluateMarkerWith,
  markerVariables,
  parseMarker,
  parseRequirement,
} from '../languages/python/resolver/pep508.js';
import { LOAD_GENERATIONS, random } from './helpers/packaging-generations.js';

const LAMBDA: MarkerEnvironment = {
  python_version: '3.11', python_full_version: '3.11.7', implementation_name: 'cpython',
  implementation_version: '3.11.7', platform_python_implementation: 'CPython', platform_machine: 'x86_64',
  platform_system: 'Linux', sys_platform: 'linux', os_name: 'posix', platform_release: '5.10.0-1057-aws',
  platform_version: '#1 SMP Thu Jan 1 00:00:00 UTC 2024', extra: '',
};
const ENVIRONMENTS: MarkerEnvironment[] = [
  LAMBDA,
  { ...LAMBDA, python_full_version: '3.11.0rc1', implementation_version: '3.11.0rc1', extra: 'socks' },
  { ...LAMBDA, python_version: '3.13', python_full_version: '3.13.0a1', platform_machine: 'aarch64', extra: 'Foo_Bar' },
  { ...LAMBDA, python_version: '3.8', python_full_version: '3.8.10', platform_release: '6.1', extra: 'foo-bar' },
  {
    ...LAMBDA, sys_platform: 'win32', os_name: 'nt', platform_system: 'Windows', platform_machine: 'AMD64',
    platform_release: '10', platform_version: '10.0.19041', extra: 'FOO.bar',
  },
  {
    ...LAMBDA, implementation_name: 'pypy', platform_python_implementation: 'PyPy', implementation_version: '7.3.13',
    python_full_version: '3.11.7+', sys_platform: 'darwin', platform_system: 'Darwin', platform_machine: 'arm64',
  },
];

const VARIABLES = [
  'python_version', 'python_full_version', 'implementation_version', 'platform_release', 'os_name', 'sys_platform',
  'platform_system', 'platform_machine', 'platform_python_implementation', 'implementation_name', 'platform_version',
  'os.name', 'sys.platform', 'platform.version', 'platform.machine', 'platform.python_implementation',
  'python_implementation', 'extra',
];
const OPERATORS = ['==', '!=', '<', '<=', '>', '>=', '~=', '===', 'in', 'not in'];
const VERSION_VALUES = ['3.11', '3.11.0', '3.10', '3.12', '3', '3.11.*', '3.11.0rc1', '3.13.0a1', '5.10', 'abc', '3.11.7+local'];
const STRING_VALUES = ['linux', 'Linux', 'x86_64', 'posix', 'CPython', 'cpython', 'lin', 'win32', '1.0', '', 'Foo_Bar', 'socks', 'a b'];

function markerCorpus(): string[] {
  const out: string[] = [];
  for (const variable of VARIABLES)
    for (const op of OPERATORS)
      for (const value of [...VERSION_VALUES, ...STRING_VALUES]) {
        out.push(`${variable} ${op} "${value}"`);
        if (value === '3.11' || value === 'linux' || value === 'socks') out.push(`'${value}' ${op} ${variable}`);
      }
  out.push(
    'python_version < "3.11"', "python_version<'3.11'", 'python_version<"3.11"and os_name=="posix"',
    'os_name == "posix" and python_version >= "3.8" or sys_platform == "win32"',
    'os_name == "nt" or python_version >= "3.8" and sys_platform == "win32"',
    '(os_name == "nt" or python_version >= "3.8") and sys_platform == "win32"',
    'os_name == "posix" and (python_version < "3" or (sys_platform == "linux" and extra == "socks"))',
    '((python_version >= "3.11"))', '( python_version >= "3.11" )', 'extra == "Foo_Bar"', '(extra == "Foo_Bar")',
    'extra == "foo-bar"', '(extra == "foo-bar")', 'extra == "foo_bar" or extra == "socks"', '"socks" == extra',
    '"Foo_Bar" == extra', 'extra != "socks"', 'extra in "socks,security"', 'extra == "SOCKS"', 'extra == ""',
    'os_name == sys_platform', 'sys_platform == os_name', '"posix" == "python_version"', '"3.11" == "python_version"',
    '"a" == "b"', 'os_name=="posix"andos_name=="nt"', 'os_name == "posix"and(python_version>"3")',
    'os_name not  in "posix"', 'os_name not\tin "posix"', 'os_name not in "posix"', 'os_name notin "posix"',
    'os_namein "posix"', 'os_name in"posix"', 'python_version\t>=\t"3.8"', ' python_version >= "3.8" ',
    'python_version >= "3.8"\n', '\npython_version >= "3.8"', 'python_version >= "3\\.8"', 'os_name == "a\\nb"',
    'os_name == "it\'s"', "os_name == 'say \"hi\"'", 'os_name == "unterminated', 'os_name ==', 'os_name', '',
    '()', '(os_name == "posix"', 'os_name == "posix")', 'os_name == "posix" and', 'and os_name == "posix"',
    'os_name == "posix" or or os_name == "nt"', 'os_name === "posix"', 'os_name ~= "posix"', 'extras == "x"',
    'dependency_groups == "x"', 'python_versions == "3"', 'Python_Version == "3.11"', 'os_name == "pösix"',
    'python_version >= "３.８"', 'python_version >= "3.8ſ"', 'platform_release >= "5"', 'platform_release < "6"',
    'python_full_version >= "3.11"', 'python_full_version < "3.11"', 'python_full_version >= "3.10"',
    'python_full_version == "3.11.*"', 'python_full_version ~= "3.11.0"', 'python_full_version === "3.11.7"',
    'python_version == "3.11" and python_version != "3.11"', 'python_version > "3.11.0rc1"',
    'implementation_name == "cpython" and platform_python_implementation != "PyPy"',
    'platform_machine in "x86_64 aarch64"', 'platform_machine not in "arm64"', '"x86" in platform_machine',
    'sys_platform < "win32"', 'sys_platform >= "linux"', 'platform_version > "#1"', 'os_name <= "posix"',
    'python_version == "3.11" or', 'python_version == "3.11"or python_version == "3.12"',
    'python_version == "3.11"\tor\tpython_version == "3.12"', 'python_version==\'3.11\'',
  );
  // Generated: random and/or/parenthesis trees over atoms, with random spacing (fixed seed).
  const next = random(508);
  const pick = <T,>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const space = (): string => pick(['', ' ', ' ', '  ', '\t']);
  const atom = (): string => {
    const variable = pick(VARIABLES);
    const value = pick(variable.includes('version') || variable === 'platform_release' ? VERSION_VALUES : STRING_VALUES);
    const quoted = pick(['"', "'"]);
    const op = pick(OPERATORS);
    const sides = [variable, `${quoted}${value}${quoted}`];
    if (next() < 0.2) sides.reverse();
    return `${sides[0]}${space() || (/^\w/.test(op) ? ' ' : '')}${op}${space() || ' '}${sides[1]}`;
  };
  const tree = (depth: number): string => {
    if (depth === 0 || next() < 0.3) return atom();
    const joined = `${tree(depth - 1)}${space() || ' '}${pick(['and', 'or'])}${space() || ' '}${tree(depth - 1)}`;
    return next() < 0.4 ? `(${space()}${joined}${space()})` : joined;
  };
  for (let i = 0; i < 250; i++) out.push(tree(3));
  return out;
}
const MARKERS = markerCorpus();

const REQUIREMENTS = [
  'exceptiongroup; python_version < "3.11"', 'pywin32; sys_platform == "win32"', 'requests[socks]>=2',
  'typing-extensions>=4.6; python_version<"3.13"', 'idna (>=2.5,<4)', 'idna(>=2.5,<4)', 'idna ( >=2.5 , <4 )',
  'requests', 'Requests', 'zope.interface', 'Foo_Bar.baz-Qux', 'a', '1', 'a1', 'a-', 'a_', 'a.', '-a', '_a', '.a',
  'a..b', 'a--b', 'a__b', 'requests [security,tests] >= 2.8.1, == 2.8.* ; python_version < "2.7"',
  'requests[ security , tests ]', 'requests[]', 'requests[ ]', 'requests[,]', 'requests[a,]', 'requests[a b]',
  'requests[Foo_Bar,foo-bar]', 'requests[a_]', 'requests[a', 'requests]', 'name>=1.0', 'name >= 1.0', 'name>= 1.0',
  'name>=1.0,<2', 'name>=1.0 ,<2', 'name>=1.0, <2', 'name>=1.0,', 'name>=1.0,,<2', 'name,>=1', 'name>=1.0 <2',
  'name==1.0.*', 'name==1.*,!=1.5', 'name===1.0', 'name===foo', 'name===1.0,>=1', 'name===x, >=1', 'name===x,', 'name >=1,===x ,<2', 'name==1.*,==1.*', 'name===1.0;python_version>"3"', 'name~=1.4.2',
  'name~=1', 'name>=1.0.*', 'name>=1.0+local', 'name==1.0+local', 'name==1.0a1.*', 'name>=1.0a1', 'name<2.0b1',
  'name>1.0a1', 'name>=foo', 'name=1.0', 'name>=', 'name ()', 'name (>=1', 'name >=1)', 'name (>=1) ; os_name=="nt"',
  'name;os_name=="posix"', 'name ; os_name=="posix"', 'name;', 'name ; ', 'name; os_name', 'name extra',
  'name @ https://example.com/name-1.0-py3-none-any.whl', 'name@https://example.com/x.whl',
  'name @ https://example.com/x.whl ; python_version >= "3"', 'name @ https://example.com/x.whl; python_version >= "3"',
  'name @ https://example.com/x.whl\t; python_version >= "3"', 'name [extra] @ git+https://github.com/a/b.git@v1',
  'name @ file:///tmp/name-1.0-py3-none-any.whl', 'name @ file://localhost/tmp/x.whl', 'name @ file:/tmp/x.whl',
  'name @ file:tmp/x.whl', 'name @ FILE:///tmp/x.whl', 'name @ file:///tmp/x.whl?', 'name @ file:///tmp/x.whl#',
  'name @ file:///tmp/x.whl#sha256=abc', 'name @ file:////tmp/x.whl', 'name @ /tmp/x.whl', 'name @ x.whl',
  'name @ https://', 'name @ https:///x', 'name @ https://[::1]/x.whl', 'name @ https://h/x y', 'name @ ',
  'name @', 'name @ https://h/x.whl extra', 'name>=1 @ https://h/x.whl', ' name', '\tname', 'name ', 'name\t',
  'name\n', '\nname', 'name>=1.0\t;\tos_name=="posix"', 'name # comment', 'name>=1.0 # comment', '',
  ' ', 'névé', 'name>=1.0ſ', 'name ; os_name == "pösix"', 'name;python_version>="3.8" and extra=="Foo_Bar"',
  'name ; (extra == "Foo_Bar")', 'name>=1.0;python_version>"3"', 'name (>=1.0);python_version>"3"', '-e .', '.',
  './dir', 'https://example.com/x.whl', 'name[extra]>=1; extra == "test"', 'name>=1,<2,!=1.5.*,~=1.4;os_name!="nt"',
  ...mutations(),
];
// Each well-formed requirement above with one character inserted, replaced or deleted (fixed seed).
function mutations(): string[] {
  const next = random(685);
  const seeds = [
    'requests [security,tests] >= 2.8.1, == 2.8.* ; python_version < "2.7"', 'name @ https://example.com/x.whl ; os_name == "nt"',
    'idna (>=2.5,<4)', 'Foo_Bar.baz[a,b]~=1.4.2;extra=="Test_Extra"', 'name===1.0 ; python_version >= "3"',
  ];
  const chars = [' ', '\t', ',', ';', '(', ')', '[', ']', '@', '=', '<', '>', '~', '!', '*', '.', '-', '_', '"', "'", 'a', '1', '#', '/', ':'];
  return Array.from({ length: 300 }, () => {
    const text = seeds[Math.floor(next() * seeds.length)]!;
    const at = Math.floor(next() * (text.length + 1));
    const kind = next();
    const char = chars[Math.floor(next() * chars.length)]!;
    if (kind < 0.4) return text.slice(0, at) + char + text.slice(at);
    if (kind < 0.7) return text.slice(0, at) + char + text.slice(at + 1);
    return text.slice(0, at) + text.slice(at + 1);
  });
}


const SCRIPT = LOAD_GENERATIONS + String.raw`
data = json.load(sys.stdin)
envs = data["environments"]

def evaluate(markers):
    return ["".join(cell(attempt(lambda: m.evaluate(env))) for m in markers) for env in envs]

out = {"generations": [g["release"] for g in gens], "markers": [], "requirements": []}
for text in data["markers"]:
    parsed = [attempt(lambda: g["markers"].Marker(text)) for g in gens]
    out["markers"].append({"valid": [m is not None for m in parsed], "evaluations": evaluate(parsed) if all(parsed) else None})
for text in data["requirements"]:
    parsed = [attempt(lambda: g["requirements"].Requirement(text)) for g in gens]
    entry = {"valid": [r is not None for r in parsed]}
    if all(parsed):
        canonical = gens[0]["utils"].canonicalize_name
        fields = [{"name": r.name, "url": r.url, "extras": sorted({canonical(e) for e in r.extras}),
                   "specifiers": sorted({str(s) for s in r.specifier}), "marker": r.marker is not None} for r in parsed]
        entry["fields"] = fields[0] if all(f == fields[0] for f in fields) else None
        if entry["fields"] and entry["fields"]["marker"]:
            entry["evaluations"] = evaluate([r.marker for r in parsed])
    out["requirements"].append(entry)
print(json.dumps(out))
`;

interface Evaluated {
  valid: boolean[];
  evaluations?: string[] | null;
}
interface Reference {
  generations: string[];
  markers: Evaluated[];
  requirements: (Evaluated & {
    fields?: { name: string; url: string | null; extras: string[]; specifiers: string[]; marker: boolean } | null;
  })[];
}

let ref: Reference;
beforeAll(() => {
  const input = JSON.stringify({ markers: MARKERS, requirements: REQUIREMENTS, environments: ENVIRONMENTS });
  ref = JSON.parse(execFileSync('python3', ['-c', SCRIPT], { input, encoding: 'utf8', maxBuffer: 64 << 20 }));
  expect(ref.generations.length, 'pip._vendor.packaging and packaging (pytest needs it)').toBeGreaterThanOrEqual(2);
});

const show = (text: string): string => JSON.stringify(text);
function report(mismatches: string[]): void {
  expect(mismatches.slice(0, 25), `${mismatches.length} mismatches with packaging`).toEqual([]);
}
const answer = (c: string): boolean | undefined => (c === 'T' ? true : c === 'F' ? false : undefined);
const folds = (text: string): boolean => /[\u0130\u0131\u017f\u212a]/.test(text);

/** Each generation as we model it against that generation; evaluateMarker definite only where all agree. */
function checkEvaluations(where: string, marker: Marker, cells: string[], mismatches: string[]): number {
  ENVIRONMENTS.forEach((env, e) => {
    const row = cells[e]!;
    // İ ı ſ K fold into ASCII letters in Python's case-insensitive regexes only: left to pip.
    if (folds(where)) return;
    ref.generations.forEach((release, g) => {
      const got = evaluateMarkerWith(marker, env, release);
      if (got !== answer(row[g]!)) mismatches.push(`${where} in environment ${e}: packaging ${release} says ${row[g]}, our model ${got}`);
    });
    const decided = evaluateMarker(marker, env);
    if (decided !== undefined && [...row].some((c) => answer(c) !== decided)) mismatches.push(`${where} in environment ${e}: ${decided} but packaging ${row}`);
  });
  return ENVIRONMENTS.length;
}

// Refusing what both accept is allowed only for text Python reads differently from its look: a
// backslash (26 unescapes it with ast.literal_eval, 21.3 does not), non-ASCII outside quotes, an
// IPv6 host in a URL (urllib validates it, or raises ValueError from Requirement()), or a final
// newline (22-26.2 accept it, 26.3 does not).
const conservative = (text: string): boolean =>
  /\\/.test(text) || /[^\x00-\x7f]/.test(text.replace(/"[^"]*"|'[^']*'/g, '')) || /@.*\[/.test(text) || text.endsWith('\n');

describe('PEP 508 markers against packaging', () => {
  it('parses what every generation parses and evaluates as each generation does', () => {
    const mismatches: string[] = [];
    let evaluated = 0;
    MARKERS.forEach((text, i) => {
      const expected = ref.markers[i]!;
      const ours = parseMarker(text);
      if (!expected.valid.every(Boolean)) {
        if (ours) mismatches.push(`${show(text)}: we parse it; valid in ${ref.generations}: ${expected.valid}`);
        return;
      }
      if (!ours) {
        if (!conservative(text)) mismatches.push(`${show(text)}: we refuse a marker every generation parses`);
        return;
      }
      evaluated += checkEvaluations(show(text), ours, expected.evaluations!, mismatches);
    });
    report(mismatches);
    expect(evaluated).toBeGreaterThan(5_000);
  });

  it('says undefined when the marker names a variable the environment lacks, and lists what it reads', () => {
    const marker = parseMarker('python_version >= "3.8" and (sys_platform == "win32" or extra == "socks")')!;
    const { extra: _extra, ...noExtra } = LAMBDA;
    expect(evaluateMarker(marker, noExtra)).toBeUndefined(); // packaging evaluates every comparison
    expect(evaluateMarker(marker, { ...LAMBDA, extra: 'socks' })).toBe(true);
    expect([...markerVariables(marker)].sort()).toEqual(['extra', 'python_version', 'sys_platform']);
    expect([...markerVariables(parseMarker('python_implementation == "CPython" and os.name == "posix"')!)].sort()).toEqual([
      'os_name',
      'platform_python_implementation',
    ]);
    expect(evaluateMarker(parseMarker('platform_release >= "5"')!, { platform_release: '5.10' })).toBe(true);
    expect(evaluateMarker(parseMarker('platform_release >= "5"')!, {})).toBeUndefined();
  });
});

describe('PEP 508 requirements against packaging', () => {
  it('parses exactly what every generation parses alike: name, extras, specifiers, URL and marker', () => {
    const mismatches: string[] = [];
    REQUIREMENTS.forEach((text, i) => {
      const expected = ref.requirements[i]!;
      const ours = parseRequirement(text);
      const alike = expected.valid.every(Boolean) && !!expected.fields;
      if (!alike) {
        if (ours) mismatches.push(`${show(text)}: we parse it; valid in ${ref.generations}: ${expected.valid}, alike: ${!!expected.fields}`);
        return;
      }
      if (!ours) {
        if (!conservative(text)) mismatches.push(`${show(text)}: we refuse a requirement every generation parses alike`);
        return;
      }
      const fields = expected.fields!;
      const got = {
        name: ours.name,
        url: ours.url ?? null,
        extras: [...ours.extras].sort(),
        specifiers: ours.specifier === '' ? [] : ours.specifier.split(',').sort(),
        marker: !!ours.marker,
      };
      if (JSON.stringify(got) !== JSON.stringify(fields)) mismatches.push(`${show(text)}: ${JSON.stringify(got)} vs ${JSON.stringify(fields)}`);
      if (ours.marker && expected.evaluations) checkEvaluations(show(text), ours.marker, expected.evaluations, mismatches);
    });
    report(mismatches);
  });

  it('reads the requirements a user writes', () => {
    const exceptiongroup = parseRequirement('exceptiongroup; python_version < "3.11"')!;
    expect(exceptiongroup).toMatchObject({ name: 'exceptiongroup', key: 'exceptiongroup', specifier: '', extras: [] });
    expect(evaluateMarker(exceptiongroup.marker!, LAMBDA)).toBe(false);
    expect(evaluateMarker(exceptiongroup.marker!, { ...LAMBDA, python_version: '3.10' })).toBe(true);
    expect(evaluateMarker(parseRequirement('pywin32; sys_platform == "win32"')!.marker!, LAMBDA)).toBe(false);
    expect(parseRequirement('requests[socks]>=2')).toEqual({ name: 'requests', key: 'requests', extras: ['socks'], specifier: '>=2' });
    const typing = parseRequirement('typing-extensions>=4.6; python_version<"3.13"')!;
    expect(typing).toMatchObject({ key: 'typing-extensions', specifier: '>=4.6' });
    expect(evaluateMarker(typing.marker!, LAMBDA)).toBe(true);
    expect(parseRequirement('idna (>=2.5,<4)')).toMatchObject({ key: 'idna', specifier: '>=2.5,<4' });
    expect(parseRequirement('Zope.Interface[Test_Extra]')).toMatchObject({ key: 'zope-interface', extras: ['test-extra'] });
    expect(parseRequirement('name @ https://h/name-1.0-py3-none-any.whl')).toMatchObject({ url: 'https://h/name-1.0-py3-none-any.whl' });
    for (const bad of ['', 'requests>=', 'requests >=1,', '-e .', 'requests # comment', 'requests;']) expect(parseRequirement(bad)).toBeUndefined();
  });
});

describe('wheel METADATA', () => {
  const METADATA = [
    'Metadata-Version: 2.1',
    'Name: requests',
    'Version: 2.31.0',
    'Summary: Python HTTP for Humans.',
    'Home-page: https://requests.readthedocs.io',
    'License: Apache 2.0',
    '        ',
    '        Copyright 2019 Kenneth Reitz',
    'Requires-Python: >=3.7',
    'Classifier: Programming Language :: Python :: 3',
    'Description-Content-Type: text/markdown',
    'requires-dist: charset-normalizer <4,>=2',
    'Requires-Dist: idna <4,>=2.5',
    'Requires-Dist: urllib3 <3,>=1.21.1',
    'Requires-Dist: certifi >=2017.4.17',
    'Provides-Extra: security',
    'Provides-Extra: socks',
    'Requires-Dist: PySocks !=1.5.7,>=1.5.6 ; extra == \'socks\'',
    'Provides-Extra: use_chardet_on_py3',
    'Requires-Dist: chardet <6,>=3.0.2 ;',
    "  extra == 'use_chardet_on_py3'",
    '',
    '# Requests',
    '',
    'Requires-Dist: not-a-header',
    'Name: not-the-name',
  ].join('\r\n');

  it('reads the header fields up to the blank line: repeated, folded, any case', () => {
    const metadata = parseCoreMetadata(METADATA)!;
    expect(metadata).toEqual({
      name: 'requests',
      version: '2.31.0',
      requiresPython: '>=3.7',
      requiresDist: [
        'charset-normalizer <4,>=2',
        'idna <4,>=2.5',
        'urllib3 <3,>=1.21.1',
        'certifi >=2017.4.17',
        "PySocks !=1.5.7,>=1.5.6 ; extra == 'socks'",
        "chardet <6,>=3.0.2 ;\n  extra == 'use_chardet_on_py3'", // folded: kept as Python keeps it
      ],
      providesExtra: ['security', 'socks', 'use_chardet_on_py3'],
    });
    for (const line of metadata.requiresDist.slice(0, 5)) expect(parseRequirement(line), line).toBeDefined();
    expect(parseRequirement(metadata.requiresDist[5]!)).toBeUndefined(); // packaging 26 refuses the line break: pip decides
    const socks = parseRequirement(metadata.requiresDist[4]!)!;
    expect(evaluateMarker(socks.marker!, { ...LAMBDA, extra: '' })).toBe(false);
    expect(evaluateMarker(socks.marker!, { ...LAMBDA, extra: 'socks' })).toBe(true);
  });

  it('reads Metadata-Version 1.0 and 2.4 files and refuses one without Name or Version', () => {
    expect(parseCoreMetadata('Metadata-Version: 1.0\nName: old\nVersion: 0.1\nSummary: x\n')).toEqual({
      name: 'old', version: '0.1', requiresDist: [], providesExtra: [],
    });
    const modern = parseCoreMetadata(
      'Metadata-Version: 2.4\nName: new_pkg\nVersion: 1.0\nLicense-Expression: MIT\nLicense-File: LICENSE\n' +
        'Requires-Dist: tomli>=1.1; python_version < "3.11"\nProvides-Extra: Dev\n\nlong description\n',
    );
    expect(modern).toMatchObject({ name: 'new_pkg', requiresDist: ['tomli>=1.1; python_version < "3.11"'], providesExtra: ['Dev'] });
    expect(parseCoreMetadata('Metadata-Version: 2.1\nName: x\n')).toBeUndefined();
    expect(parseCoreMetadata('Metadata-Version: 2.1\nVersion: 1.0\n')).toBeUndefined();
    expect(parseCoreMetadata('\nName: x\nVersion: 1\n')).toBeUndefined(); // the headers ended at once
    expect(parseCoreMetadata('\ufeffName: x\nVersion: 1\n')).toBeUndefined(); // Python reads no Name either
  });

  it("reads the fields Python's email parser reads (pip and importlib.metadata use it)", () => {
    const samples = [
      METADATA,
      'Name: a\nVersion: 1\nRequires-Dist: b\n\tc\nFoo Bar: not a header\nRequires-Dist: d\n',
      'Name: a\r\nVersion: 1\r\n:broken\r\nRequires-Dist: b ; extra == "x"\r\n  and os_name == "nt"\r\nProvides-Extra: x\r\n',
      '  orphan continuation\nName: a\nVERSION: 2\nrequires-dist: b>=1\nRequires-Dist:\nRequires-Python: >=3.8 \n\nName: body\n',
      'Name:a\rVersion:1\rRequires-Dist:c\r\rRequires-Dist: body',
    ];
    const script = String.raw`
import email, json, sys
out = []
for text in json.load(sys.stdin):
    msg = email.message_from_string(text)
    get = lambda name: [v.strip().replace("\r\n", "\n").replace("\r", "\n") for v in (msg.get_all(name) or [])]
    out.append({"name": get("Name")[:1], "version": get("Version")[:1], "requiresDist": [v for v in get("Requires-Dist") if v],
                "requiresPython": get("Requires-Python")[:1], "providesExtra": [v for v in get("Provides-Extra") if v]})
print(json.dumps(out))
`;
    const expected = JSON.parse(execFileSync('python3', ['-c', script], { input: JSON.stringify(samples), encoding: 'utf8' }));
    samples.forEach((text, i) => {
      const ours = parseCoreMetadata(text)!;
      expect(ours, show(text)).toBeDefined();
      expect({
        name: [ours.name], version: [ours.version], requiresDist: ours.requiresDist,
        requiresPython: ours.requiresPython === undefined ? [] : [ours.requiresPython], providesExtra: ours.providesExtra,
      }).toEqual(expected[i]);
    });
  });
});
