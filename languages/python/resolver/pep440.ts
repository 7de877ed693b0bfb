// PEP 440 versions and specifier sets, exact to Python's `packaging`.
//
// Three generations of `packaging` decide what pip does: 21.3 (vendored by pip < 24.1: 'legacy'),
// 22-25 (pip 24.1-25.x: 'middle') and 26 (the current release, pip's next: 'modern'). They agree
// almost everywhere; where they do not (the few rules matchOne switches on `gen`), `decide()`
// returns undefined so the resolver hands the case to pip instead of guessing. Non-ASCII text
// (other than Python's Unicode whitespace) is refused: Python's case-insensitive regexes fold
// `ſ` and `K` into ASCII letters, JavaScript's do not, and no real version uses them.
// Written here rather than wrapping @renovatebot/pep440 (4.2.4): it follows no packaging release
// exactly (it says 1!1.0 is not >1.0, and 1.0 not <1.0.post1, where every packaging agrees) and
// cannot say "the pips disagree here".
//
// For a resolver: filter candidates with contains(v, { prereleases: allowPre || set.mentionsPrerelease }).
// If only pre-releases match, pip < 26's packaging picks none (for a non-empty set) and 26 picks
// them: ask pip.

export interface ParsedVersion {
  readonly epoch: bigint;
  readonly release: readonly bigint[];
  readonly pre?: readonly [PreLabel, bigint];
  readonly post?: bigint;
  readonly dev?: bigint;
  readonly local?: readonly (string | bigint)[];
}
type PreLabel = 'a' | 'b' | 'rc';

// Python's `\s` (str.isspace): JavaScript's `\s` lacks \x1c-\x1f and \x85 and adds \ufeff.
export const PY_SPACE = '[\\t\\n\\x0b\\x0c\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
const NOT_SPACE = PY_SPACE.replace('[', '[^');
const TRIM = new RegExp(`^${PY_SPACE}+|${PY_SPACE}+$`, 'g');
const SPACES = new RegExp(PY_SPACE, 'g');
export function pyStrip(text: string): string {
  return text.replace(TRIM, '');
}
/** Non-ASCII apart from whitespace: Python's case-insensitive regexes fold `ſ` into `s` and `K` into `k`, JavaScript's do not. */
export function hasForeign(text: string): boolean {
  return /[^\x00-\x7f]/.test(text.replace(SPACES, ''));
}

// packaging's VERSION_PATTERN (26's alternation order). 26 makes some quantifiers possessive on
// CPython >= 3.11.5 for speed; that accepts the same strings (checked against 21.3 and 26 over
// every string of up to five tokens from 1 0 . - _ a r c + ! v post dev pre rc).
const VERSION_RE =
  /^v?(?:(\d+)!)?(\d+(?:\.\d+)*)(?:[._-]?(alpha|a|beta|b|preview|pre|c|rc)[._-]?(\d+)?)?(?:-(\d+)|[._-]?(post|rev|r)[._-]?(\d+)?)?([._-]?dev[._-]?(\d+)?)?(?:\+([a-z0-9]+(?:[._-][a-z0-9]+)*))?$/i;

export function parseVersion(text: string): ParsedVersion | undefined {
  if (typeof text !== 'string' || hasForeign(text)) return undefined;
  const m = VERSION_RE.exec(pyStrip(text));
  if (!m) return undefined;
  const [, epoch, release, preLabel, preNumber, postDash, postLabel, postNumber, dev, devNumber, local] = m;
  const post = postDash ?? (postLabel !== undefined ? (postNumber ?? '0') : undefined);
  return {
    epoch: BigInt(epoch ?? '0'),
    release: release!.split('.').map(BigInt),
    ...(preLabel !== undefined ? { pre: [normalizePre(preLabel.toLowerCase()), BigInt(preNumber ?? '0')] as const } : {}),
    ...(post !== undefined ? { post: BigInt(post) } : {}),
    ...(dev !== undefined ? { dev: BigInt(devNumber ?? '0') } : {}),
    ...(local !== undefined
      ? { local: local.toLowerCase().split(/[._-]/).map((part) => (/^\d+$/.test(part) ? BigInt(part) : part)) }
      : {}),
  };
}

function normalizePre(label: string): PreLabel {
  if (label === 'a' || label === 'alpha') return 'a';
  if (label === 'b' || label === 'beta') return 'b';
  return 'rc'; // c, rc, pre, preview
}

