// PEP 440 versions and specifier sets, exact to Python's `packaging`.
//
// Two generations of `packaging` decide what pip does: 21.3 (vendored by pip < 24.1, the pip on
// many build hosts) and the current one (26.x: pip >= 24.1 vendors 24+, and new releases move
// towards it). They agree almost everywhere; where they do not (a handful of edge rules listed in
// legacyMatch/modernMatch), `decide()` returns undefined so the resolver hands the case to pip
// instead of guessing. Anything outside ASCII is refused: Python's case-insensitive regexes match
// some non-ASCII letters (`ſ`, `K`) that JavaScript's do not, and no real version uses them.
// Written here rather than wrapping @renovatebot/pep440: that port follows one older packaging
// and cannot say "the pips disagree here".

export interface ParsedVersion {
  readonly epoch: bigint;
  readonly release: readonly bigint[];
  readonly pre?: readonly [PreLabel, bigint];
  readonly post?: bigint;
  readonly dev?: bigint;
  readonly local?: readonly (string | bigint)[];
}
type PreLabel = 'a' | 'b' | 'rc';

// Python's `\s` on ASCII: space, \t\n\v\f\r and the four separators \x1c-\x1f.
export const PY_SPACE = '[\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f ]';
const TRIM = new RegExp(`^${PY_SPACE}+|${PY_SPACE}+$`, 'g');
export function pyStrip(text: string): string {
  return text.replace(TRIM, '');
}
const ASCII = /^[\x00-\x7f]*$/;

// packaging 26's pattern uses possessive quantifiers (on CPython >= 3.11.5), which accept a subset
// of what 21.3's plain pattern accepts (e.g. "1.0a-1"); the subset is what both accept. JavaScript
// has no possessive quantifiers: `(?=(X))\N` is the standard atomic-group emulation.
const VERSION_RE = new RegExp(
  '^(?=(v?))\\1' +
    '(?=((?:(\\d+)!)?))\\2' + // epoch
    '(?=(\\d+(?:\\.\\d+)*))\\4' + // release
    '(?=((?:(?=([._-]?))\\6(alpha|a|beta|b|preview|pre|c|rc)(?=([._-]?))\\8(\\d+)?)?))\\5' + // pre
    '(?=((?:-(\\d+)|[._-]?(post|rev|r)[._-]?(\\d+)?)?))\\10' + // post
    '(?=((?:(?=([._-]?))\\15dev(?=([._-]?))\\16(\\d+)?)?))\\14' + // dev
    '(?=((?:\\+([a-z0-9]+(?:[._-][a-z0-9]+)*))?))\\18$', // local
  'i',
);

