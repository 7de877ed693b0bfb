/**
 * The wheel files pip would consider for a project, from local sources only: `--find-links`
 * folders (every file directly in them) and `file://` PEP 503 simple indexes
 * (`<index>/<normalized-name>/index.html`), each file judged as pip's LinkEvaluator judges it
 * for `--only-binary=:all:` and the Lambda target's tags, ranked as pip's CandidateEvaluator
 * ranks them. Anything pip would read differently (an HTML page in a find-links folder, a
 * `<base>` tag, a link off the local disk, a hash other than sha256, an unparseable
 * Requires-Python or version) declines: pip then decides.
 * All file system access goes through a SourceReader, so tests can pass fakes.
 */
import { closeSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { realpathOrSelf } from '../../../lib/paths.js';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { readMember, readZipDirectory } from '../../../lib/zip-read.js';
import { normalizeProjectName } from '../../../lib/wheel-tags.js';
import { isValidVersion, parseSpecifierSet } from './pep440.js';

export interface SourceReader {
  /** Names in `folder`, or undefined when it is not a readable folder. */
  listFolder(folder: string): string[] | undefined;
  /** True for a folder (or a symlink to one). */
  isFolder(location: string): boolean;
  /** A text file's content, or undefined when it does not exist. */
  readText(file: string): string | undefined;
  /** The wheel's `*.dist-info/` folder names at its top level and the METADATA text of the one there is (undefined: unreadable). */
  wheelMetadata(file: string): Promise<{ distInfo: string[]; metadata?: string } | undefined>;
}

const MAX_METADATA_BYTES = 16 * 1024 * 1024;

/** The file system as pip sees it. */
export const diskReader: SourceReader = {
  listFolder(folder) {
    try {
      return readdirSync(folder);
    } catch {
      return undefined;
    }
  },
  isFolder(location) {
    try {
      return statSync(location).isDirectory();
    } catch {
      return false;
    }
  },
  readText(file) {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return undefined;
    }
  },
  async wheelMetadata(file) {
    let fd: number | undefined;
    try {
      fd = openSync(file, 'r');
      const members = readZipDirectory(fd);
      const distInfo = [...new Set(members.map((member) => member.name.split('/')[0]!).filter((top) => top.endsWith('.dist-info')))];
      const member = distInfo.length === 1 ? members.find((candidate) => candidate.name === `${distInfo[0]}/METADATA`) : undefined;
      // A METADATA beyond any real one (a zip bomb's declared size): pip's to read, not inflated here.
      if (member && (member.size > MAX_METADATA_BYTES || member.compressedSize > MAX_METADATA_BYTES)) return { distInfo };
      return { distInfo, ...(member ? { metadata: strictUtf8(await readMember(fd, member)) } : {}) };
    } catch {
      return undefined;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  },
};

/**
 * METADATA as pip reads it (bytes.decode("utf-8")): invalid UTF-8 fails pip, and a BOM stays a
 * character that ends email's headers at once (pip then finds no Name): both left to pip (throws).
 */
function strictUtf8(bytes: Buffer): string {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) throw new Error('a byte order mark');
  return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
}

/** Where pip looks, as local folders. */
export interface LocalSources {
  findLinks: string[];
  /** Folders of `file://` simple indexes. */
  indexes: string[];
}

/** One wheel file pip could choose. */
export interface Candidate {
  filename: string;
  file: string;
  /** The version as the file name spells it (`_` read as `-`, as pip reads it). */
  version: string;
  /** `python-abi-platform` tags the file name expands to. */
  tags: string[];
  /** The best (lowest) rank of its tags among the supported ones. */
  tagRank: number;
  /** The build tag as pip compares it ([number, rest]); undefined when there is none. */
  build?: [number, string];
  /** From the index link's `#sha256=` fragment. */
  sha256?: string;
  yanked: boolean;
}

export type Offer = { candidates: Candidate[] } | { decline: string };

/** pip's wheel file name pattern (pip/_internal/models/wheel.py). */
const WHEEL_NAME = /^(?<name>[^\s-]+?)-(?<version>[^\s-]*?)(?:-(?<build>\d[^-]*?))?-(?<python>[^\s-]+?)-(?<abi>[^\s-]+?)-(?<platform>[^\s-]+?)\.whl$/;

