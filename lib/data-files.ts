/**
 * Reading a user's YAML and JSON files (config.yaml, env and iam files, --invoke events): every
 * failure is one line naming the file and the place, exit 2, and never quotes the text (it may
 * hold a secret).
 *
 * YAML aliases share one value among many places: `a: &a [x, x]`, `b: [*a, *a]` is two nodes
 * in memory but four values for whoever walks it. Nested ten times that is a billion values
 * from a few hundred bytes (an "alias bomb"); anything that walks the result (validation,
 * messages, JSON.stringify of a template) would hang or run out of memory. So the loaded value
 * is walked once here, as its readers will walk it, and refused beyond a bound no real
 * configuration comes near. js-yaml itself bounds nesting (100) and merge keys (10,000).
 */
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { ConfigError } from './errors.js';

/** Values (nodes) a file may expand to, aliases counted at every place they are used. */
export const MAX_EXPANDED_VALUES = 200_000;
/** Characters of text (keys and strings) it may expand to. */
export const MAX_EXPANDED_CHARS = 20_000_000;
/** Nesting through aliases (js-yaml bounds the nesting written out to 100). */
const MAX_DEPTH = 100;

const REASONS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'a folder, not a file',
  ENOTDIR: 'part of the path is a file, not a folder',
  ELOOP: 'a symlink loop',
  EIO: 'an input/output error',
};

/** The text of a user's file; any failure to read it is a ConfigError naming it. */
export function readUserFile(file: string, shown: string, expected = 'a readable file'): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    throw new ConfigError(`${shown}: cannot read it (${REASONS[code] ?? (code || 'unreadable')}); expected ${expected}`);
  }
}

export interface ParseOptions {
  /** The file as shown in messages. */
  shown: string;
  schema?: yaml.Schema;
  /** Refuse documents beyond MAX_EXPANDED_VALUES/CHARS (default). A JSON file has no aliases: its size is its own. */
  bounded?: boolean;
}

/** Parses YAML; syntax errors give `FILE:LINE:COL: YAML syntax error: REASON`. */
export function parseYaml(source: string, options: ParseOptions): unknown {
  let document: unknown;
  try {
    document = yaml.load(source, { filename: options.shown, ...(options.schema ? { schema: options.schema } : {}) });
  } catch (error) {
    const mark = (error as { mark?: { line: number; column: number } }).mark;
    const reason = (error as { reason?: string }).reason ?? (error as Error).message;
    const where = mark ? `${options.shown}:${mark.line + 1}:${mark.column + 1}` : options.shown;
    throw new ConfigError(`${where}: YAML syntax error: ${reason}`);
  }
  if (options.bounded !== false) checkExpandedSize(document, options.shown);
  return document;
}

/** Parses JSON; errors give `FILE:LINE:COL: JSON syntax error: REASON` and quote none of the text. */
export function parseJson(source: string, options: ParseOptions): unknown {
  let document: unknown;
  try {
    document = JSON.parse(source);
  } catch (error) {
    const place = jsonErrorPlace(source);
    throw new ConfigError(`${options.shown}${place ? `:${place.line}:${place.column}` : ''}: JSON syntax error: ${place?.reason ?? jsonReason(error)}`);
  }
  if (options.bounded !== false) checkExpandedSize(document, options.shown);
  return document;
}

/** V8's reason without the excerpt of the text it quotes (`Unexpected token 'x', "...secret..." is not valid JSON`). */
function jsonReason(error: unknown): string {
  return ((error as Error).message ?? 'invalid JSON').split(/,\s*"| in JSON| "/)[0]!;
}

/**
 * Refuses a document that expands (through aliases) beyond the bounds, or that refers to itself.
 * The walk stops at the bound, so it takes at most MAX_EXPANDED_VALUES steps whatever the input.
 */