export function parseVersion(text: string): ParsedVersion | undefined {
  if (typeof text !== 'string' || !ASCII.test(text)) return undefined;
  const m = VERSION_RE.exec(pyStrip(text));
  if (!m) return undefined;
  const preLabel = m[7]?.toLowerCase();
  const postText = m[11] ?? (m[12] !== undefined ? (m[13] ?? '0') : undefined);
  return {
    epoch: BigInt(m[3] ?? '0'),
    release: m[4]!.split('.').map(BigInt),
    ...(preLabel !== undefined ? { pre: [normalizePre(preLabel), BigInt(m[9] ?? '0')] as const } : {}),
    ...(postText !== undefined ? { post: BigInt(postText) } : {}),
    ...(m[14] ? { dev: BigInt(m[17] ?? '0') } : {}),
    ...(m[19] !== undefined
      ? { local: m[19].toLowerCase().split(/[._-]/).map((part) => (/^\d+$/.test(part) ? BigInt(part) : part)) }
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

const NOT_SPACE = '[^\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f ]';
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
  if (!ASCII.test(text)) return undefined;
  const m = SPEC_RE.exec(pyStrip(text));
  if (!m) return undefined;
  const operator = (m[1] ?? m[3] ?? m[5] ?? m[7]) as Operator;
  const version = m[2] ?? m[4] ?? m[6] ?? m[8] ?? '';
  const wildcard = version.endsWith('.*') && operator !== '===';
  const parsed = parseVersion(wildcard ? version.slice(0, -2) : version);
  if (!parsed && operator !== '===') return undefined; // e.g. "==1.0a-1": valid only for 21.3
  return { operator, version, wildcard, ...(parsed ? { parsed } : {}) };
}

/** packaging's Specifier.prereleases: does this specifier on its own admit pre-releases? */
function specMentionsPrerelease(s: Specifier): boolean {
  if (s.operator === '!=' || s.wildcard || !s.parsed) return false;
  return isPre(s.parsed);
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

type Generation = 'legacy' | 'modern';

function matchOne(gen: Generation, s: Specifier, item: ParsedVersion, raw: string): boolean {
  const spec = s.parsed;
  switch (s.operator) {
    case '===':
      // 21.3 compares the normalized item, 26 the item as written.
      return (gen === 'legacy' ? normalizeVersion(item) : raw).toLowerCase() === s.version.toLowerCase();
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
      const prefix = compatiblePrefix(s.version, gen === 'modern');
      const hit = gen === 'legacy' ? legacyWildcard(item, prefix) : modernWildcard(item, prefix);
      return compareParsed(publicOf(item), spec!) >= 0 && hit;
    }
    case '<': {
      if (!(compareParsed(item, spec!) < 0)) return false;
      if (isPre(spec!) || !isPre(item)) return true;
      // "<V must not allow a pre-release of V": 21.3 compares base versions, 26 bounds at V.dev0.
      if (gen === 'legacy') return !eq(baseOf(item), baseOf(spec!));
      return compareParsed(item, { ...spec!, dev: 0n, local: undefined }) < 0;
    }
    case '>': {
      if (!(compareParsed(item, spec!) > 0)) return false;
      if (gen === 'legacy') {
        if (spec!.post === undefined && item.post !== undefined && eq(baseOf(item), baseOf(spec!))) return false;
        return !(item.local !== undefined && eq(baseOf(item), baseOf(spec!)));
      }
      const postBase: ParsedVersion = { ...item, post: undefined, dev: undefined, local: undefined };
      if (spec!.post === undefined && item.post !== undefined && eq(postBase, spec!)) return false;
      return !(item.local !== undefined && eq(publicOf(item), spec!));
    }
  }
}

function matchAll(gen: Generation, specs: readonly Specifier[], version: string, prereleases: boolean): boolean {
  const item = parseVersion(version);
  if (!item) {
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
 * packaging generations would read it differently (`<V`/`>V` with V a pre-release: 21.3 does not
 * admit pre-releases for it by default, 26 does).
 */
export function parseSpecifierSet(text: string): SpecifierSet | undefined {
  const specifiers = parseSpecifierList(text);
  if (!specifiers) return undefined;
  if (specifiers.some((s) => (s.operator === '<' || s.operator === '>') && isPre(s.parsed!))) return undefined;
  return makeSet(text, specifiers);
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

function makeSet(text: string, specifiers: readonly Specifier[]): SpecifierSet {
  const mentionsPrerelease = specifiers.some(specMentionsPrerelease);
  const decide = (version: string, options?: ContainsOptions): boolean | undefined => {
    const pre = options?.prereleases ?? mentionsPrerelease;
    const legacy = matchAll('legacy', specifiers, version, pre);
    return legacy === matchAll('modern', specifiers, version, pre) ? legacy : undefined;
  };
  return {
    text,
    specifiers,
    mentionsPrerelease,
    decide,
    contains: (version, options) =>
      decide(version, options) ?? matchAll('modern', specifiers, version, options?.prereleases ?? mentionsPrerelease),
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

/**
 * One marker comparison read as a version comparison: 26 calls Specifier(op + rhs).contains(lhs,
 * prereleases=True); 21.3 calls .contains(lhs), which admits pre-releases only when the specifier
 * (==, >=, <=, ~=, ===) names one.
 */
export function markerVersionMatch(gen: Generation, spec: Specifier, lhs: string): boolean {
  let pre = true;
  if (gen === 'legacy') {
    const named = ['==', '>=', '<=', '~=', '==='].includes(spec.operator);
    pre = named && spec.parsed !== undefined && isPre(spec.parsed);
  }
  return matchAll(gen, [spec], lhs, pre);
}
export type { Generation };
