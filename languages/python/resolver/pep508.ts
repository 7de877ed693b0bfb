// PEP 508 requirements and environment markers, exact to Python's `packaging`.
//
// As in pep440.ts, three packaging generations decide what pip does: 21.3 (pip < 24.1, a pyparsing
// grammar), 22-25 (pip 24.1-25.x) and 26 (both a hand-written tokenizer). The parser accepts only
// what all accept (21.3 takes `os_name=="a"andos_name=="b"`, 22+ take a name ending in `_`; both
// are refused here), and evaluateMarker runs every generation's rules and answers undefined where
// they differ, so the caller hands that requirement to pip instead of guessing.

import {
  type Generation,
  generationOf,
  isLegacySpecifierText,
  markerVersionMatch,
  parseSpecifier,
  parseSpecifierList,
} from './pep440.js';

export interface Pep508Requirement {
  name: string;
  key: string; // PEP 503 normalized
  extras: string[]; // normalized (PEP 685), first occurrence order, no duplicates
  specifier: string; // '' = any; each specifier as packaging's str(Specifier), duplicates dropped, joined with ','
  url?: string;
  marker?: Marker;
}

type MarkerVar = { readonly kind: 'variable'; readonly name: string } | { readonly kind: 'value'; readonly value: string };
type MarkerOp = '===' | '==' | '~=' | '!=' | '<=' | '>=' | '<' | '>' | 'in' | 'not in';
type MarkerItem = { readonly lhs: MarkerVar; readonly op: MarkerOp; readonly rhs: MarkerVar };
type MarkerNode = MarkerItem | MarkerList;
/** Atoms joined by 'and'/'or' (and binds tighter), as packaging's nested marker lists. */
type MarkerList = { readonly atoms: readonly MarkerNode[]; readonly joins: readonly ('and' | 'or')[] };

/** A parsed marker; opaque to callers (evaluate it with evaluateMarker). */
export interface Marker {
  readonly text: string;
  readonly tree: MarkerList;
}

export type MarkerEnvironment = Record<string, string>;

export function canonicalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

// ---------------------------------------------------------------------------------------------
// Tokenizer: a cursor over the text; whitespace is only space and tab (26's rule; 21.3 also skips
// newlines, which a requirements line cannot hold anyway).

class Cursor {
  position = 0;
  constructor(readonly source: string) {}
  match(re: RegExp): string | undefined {
    re.lastIndex = this.position;
    const m = re.exec(this.source);
    if (!m || m.index !== this.position) return undefined;
    this.position += m[0].length;
    return m[0];
  }
  peek(re: RegExp): boolean {
    re.lastIndex = this.position;
    const m = re.exec(this.source);
    return !!m && m.index === this.position;
  }
  ws(): boolean {
    return this.match(WS) !== undefined;
  }
  // No final "\n" either: 22-26.2 accept one (their END is Python's `$`), 26.3 does not.
  get done(): boolean {
    return this.position === this.source.length;
  }
}

const WS = /[ \t]+/y;
// Word boundaries as 26's \b; 21.3 matches these literals anywhere, so the boundary is the intersection.
const VARIABLE =
  /(?<![A-Za-z0-9_])(python_version|python_full_version|os[._]name|sys[._]platform|platform_release|platform_system|platform[._]version|platform[._]machine|platform[._]python_implementation|python_implementation|implementation_name|implementation_version|extra)(?![A-Za-z0-9_])/y;