export function isValidVersion(text: string): boolean {
  return parseVersion(text) !== undefined;
}

export function isPrerelease(version: string): boolean {
  const v = parseVersion(version);
  return v !== undefined && isPre(v);
}
function isPre(v: ParsedVersion): boolean {
  return v.pre !== undefined || v.dev !== undefined;
}

/** packaging's str(Version): the normalized form. */
export function normalizeVersion(v: ParsedVersion): string {
  let out = v.epoch !== 0n ? `${v.epoch}!` : '';
  out += v.release.join('.');
  if (v.pre) out += `${v.pre[0]}${v.pre[1]}`;
  if (v.post !== undefined) out += `.post${v.post}`;
  if (v.dev !== undefined) out += `.dev${v.dev}`;
  if (v.local) out += `+${v.local.join('.')}`;
  return out;
}

const cmp = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);

function compareRelease(a: readonly bigint[], b: readonly bigint[]): number {
  // Trailing zeros do not count: 1.0.0 == 1.
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const c = cmp(a[i] ?? 0n, b[i] ?? 0n);
    if (c) return c;
  }
  return 0;
}

const PRE_RANK: Record<PreLabel, number> = { a: 0, b: 1, rc: 2 };

export function compareParsed(a: ParsedVersion, b: ParsedVersion): number {
  let c = cmp(a.epoch, b.epoch) || compareRelease(a.release, b.release);
  if (c) return c;
  // Pre: a dev-only release sorts before any pre-release; no pre sorts after rc.
  const preKey = (v: ParsedVersion): [number, bigint] =>
    v.pre ? [PRE_RANK[v.pre[0]], v.pre[1]] : v.post === undefined && v.dev !== undefined ? [-1, 0n] : [3, 0n];
  const [pa, pna] = preKey(a);
  const [pb, pnb] = preKey(b);
  c = pa - pb || cmp(pna, pnb);
  if (c) return c;
  c = a.post === undefined ? (b.post === undefined ? 0 : -1) : b.post === undefined ? 1 : cmp(a.post, b.post);
  if (c) return c;
  c = a.dev === undefined ? (b.dev === undefined ? 0 : 1) : b.dev === undefined ? -1 : cmp(a.dev, b.dev);
  if (c) return c;
  return compareLocal(a.local, b.local);
}

function compareLocal(a?: readonly (string | bigint)[], b?: readonly (string | bigint)[]): number {
  if (!a || !b) return a ? 1 : b ? -1 : 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]!;
    const y = b[i]!;
    // PEP 440: alphanumeric segments sort before numeric ones.
    if (typeof x === 'string' && typeof y === 'string') {
      if (x !== y) return x < y ? -1 : 1;
    } else if (typeof x === 'bigint' && typeof y === 'bigint') {
      if (x !== y) return cmp(x, y);
    } else return typeof x === 'string' ? -1 : 1;
  }
  return a.length - b.length;
}

/** PEP 440 order; an invalid version sorts before every valid one (and equal to other invalid ones). */
export function compareVersions(a: string, b: string): number {
  const pa = parseVersion(a);
  const pb = parseVersion(b);
  if (!pa || !pb) return pa ? 1 : pb ? -1 : 0;
  return Math.sign(compareParsed(pa, pb));
}

// ---------------------------------------------------------------------------------------------
// Specifiers

export type Operator = '~=' | '==' | '!=' | '<=' | '>=' | '<' | '>' | '===';
export interface Specifier {
  readonly operator: Operator;
  readonly version: string; // as written (stripped)
  readonly parsed?: ParsedVersion; // undefined only for === with a non-version
  readonly wildcard: boolean;
}

const VER_CORE = 'v?(?:\\d+!)?\\d+(?:\\.\\d+)*';
const PRE = '(?:[-_.]?(?:alpha|beta|preview|pre|a|b|c|rc)[-_.]?\\d*)?';
const POST = '(?:-\\d+|[-_.]?(?:post|rev|r)[-_.]?\\d*)?';
const DEV = '(?:[-_.]?dev[-_.]?\\d*)?';
const LOCAL = '(?:\\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?';
// The intersection of 21.3's and 26's specifier grammars: 26 refuses a wildcard after a pre, post
// or dev segment (21.3 took "==1.0a1.*"), and 26 stops an arbitrary version at `;` or `)`.
const SPEC_RE = new RegExp(
  `^(?:(===)${PY_SPACE}*(${NOT_SPACE.replace(']', ';)]')}*)` +
    `|(==|!=)${PY_SPACE}*(${VER_CORE}(?:\\.\\*|${PRE}${POST}${DEV}${LOCAL}))` +
    `|(~=)${PY_SPACE}*(v?(?:\\d+!)?\\d+(?:\\.\\d+)+${PRE}${POST}${DEV})` +
    `|(<=|>=|<|>)${PY_SPACE}*(${VER_CORE}${PRE}${POST}${DEV}))$`,
  'i',
);

