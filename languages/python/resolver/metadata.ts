// A wheel's `*.dist-info/METADATA`: core metadata in email-header form (Metadata-Version 1.0–2.4).
// Read the way Python's email.feedparser reads it (what pip and importlib.metadata use): headers up
// to the first blank line (or the first line that is neither a header nor a continuation), names
// case-insensitive, fields repeatable, continuation lines unfolded (RFC 5322: the line break goes,
// the leading whitespace stays). The body (the long description since 2.1) is ignored.

export interface CoreMetadata {
  name: string;
  version: string;
  requiresDist: string[]; // each one PEP 508 requirement, as written
  requiresPython?: string;
  providesExtra: string[];
}

// email.feedparser's headerRE: printable ASCII except ':' before the colon.
const HEADER = /^([\x21-\x39\x3b-\x7e]+):(.*)$/s;

/** The header fields, lower-cased names mapped to their values in order. */
export function parseHeaders(text: string): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  let current: { name: string; value: string } | undefined;
  const flush = (): void => {
    if (!current) return;
    const list = fields.get(current.name) ?? [];
    list.push(current.value.trim());
    fields.set(current.name, list);
    current = undefined;
  };
  for (const line of text.replace(/^\ufeff/, '').split(/\r\n|\r|\n/)) {
    if (line === '') break; // end of headers: the body follows
    if (/^[ \t]/.test(line)) {
      if (current) current.value += line; // a folded continuation
      continue;
    }
    const m = HEADER.exec(line);
    if (!m) break; // not a header: feedparser starts the body here
    flush();
    current = { name: m[1]!.toLowerCase(), value: m[2]! };
  }
  flush();
  return fields;
}

/** undefined when Name or Version is missing or empty. */
export function parseCoreMetadata(text: string): CoreMetadata | undefined {
  if (typeof text !== 'string') return undefined;
  const fields = parseHeaders(text);
  const first = (name: string): string | undefined => fields.get(name)?.[0];
  const name = first('name');
  const version = first('version');
  if (!name || !version) return undefined;
  const requiresPython = first('requires-python');
  return {
    name,
    version,
    requiresDist: (fields.get('requires-dist') ?? []).filter((v) => v !== ''),
    ...(requiresPython ? { requiresPython } : {}),
    providesExtra: (fields.get('provides-extra') ?? []).filter((v) => v !== ''),
  };
}
