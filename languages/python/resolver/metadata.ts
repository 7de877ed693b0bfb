// A wheel's `*.dist-info/METADATA`: core metadata in email-header form (Metadata-Version 1.0–2.4).
// Read the way Python's email.feedparser reads it (what pip and importlib.metadata use): headers up
// to the first blank line (or the first line that is neither a header nor a continuation), names
// case-insensitive, fields repeatable, a folded value kept as Python keeps it (its line breaks and
// the continuation's leading whitespace; a folded Requires-Dist is then no PEP 508 line to
// packaging 26, and parseRequirement refuses it too, so the resolver leaves it to pip). Line
// endings inside a value are "\n" whatever the file used. The body (the long description since
// 2.1) is ignored.

export interface CoreMetadata {
  name: string;
  version: string;
  requiresDist: string[]; // each one PEP 508 requirement, as written (surrounding whitespace trimmed)
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
  // No BOM stripping: Python reads "\ufeffName:" as the start of the body, so pip finds no Name.
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line === '') break; // end of headers: the body follows
    if (line.startsWith(':') || line.startsWith('From ')) continue; // feedparser skips these (a defect, or a Unix From line)
    if (/^[ \t]/.test(line)) {
      if (current) current.value += `\n${line}`; // a folded continuation (before any header: ignored, as feedparser does)
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