export function parseSpecifier(text: string): Specifier | undefined {
  if (hasForeign(text)) return undefined;
  const m = SPEC_RE.exec(pyStrip(text));
  if (!m) return undefined;
  const operator = (m[1] ?? m[3] ?? m[5] ?? m[7]) as Operator;
  const version = m[2] ?? m[4] ?? m[6] ?? m[8] ?? '';
  const wildcard = version.endsWith('.*') && operator !== '===';
  const parsed = parseVersion(wildcard ? version.slice(0, -2) : version);
  if (!parsed && operator !== '===') return undefined; // e.g. "==1.0a-1": valid only for 21.3
  return { operator, version, wildcard, ...(parsed ? { parsed } : {}) };
}

/**
 * packaging's Specifier.prereleases, per generation: does this specifier admit pre-releases by
 * default? undefined: the middle generation raises (it parses a `===` non-version as a Version).
 */
function specMentionsPrerelease(gen: Generation, s: Specifier): boolean | undefined {
  if (!s.parsed) return gen === 'middle' && s.operator === '===' ? undefined : false;
  if (!isPre(s.parsed)) return false;
  // 21.3-25: only the inclusive operators count; 26: every operator but != (a wildcard has no pre-release).
  if (gen === 'modern') return s.operator !== '!=' && !s.wildcard;
  return ['==', '>=', '<=', '~=', '==='].includes(s.operator);
}
function setMentions(gen: Generation, specifiers: readonly Specifier[]): boolean | undefined {
  const each = specifiers.map((s) => specMentionsPrerelease(gen, s));
  return each.includes(undefined) ? undefined : each.includes(true);
}

// ---- the two generations' operator rules (item is a valid version) ----

const baseOf = (v: ParsedVersion): ParsedVersion => ({ epoch: v.epoch, release: v.release });
const publicOf = (v: ParsedVersion): ParsedVersion => ({ ...v, local: undefined });
const eq = (a: ParsedVersion, b: ParsedVersion): boolean => compareParsed(a, b) === 0;

// _version_split: release numbers, then "0a1" split into "0","a1"; 26 puts the epoch first.
function versionSplit(text: string, withEpoch: boolean): string[] {
  const out: string[] = [];
  let rest = text;
  if (withEpoch) {
    const bang = text.lastIndexOf('!');
    out.push(bang >= 0 ? text.slice(0, bang) || '0' : '0');
    rest = bang >= 0 ? text.slice(bang + 1) : text;
  }
  for (const item of rest.split('.')) {
    const m = /^(\d+)((?:a|b|c|rc)\d+)$/.exec(item);
    if (m) out.push(m[1]!, m[2]!);
    else out.push(item);
  }
  return out;
}
const isDigits = (s: string): boolean => /^\d+$/.test(s);
const notSuffix = (s: string): boolean => !['dev', 'a', 'b', 'rc', 'post'].some((p) => s.startsWith(p));
const numericPrefix = (parts: string[]): number => {
  let n = 0;
  while (n < parts.length && isDigits(parts[n]!)) n++;
  return n;
};

function legacyWildcard(item: ParsedVersion, specPrefix: string): boolean {
  const spec = versionSplit(specPrefix, false);
  const prospective = versionSplit(normalizeVersion(publicOf(item)), false).slice(0, spec.length);
  // _pad_version: zero-pad both release parts to the same length, keep the rest.
  const a = numericPrefix(spec);
  const b = numericPrefix(prospective);
  const padSpec = [...spec.slice(0, a), ...Array(Math.max(0, b - a)).fill('0'), ...spec.slice(a)];
  const padPro = [...prospective.slice(0, b), ...Array(Math.max(0, a - b)).fill('0'), ...prospective.slice(b)];
  return padSpec.length === padPro.length && padSpec.every((x, i) => x === padPro[i]);
}