function checkExpandedSize(document: unknown, shown: string): void {
  let values = 0;
  let chars = 0;
  const refuse = (what: string): never => {
    throw new ConfigError(`${shown}: expands to more than ${what} (YAML aliases such as *name repeat what &name marks, at every place they appear); refusing a file that large`);
  };
  const ancestors = new Set<object>();
  const walk = (value: unknown, depth: number): void => {
    if (++values > MAX_EXPANDED_VALUES) refuse(`${MAX_EXPANDED_VALUES.toLocaleString('en-US')} values`);
    if (typeof value === 'string') {
      chars += value.length;
      if (chars > MAX_EXPANDED_CHARS) refuse(`${MAX_EXPANDED_CHARS.toLocaleString('en-US')} characters`);
      return;
    }
    if (typeof value !== 'object' || value === null) return;
    if (ancestors.has(value)) throw new ConfigError(`${shown}: an alias (*name) refers to a value that contains it; a configuration cannot contain itself`);
    if (depth > MAX_DEPTH) throw new ConfigError(`${shown}: nested more than ${MAX_DEPTH} levels deep (through aliases)`);
    ancestors.add(value);
    if (Array.isArray(value)) {
      for (const item of value) walk(item, depth + 1);
    } else if (value instanceof Date || ArrayBuffer.isView(value)) {
      // timestamps and !!binary: leaves
    } else {
      for (const [key, item] of Object.entries(value)) {
        chars += key.length;
        walk(item, depth + 1);
      }
    }
    ancestors.delete(value);
  };
  walk(document, 0);
}

/**
 * Where JSON.parse failed, found by a strict scanner of the JSON grammar: line and column
 * (1-based) and what was expected there. Undefined when the scanner finds no error.
 */
export function jsonErrorPlace(source: string): { line: number; column: number; reason: string } | undefined {
  let i = 0;
  const fail = (reason: string): never => {
    throw Object.assign(new Error(reason), { offset: i });
  };
  const space = () => {
    while (i < source.length && ' \t\n\r'.includes(source[i]!)) i++;
  };
  const literal = (word: string) => {
    if (source.startsWith(word, i)) i += word.length;
    else fail('expected a value (an object, list, text, number, true, false or null)');
  };
  const string = () => {
    i++; // opening quote
    for (;;) {
      if (i >= source.length) fail('text not closed (a " is missing)');
      const char = source[i]!;
      if (char === '"') {
        i++;
        return;
      }
      if (char < ' ') fail('a control character (such as a line break) inside text; write it as \\n');
      if (char === '\\') {
        const next = source[i + 1];
        if (next === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(source.slice(i + 2, i + 6))) fail('a \\u escape needs four hex digits');
          i += 6;
          continue;
        }
        if (next === undefined || !'"\\/bfnrt'.includes(next)) fail('an unknown escape after \\');
        i += 2;
        continue;
      }
      i++;
    }
  };
  const number = () => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(source.slice(i, i + 400));
    if (!match) fail('expected a value (an object, list, text, number, true, false or null)');
    i += match![0].length;
  };
  // An explicit stack, so a deeply nested file cannot overflow ours.
  const value = () => {
    space();
    const char = source[i];
    if (char === undefined) fail(i === 0 ? 'the file is empty' : 'the file ends where a value was expected');
    if (char === '"') return string();
    if (char === '{' || char === '[') return container();
    if (char === 't') return literal('true');
    if (char === 'f') return literal('false');
    if (char === 'n') return literal('null');
    if (char === '-' || (char! >= '0' && char! <= '9')) return number();
    return fail('expected a value (an object, list, text, number, true, false or null)');
  };
  const container = () => {
    const closers: string[] = [];
    /** Opens `{` or `[`; false when it is empty (and so closed again at once). */
    const open = (): boolean => {
      closers.push(source[i++] === '{' ? '}' : ']');
      space();
      if (source[i] !== closers[closers.length - 1]) return true;
      i++;
      closers.pop();
      return false;
    };
    let expectMember = open();
    while (closers.length > 0) {
      if (expectMember) {
        expectMember = false;
        if (closers[closers.length - 1] === '}') {
          space();
          if (source[i] !== '"') fail('expected a property name in double quotes');
          string();
          space();
          if (source[i] !== ':') fail("expected ':' after the property name");
          i++;
        }
        space();
        if (source[i] === '{' || source[i] === '[') {
          expectMember = open();
          continue;
        }
        value();
      }
      space();
      const closer = closers[closers.length - 1]!;
      if (source[i] === closer) {
        i++;
        closers.pop();
      } else if (source[i] === ',') {
        i++;
        space();
        if (source[i] === closer) fail(`a trailing comma before '${closer}'`);
        expectMember = true;
      } else if (source[i] === undefined) {
        fail(`the file ends before the closing '${closer}'`);
      } else {
        fail(`expected ',' or '${closer}'`);
      }
    }
  };
  try {
    value();
    space();
    if (i < source.length) fail('more after the end of the value');
  } catch (error) {
    const offset = (error as { offset?: number }).offset;
    if (offset === undefined) throw error;
    const before = source.slice(0, offset);
    const line = before.split('\n').length;
    const column = offset - before.lastIndexOf('\n');
    return { line, column, reason: (error as Error).message };
  }
  return undefined;
}