// No backslash (26 runs ast.literal_eval on the string, 21.3 keeps it as written) and no line breaks.
const QUOTED = /'[^'\\\r\n]*'|"[^"\\\r\n]*"/y;
const OP = /===|==|~=|!=|<=|>=|<|>/y;
// 21.3 only knows the literal "not in" with one space; 26 any whitespace between.
const NOT_IN = /(?<![A-Za-z0-9_])not in(?![A-Za-z0-9_])/y;
const IN = /(?<![A-Za-z0-9_])in(?![A-Za-z0-9_])/y;
const BOOLOP = /(?<![A-Za-z0-9_])(?:and|or)(?![A-Za-z0-9_])/y;
// Ends with a letter or digit: 21.3's IDENTIFIER (26 also accepts a trailing `_`).
const IDENTIFIER = /[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?(?![A-Za-z0-9._-]*[A-Za-z0-9])/y;

class Syntax extends Error {}
const fail = (): never => {
  throw new Syntax();
};

function parseMarkerList(c: Cursor, depth: number): MarkerList {
  if (depth > 100) fail(); // nesting that deep is an attack, not a marker
  const atoms: MarkerNode[] = [parseMarkerAtom(c, depth)];
  const joins: ('and' | 'or')[] = [];
  for (;;) {
    const op = c.match(BOOLOP);
    if (!op) break;
    joins.push(op as 'and' | 'or');
    atoms.push(parseMarkerAtom(c, depth));
  }
  return { atoms, joins };
}

function parseMarkerAtom(c: Cursor, depth: number): MarkerNode {
  c.ws();
  let node: MarkerNode;
  if (c.match(/\(/y)) {
    c.ws();
    node = parseMarkerList(c, depth + 1);
    c.ws();
    if (!c.match(/\)/y)) fail();
  } else {
    const lhs = parseMarkerVar(c);
    c.ws();
    const op = (c.match(OP) ?? c.match(NOT_IN) ?? c.match(IN) ?? fail()) as MarkerOp;
    c.ws();
    node = { lhs, op, rhs: parseMarkerVar(c) };
  }
  c.ws();
  return node;
}

function parseMarkerVar(c: Cursor): MarkerVar {
  const variable = c.match(VARIABLE);
  if (variable) {
    const name = variable.replace('.', '_');
    return { kind: 'variable', name: name === 'python_implementation' ? 'platform_python_implementation' : name };
  }
  const quoted = c.match(QUOTED);
  if (quoted) return { kind: 'value', value: quoted.slice(1, -1) };
  return fail();
}

/** A marker expression on its own (the text after `;`); undefined when packaging would reject it. */
export function parseMarker(text: string): Marker | undefined {
  if (typeof text !== 'string') return undefined;
  const c = new Cursor(text);
  try {
    const tree = parseMarkerList(c, 0);
    c.ws();
    return c.done ? { text, tree } : undefined;
  } catch (error) {
    if (error instanceof Syntax) return undefined;
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Requirements

const URL_CHARS = /[!-~]+/y; // printable ASCII without space: 26 stops at space or tab, 21.3 at space

export function parseRequirement(text: string): Pep508Requirement | undefined {
  if (typeof text !== 'string' || !/^[\x20-\x7e\t]*$/.test(markerless(text))) return undefined;
  const c = new Cursor(text);
  try {
    c.ws();
    const name = c.match(IDENTIFIER) ?? fail();
    c.ws();
    const extras = parseExtras(c);
    c.ws();
    let specifier = '';
    let url: string | undefined;
    let marker: Marker | undefined;
    if (c.match(/@/y)) {
      c.ws();
      url = c.match(URL_CHARS) ?? fail();
      if (!validUrl(url)) return undefined;
      if (c.ws() && c.match(/;/y)) marker = parseMarkerAfterSemicolon(c);
    } else {
      specifier = parseSpecifierText(c);
      c.ws();
      if (c.match(/;/y)) marker = parseMarkerAfterSemicolon(c);
    }
    c.ws();
    if (!c.done) return undefined;
    return {
      name,
      key: canonicalizeName(name),
      extras: [...new Set(extras.map(canonicalizeName))],
      specifier,
      ...(url !== undefined ? { url } : {}),
      ...(marker ? { marker } : {}),
    };
  } catch (error) {
    if (error instanceof Syntax) return undefined;
    throw error;
  }
}

// Outside quoted marker strings only ASCII is allowed (Python's \b and \s are Unicode-aware).
function markerless(text: string): string {
  return text.replace(/'[^'\r\n]*'|"[^"\r\n]*"/g, '""');
}

function parseExtras(c: Cursor): string[] {
  if (!c.match(/\[/y)) return [];
  const extras: string[] = [];
  c.ws();
  const first = c.match(IDENTIFIER);
  if (first) {
    extras.push(first);
    for (;;) {
      c.ws();
      if (!c.match(/,/y)) break;
      c.ws();
      extras.push(c.match(IDENTIFIER) ?? fail());
    }
  }
  c.ws();
  if (!c.match(/\]/y)) fail();
  return extras;
}

// One specifier token: the operator, optional whitespace, then the version characters; the token
// must end where a separator begins (26 reads a token and then requires one). An arbitrary `===`
// token runs to the next whitespace in every generation, commas included (SpecifierSet splits it
// again); 21.3 also runs on past `;` and `)`, 26 stops there, so those are refused.
const SPEC_TOKEN = /(?:===[ \t]*[^ \t]*|(?:==|~=|!=|<=|>=|<|>)[ \t]*[^ \t,;()\[\]]*)/y;

function parseSpecifierText(c: Cursor): string {
  const parenthesized = !!c.match(/\(/y);
  if (parenthesized) c.ws();
  const parts: string[] = [];
  let token = c.match(SPEC_TOKEN);
  while (token !== undefined) {
    if (token.startsWith('===') && /[;)]/.test(token)) fail();
    for (const spec of parseSpecifierList(token) ?? fail()) {
      const text = spec.operator + spec.version; // packaging's str(Specifier)
      if (!parts.includes(text)) parts.push(text);
    }
    c.ws();
    if (!c.match(/,/y)) break;
    c.ws();
    token = c.match(SPEC_TOKEN) ?? fail(); // a trailing comma is an error in both generations
  }
  if (parenthesized) {
    if (parts.length === 0) fail(); // 21.3 refuses "name ()"
    c.ws();
    if (!c.match(/\)/y)) fail();
  }
  return parts.join(',');
}

function parseMarkerAfterSemicolon(c: Cursor): Marker {
  const start = c.position;
  const tree = parseMarkerList(c, 0);
  return { text: c.source.slice(start, c.position).trim(), tree };
}

// 21.3 validates URLs: a file URL must survive urlparse/urlunparse unchanged, any other needs a
// scheme and a host. Only the plain forms are accepted here (IPv6 brackets, params and empty
// query/fragment markers, where urllib rewrites or raises, are left to pip).
function validUrl(url: string): boolean {
  if (/[[\]]/.test(url)) return false;
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/s.exec(url);
  if (!m) return false;
  const [, scheme, rest] = m;
  if (scheme === 'file') return /^\/\/[^/?#;]*(?:\/(?!\/)[^?#;]*)?(?:\?[^#;]+)?(?:#[^;]+)?$/.test(rest!);
  if (scheme!.toLowerCase() === 'file') return false;
  return /^\/\/[^/?#]+/.test(rest!);
}

// ---------------------------------------------------------------------------------------------
// Evaluation

const VERSION_KEYS = new Set(['implementation_version', 'platform_release', 'python_full_version', 'python_version']);

type Outcome = boolean | 'unsure';

/**
 * The evaluation rules of one packaging release line. `extras`: where a comparison with `extra`
 * has its quoted name normalized when parsed: 22-25 the first comparison only (and both sides again
 * when compared), 26.0-26.2 every top-level one, 26.3 every one.
 */
interface Rules {
  readonly gen: Generation;
  readonly extras: 'none' | 'first' | 'top' | 'all';
}
const RULES: readonly Rules[] = [
  { gen: 'legacy', extras: 'none' },
  { gen: 'middle', extras: 'first' },
  { gen: 'modern', extras: 'top' },
  { gen: 'modern', extras: 'all' },
];

function normalizeExtras(list: MarkerList, mode: Rules['extras']): MarkerList {
  if (mode === 'none') return list;
  const atoms = list.atoms.map((atom, i) => {
    if (!('op' in atom)) return mode === 'all' ? normalizeExtras(atom, mode) : atom;
    if (mode === 'first' && i > 0) return atom;
    const { lhs, rhs } = atom;
    if (lhs.kind === 'variable' && lhs.name === 'extra')
      return { ...atom, rhs: { kind: 'value', value: canonicalizeName(varText(rhs)) } as MarkerVar };
    if (rhs.kind === 'variable' && rhs.name === 'extra')
      return { ...atom, lhs: { kind: 'value', value: canonicalizeName(varText(lhs)) } as MarkerVar };
    return atom;
  });
  return { atoms, joins: list.joins };
}
const varText = (v: MarkerVar): string => (v.kind === 'variable' ? v.name : v.value);

function envFor(gen: Generation, environment: MarkerEnvironment): MarkerEnvironment {
  if (gen !== 'modern') return environment; // 22-25 repair python_full_version only in their own default environment
  const env = { ...environment };
  if (typeof env.extra === 'string') env.extra = env.extra ? canonicalizeName(env.extra) : '';
  const full = env.python_full_version;
  if (typeof full === 'string' && full.endsWith('+')) env.python_full_version = `${full}local`;
  return env;
}

function evaluateList(gen: Generation, list: MarkerList, env: MarkerEnvironment): Outcome | undefined {
  // packaging evaluates every comparison (no short-circuit), so any error anywhere propagates.
  const values: boolean[] = [];
  let unsure = false;
  for (const atom of list.atoms) {
    const value = 'op' in atom ? evaluateItem(gen, atom, env) : evaluateList(gen, atom, env);
    if (value === undefined) return undefined;
    if (value === 'unsure') unsure = true;
    else values.push(value);
  }
  if (unsure) return 'unsure';
  // 'and' binds tighter: split into 'or' groups, any group all true.
  let groupAll = values[0]!;
  let anyGroup = false;
  list.joins.forEach((join, i) => {
    if (join === 'or') {
      anyGroup ||= groupAll;
      groupAll = values[i + 1]!;
    } else groupAll &&= values[i + 1]!;
  });
  return anyGroup || groupAll;
}

function evaluateItem(gen: Generation, item: MarkerItem, env: MarkerEnvironment): Outcome | undefined {
  let key: string;
  let lhs: string;
  let rhs: string;
  const has = (k: string): boolean => Object.prototype.hasOwnProperty.call(env, k) && typeof env[k] === 'string';
  if (item.lhs.kind === 'variable') {
    key = item.lhs.name;
    if (!has(key)) return undefined;
    lhs = env[key]!;
    rhs = varText(item.rhs);
  } else {
    lhs = item.lhs.value;
    key = varText(item.rhs);
    if (!has(key)) return undefined;
    rhs = env[key]!;
  }
  if (gen === 'middle' && key === 'extra') [lhs, rhs] = [canonicalizeName(lhs), canonicalizeName(rhs)];
  const op = item.op;
  // 21.3-25 try a version comparison whatever the variable; 26 only for the version variables.
  const triesVersion = gen !== 'modern' || VERSION_KEYS.has(key);
  if (triesVersion && op !== 'in' && op !== 'not in') {
    // Python's case-insensitive regexes fold İ ı ſ K into ASCII letters (21.3 everywhere, 26 in parts); JavaScript's do not.
    if (/[\u0130\u0131\u017f\u212a]/.test(lhs + rhs)) return 'unsure';
    const spec = parseSpecifier(op + rhs);
    // 26 builds the Specifier without parsing its version and asserts later; covered by parseSpecifier.
    if (spec) return markerVersionMatch(gen, spec, lhs) ?? 'unsure';
    if (isLegacySpecifierText(op + rhs)) return 'unsure'; // a specifier to one generation, a string to the other
  }
  switch (op) {
    case 'in':
      return rhs.includes(lhs);
    case 'not in':
      return !rhs.includes(lhs);
    case '==':
      return lhs === rhs;
    case '!=':
      return lhs !== rhs;
    case '~=':
    case '===':
      return 'unsure'; // UndefinedComparison in every generation: pip reports the error
  }
  // 21.3-25 compare strings (code point order); 26 answers False for < and >, equality for <= and >=.
  if (gen === 'modern') return op === '<=' || op === '>=' ? lhs === rhs : false;
  const c = comparePython(lhs, rhs);
  return op === '<' ? c < 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : c >= 0;
}

function comparePython(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d) return d;
  }
  return x.length - y.length;
}

/**
 * packaging's Marker.evaluate(environment): true/false where pip's packaging generations agree;
 * undefined when the marker names a variable the environment lacks, compares in a way packaging
 * rejects, or the generations disagree (the caller then asks pip).
 */
export function evaluateMarker(marker: Marker, environment: MarkerEnvironment): boolean | undefined {
  const answers = RULES.map((rules) => evaluateBy(rules, marker, environment));
  return answers.every((answer) => answer === answers[0]) ? answers[0] : undefined;
}

function evaluateBy(rules: Rules, marker: Marker, environment: MarkerEnvironment): boolean | undefined {
  const answer = evaluateList(rules.gen, normalizeExtras(marker.tree, rules.extras), envFor(rules.gen, environment));
  return typeof answer === 'boolean' ? answer : undefined;
}

/** What one packaging release ("21.3", "24.1", "26.2") answers for Marker.evaluate; undefined: it raises, or the variable is missing. */
export function evaluateMarkerWith(marker: Marker, environment: MarkerEnvironment, packagingVersion: string): boolean | undefined {
  const gen = generationOf(packagingVersion);
  const [major, minor] = packagingVersion.split('.').map(Number);
  const extras = gen === 'legacy' ? 'none' : gen === 'middle' ? 'first' : major === 26 && (minor ?? 0) < 3 ? 'top' : 'all';
  return evaluateBy({ gen, extras }, marker, environment);
}

/** The environment keys evaluating the marker reads (both generations; a quoted left side makes the right side a key). */
export function markerVariables(marker: Marker): Set<string> {
  const out = new Set<string>();
  const walk = (list: MarkerList): void => {
    for (const atom of list.atoms) {
      if ('op' in atom) out.add(atom.lhs.kind === 'variable' ? atom.lhs.name : varText(atom.rhs));
      else walk(atom);
    }
  };
  for (const rules of RULES) walk(normalizeExtras(marker.tree, rules.extras));
  return out;
}