function modernWildcard(item: ParsedVersion, specPrefix: string): boolean {
  const parsed = parseVersion(specPrefix);
  const spec = versionSplit(parsed ? normalizeVersion(parsed) : specPrefix, true);
  const n = numericPrefix(spec);
  let pro = versionSplit(normalizeVersion(publicOf(item)), true);
  const have = numericPrefix(pro);
  if (have < n) pro = [...pro.slice(0, have), ...Array(n - have).fill('0'), ...pro.slice(have)];
  pro = pro.slice(0, spec.length);
  return pro.length === spec.length && pro.every((x, i) => x === spec[i]);
}

function compatiblePrefix(version: string, withEpoch: boolean): string {
  const parts = versionSplit(version, withEpoch);
  const kept: string[] = [];
  for (const p of parts) {
    if (!notSuffix(p)) break;
    kept.push(p);
  }
  kept.pop();
  return withEpoch ? `${kept[0]}!${kept.slice(1).join('.')}` : kept.join('.');
}

type Generation = 'legacy' | 'middle' | 'modern';
const GENERATIONS: readonly Generation[] = ['legacy', 'middle', 'modern'];

function matchOne(gen: Generation, s: Specifier, item: ParsedVersion, raw: string): boolean {
  const spec = s.parsed;
  switch (s.operator) {
    case '===':
      // 21.3-25 compare the normalized item, 26 the item as written.
      return (gen === 'modern' ? raw : normalizeVersion(item)).toLowerCase() === s.version.toLowerCase();
    case '==':
    case '!=': {
      let hit: boolean;
      if (s.wildcard) {
        const prefix = s.version.slice(0, -2);
        hit = gen === 'legacy' ? legacyWildcard(item, prefix) : modernWildcard(item, prefix);
      } else hit = eq(spec!.local ? item : publicOf(item), spec!);
      return s.operator === '==' ? hit : !hit;
    }
    case '<=':
      return compareParsed(publicOf(item), spec!) <= 0;
    case '>=':
      return compareParsed(publicOf(item), spec!) >= 0;
    case '~=': {
      const prefix = compatiblePrefix(s.version, gen !== 'legacy');
      const hit = gen === 'legacy' ? legacyWildcard(item, prefix) : modernWildcard(item, prefix);
      return compareParsed(publicOf(item), spec!) >= 0 && hit;
    }
    case '<': {
      if (!(compareParsed(item, spec!) < 0)) return false;
      if (isPre(spec!) || !isPre(item)) return true;
      // "<V must not allow a pre-release of V": 21.3-25 compare base versions, 26 bounds at V.dev0.
      if (gen !== 'modern') return !eq(baseOf(item), baseOf(spec!));
      return compareParsed(item, { ...spec!, dev: 0n, local: undefined }) < 0;
    }
    case '>': {
      if (!(compareParsed(item, spec!) > 0)) return false;
      if (gen !== 'modern') {
        if (spec!.post === undefined && item.post !== undefined && eq(baseOf(item), baseOf(spec!))) return false;
        return !(item.local !== undefined && eq(baseOf(item), baseOf(spec!)));
      }
      const postBase: ParsedVersion = { ...item, post: undefined, dev: undefined, local: undefined };
      if (spec!.post === undefined && item.post !== undefined && eq(postBase, spec!)) return false;
      return !(item.local !== undefined && eq(publicOf(item), spec!));
    }
  }
}

/** undefined: that generation raises (22-25 parse every candidate as a Version). */
function matchAll(gen: Generation, specs: readonly Specifier[], version: string, prereleases: boolean): boolean | undefined {
  const item = parseVersion(version);
  if (!item) {
    if (gen === 'middle') return undefined;
    // Not a version: only `===` can match it, and then every specifier must be that `===`.
    return specs.every((s) => s.operator === '===' && s.version.toLowerCase() === version.toLowerCase());
  }
  if (!prereleases && isPre(item)) return false;
  return specs.every((s) => matchOne(gen, s, item, version));
}

export interface ContainsOptions {
  /** Admit pre-releases; default: whether the set itself names one (packaging's `prereleases`). */
  prereleases?: boolean;
}