/** A link as pip would have it: the file, and what the index page says about it. */
interface Link {
  filename: string;
  file: string;
  sha256?: string;
  requiresPython?: string;
  yanked: boolean;
}

/**
 * Every wheel for `name` the sources offer that the target can use (`ranks`: the supported
 * tags and their order), with yanked and Requires-Python judged by the caller.
 */
export function candidatesFor(name: string, sources: LocalSources, ranks: Map<string, number>, pythonVersion: string, reader: SourceReader = diskReader): Offer {
  const key = normalizeProjectName(name);
  const fileLinks: Link[] = [];
  for (const folder of sources.findLinks) {
    const entries = reader.listFolder(folder);
    if (!entries) continue; // pip ignores a find-links location it cannot read
    if (entries.some((entry) => /\.html?$/i.test(entry))) return { decline: `a find-links folder holds an HTML page (${entries.find((entry) => /\.html?$/i.test(entry))}), which pip reads as a links page` };
    for (const entry of entries) if (entry.endsWith('.whl')) fileLinks.push({ filename: entry, file: path.join(folder, entry), yanked: false });
  }
  const pageLinks: Link[] = [];
  for (const index of sources.indexes) {
    const page = readIndexPage(path.join(index, key), reader);
    if ('decline' in page) return page;
    pageLinks.push(...page.links);
  }
  // pip ranks `find-links files by URL, descending, then index links in page order` with a stable
  // sort and takes the last of equals: listed in reverse here, so the first of equals is pip's.
  // pip reads a find-links folder at its real path (symlinks resolved), so its URLs sort by that.
  const real = new Map(sources.findLinks.map((folder) => [folder, realpathOrSelf(folder)]));
  const byUrl = fileLinks.map((link) => [pipFileUrl(path.join(real.get(path.dirname(link.file)) ?? path.dirname(link.file), link.filename)), link] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const links = [...pageLinks.reverse(), ...byUrl.map(([, link]) => link)];
  const candidates: Candidate[] = [];
  const seen = new Map<string, string>();
  for (const link of links) {
    const match = WHEEL_NAME.exec(link.filename);
    if (!match?.groups || normalizeProjectName(match.groups.name!) !== key) continue;
    const version = match.groups.version!.replace(/_/g, '-');
    const tags = expand(match.groups.python!, match.groups.abi!, match.groups.platform!);
    const rank = Math.min(...tags.map((tag) => ranks.get(tag) ?? Infinity));
    if (!Number.isFinite(rank)) continue; // no tag the target supports: pip skips it
    if (!isValidVersion(version)) return { decline: `${link.filename} has a version pip reads as a legacy version` };
    if (link.requiresPython !== undefined) {
      const allowed = parseSpecifierSet(link.requiresPython);
      if (!allowed) return { decline: `${link.filename}: its index gives an unreadable Requires-Python (${link.requiresPython})` };
      const admits = allowed.decide(`${pythonVersion}.0`, { prereleases: true });
      if (admits === undefined) return { decline: `${link.filename}: pip versions read its Requires-Python differently` };
      if (!admits) continue; // pip skips it for this Python
    }
    const known = seen.get(link.filename);
    if (known !== undefined && known !== link.file) return { decline: `${link.filename} is offered by two sources` };
    if (known !== undefined) continue;
    seen.set(link.filename, link.file);
    const build = match.groups.build ? /^(\d+)(.*)$/.exec(match.groups.build)! : undefined;
    candidates.push({
      filename: link.filename, file: link.file, version, tags, tagRank: rank, yanked: link.yanked, ...(link.sha256 ? { sha256: link.sha256 } : {}),
      ...(build ? { build: [Number(build[1]), build[2]!] as [number, string] } : {}),
    });
  }
  return { candidates };
}

/** pip's path_to_url of a local file (urllib's quote: unreserved characters and `/` kept, the rest %XX). */
function pipFileUrl(file: string): string {
  return [...Buffer.from(file, 'utf8')].map((byte) => (/[A-Za-z0-9_.~/-]/.test(String.fromCharCode(byte)) && byte < 0x80 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
}

function expand(pythons: string, abis: string, platforms: string): string[] {
  return pythons.split('.').flatMap((python) => abis.split('.').flatMap((abi) => platforms.split('.').map((platform) => `${python}-${abi}-${platform}`)));
}

/** A PEP 503 project page: its anchors as links to local files. A missing page offers nothing (as for pip). */
function readIndexPage(folder: string, reader: SourceReader): { links: Link[] } | { decline: string } {
  const pageFile = path.join(folder, 'index.html');
  const html = reader.readText(pageFile);
  if (html === undefined) return { links: [] };
  if (/<base[\s>]/i.test(html)) return { decline: `${pageFile} has a <base> tag` };
  // pip's HTMLParser skips comments and reads script/style text as text: anchors there are not links.
  if (/<(script|style|textarea|title|xmp|iframe|noembed|noframes|noscript|plaintext)[\s>/]|<!\[CDATA\[/i.test(html)) return { decline: `${pageFile} has markup whose text pip does not read as links` };
  const uncommented = html.replace(/<!--[\s\S]*?-->/g, '');
  if (uncommented.includes('<!--')) return { decline: `${pageFile} has an unterminated comment` };
  const pageUrl = pathToFileURL(`${folder}/`);
  const links: Link[] = [];
  for (const anchor of uncommented.matchAll(/<a\s([^>]*)>/gi)) {
    const attributes = parseAttributes(anchor[1]!);
    if (!attributes) return { decline: `${pageFile}: an anchor pip may read otherwise` };
    const href = attributes.get('href');
    if (href === undefined) continue;
    let url: URL;
    try {
      url = new URL(href, pageUrl);
    } catch {
      return { decline: `${pageFile}: an unreadable link` };
    }
    const fragment = url.hash.slice(1);
    url.hash = '';
    let filename: string;
    let file: string;
    try {
      filename = decodeURIComponent(url.pathname.split('/').pop() ?? '');
      if (!filename.endsWith('.whl')) continue;
      if (url.protocol !== 'file:') return { decline: `${pageFile} links to ${url.protocol.replace(':', '')} (not a local file)` };
      file = fileURLToPath(url); // a host, an encoded slash: not a local file as pip would read it
    } catch {
      return { decline: `${pageFile}: a link pip may read otherwise (a %-escape or a file URL that is not a local path)` };
    }
    // PEP 658/714: pip resolves from the index's `<wheel>.metadata` file, not from the wheel's own METADATA.
    if (attributes.has('data-dist-info-metadata') || attributes.has('data-core-metadata')) return { decline: `${pageFile}: ${filename} has a separate metadata file, which pip reads instead of the wheel's` };
    let sha256: string | undefined;
    if (fragment !== '') {
      const hash = /^(\w+)=([0-9a-fA-F]+)$/.exec(fragment);
      if (!hash || hash[1] !== 'sha256' || !/^[0-9a-f]{64}$/i.test(hash[2]!)) return { decline: `${pageFile}: ${filename} carries a hash other than sha256` };
      sha256 = hash[2]!.toLowerCase();
    }
    links.push({
      filename, file, yanked: attributes.has('data-yanked'), ...(sha256 ? { sha256 } : {}),
      ...(attributes.has('data-requires-python') ? { requiresPython: attributes.get('data-requires-python')! } : {}),
    });
  }
  return { links };
}

/** `name="value"` pairs of a tag, values HTML-unescaped; undefined for anything unusual (unknown entities, unquoted values). */
function parseAttributes(text: string): Map<string, string> | undefined {
  const attributes = new Map<string, string>();
  const pattern = /\s*([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/y;
  let at = 0;
  const rest = text.replace(/\/\s*$/, '');
  while (at < rest.length) {
    pattern.lastIndex = at;
    const match = pattern.exec(rest);
    if (!match || match[0].length === 0) return rest.slice(at).trim() === '' ? attributes : undefined;
    at = pattern.lastIndex;
    const value = unescapeHtml(match[2] ?? match[3] ?? match[4] ?? '');
    if (value === undefined) return undefined;
    attributes.set(match[1]!.toLowerCase(), value);
  }
  return attributes;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'" };

function unescapeHtml(text: string): string | undefined {
  let unknown = false;
  const result = text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+\d*);?/gi, (entity, body: string) => {
    if (/^#x/i.test(body)) return String.fromCodePoint(parseInt(body.slice(2), 16));
    if (body.startsWith('#')) return String.fromCodePoint(Number(body.slice(1)));
    const known = ENTITIES[body.toLowerCase()];
    if (known === undefined || !entity.endsWith(';')) unknown = true;
    return known ?? entity;
  });
  return unknown ? undefined : result;
}