export interface SpecifierSet {
  readonly text: string;
  readonly specifiers: readonly Specifier[];
  /** packaging's SpecifierSet.contains(version, prereleases=P) with P = options.prereleases ?? mentionsPrerelease. */
  contains(version: string, options?: ContainsOptions): boolean;
  /** Like contains, but undefined where pip's packaging generations (21.3 and 26) answer differently. */
  decide(version: string, options?: ContainsOptions): boolean | undefined;
  /** A specifier `==`, `>=`, `<=`, `~=` or `===` names a pre-release, so pre-releases are admitted by default. */
  readonly mentionsPrerelease: boolean;
}

/**
 * A comma-separated specifier set ('' = any version); undefined when invalid or when the
 * packaging generations would admit pre-releases differently by default (a set whose only
 * pre-release is named by `<` or `>`: 26 admits them, 21.3 does not).
 */
export function parseSpecifierSet(text: string): SpecifierSet | undefined {
  const specifiers = parseSpecifierList(text);
  if (!specifiers) return undefined;
  const legacy = setMentions('legacy', specifiers)!;
  if (legacy !== setMentions('modern', specifiers)) return undefined;
  return makeSet(text, specifiers, legacy);
}

export function parseSpecifierList(text: string): Specifier[] | undefined {
  if (typeof text !== 'string') return undefined;
  const out: Specifier[] = [];
  for (const part of text.split(',')) {
    if (pyStrip(part) === '') continue; // packaging skips empty items ("" and ">=1,,<2")
    const s = parseSpecifier(part);
    if (!s) return undefined;
    out.push(s);
  }
  return out;
}

function makeSet(text: string, specifiers: readonly Specifier[], mentionsPrerelease: boolean): SpecifierSet {
  const decide = (version: string, options?: ContainsOptions): boolean | undefined => {
    if (typeof version !== 'string' || hasForeign(version)) return undefined; // 21.3 may read it, 26 does not
    const answers = GENERATIONS.map((gen) => containsBy(gen, specifiers, version, options));
    return answers.every((answer) => answer === answers[0]) ? answers[0] : undefined;
  };
  return {
    text,
    specifiers,
    mentionsPrerelease,
    decide,
    contains: (version, options) =>
      decide(version, options) ?? matchAll('modern', specifiers, version, options?.prereleases ?? mentionsPrerelease) ?? false,
  };
}

// 21.3's specifier grammar, a superset of the one above: in a marker, text only 21.3 reads as a
// specifier compares as a version there and as a string in 26, so its outcome is not certain.
const LEGACY_SPEC_RE = new RegExp(
  `^(?:(===)${PY_SPACE}*${NOT_SPACE}*` +
    `|(==|!=)${PY_SPACE}*${VER_CORE}${PRE}${POST}(?:${DEV}${LOCAL}|\\.\\*)?` +
    `|(~=)${PY_SPACE}*v?(?:\\d+!)?\\d+(?:\\.\\d+)+${PRE}${POST}${DEV}` +
    `|(<=|>=|<|>)${PY_SPACE}*${VER_CORE}${PRE}${POST}${DEV})$`,
  'i',
);
export function isLegacySpecifierText(text: string): boolean {
  return LEGACY_SPEC_RE.test(pyStrip(text));
}

/** What one packaging generation answers for SpecifierSet.contains (undefined: it raises). */
export function containsBy(
  gen: Generation,
  specifiers: readonly Specifier[],
  version: string,
  options?: ContainsOptions,
): boolean | undefined {
  const pre = options?.prereleases ?? setMentions(gen, specifiers);
  return pre === undefined ? undefined : matchAll(gen, specifiers, version, pre);
}

/** The generation a packaging release belongs to ("21.3" → legacy, "24.1" → middle, "26.2" → modern). */
export function generationOf(packagingVersion: string): Generation {
  const major = Number(/^\d+/.exec(packagingVersion)?.[0] ?? 0);
  return major <= 21 ? 'legacy' : major <= 25 ? 'middle' : 'modern';
}

/**
 * One marker comparison read as a version comparison: 22+ call Specifier(op + rhs).contains(lhs,
 * prereleases=True); 21.3 calls .contains(lhs), which admits pre-releases only when the specifier
 * (==, >=, <=, ~=, ===) names one. undefined: 22-25 raise on a left side that is no version.
 */
export function markerVersionMatch(gen: Generation, spec: Specifier, lhs: string): boolean | undefined {
  return matchAll(gen, [spec], lhs, gen !== 'legacy' || specMentionsPrerelease('legacy', spec) === true);
}
export type { Generation };
