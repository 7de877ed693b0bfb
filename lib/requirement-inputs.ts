/**
 * Everything local that a requirements file makes pip read: the file itself, the files it
 * includes with -r/-c (recursively), local wheels, archives and project folders named on its
 * lines (`./vendor/mylib-1.0-py3-none-any.whl`, `-e ./libs/common`, `name @ file:///...`), and
 * local `--find-links` folders. A cache keyed on requirements.txt's bytes alone ships the old
 * code when a vendored wheel is rebuilt under the same name: `digest` covers all of it by content.
 *
 * Paths resolve as pip resolves them: -r/-c relative to the including file; a requirement's
 * local path relative to the folder pip runs in (`cwd`, the repository); --find-links relative to
 * the including file when that exists, else to `cwd`.
 * `${NAME}` in a line is replaced by the environment variable, as pip does; the values used are
 * part of the digest (`mylib==${VERSION}` changes what pip installs), never shown.
 * Problems a user can fix are ConfigError (exit 2) naming the file and line: an include cycle,
 * a missing or unreadable include, an include that is not a regular file (`-r /proc/self/environ`
 * is never read), a local path that does not exist.
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from './errors.js';
import { displayPath } from './output.js';
import { isDirectory, realpathOrSelf } from './paths.js';
import { escapeControl, safeName } from './redact.js';

export interface RequirementLine {
  file: string;
  /** 1-based, of the line's first physical line. */
  line: number;
  /** The logical line: continuations joined, comment removed, trimmed. */
  text: string;
}

export interface RequirementInputs {
  /** The requirements file and every file it includes, absolute, in reading order. */
  requirementFiles: string[];
  /** Requirement lines (not options), in reading order; lines of files included with -c are constraints instead. */
  requirements: RequirementLine[];
  /** Lines of constraint files (-c/--constraint): they only restrict what the requirements bring in. */
  constraints: RequirementLine[];
  /** Local wheels, archives and project folders named by requirement lines, absolute. */
  localPaths: string[];
  /** Local --find-links folders given inside the files, absolute. */
  findLinks: string[];
  /** --index-url/--extra-index-url values given inside the files (where they came from, for messages). */
  indexUrls: RequirementLine[];
  /** VCS requirements (`git+https://...`): pip builds them from source. */
  vcs: RequirementLine[];
  /**
   * The option lines pip reads from the files (index URLs, --find-links with the folder made
   * absolute, --no-index, --trusted-host, --pre, ...), for a side pip run that must see the
   * same sources (in a file of its own, anywhere).
   */
  optionLines: RequirementLine[];
  /** sha256 (hex) over the bytes of every file above and the contents of every folder. */
  digest: string;
}

export interface ReadRequirementOptions {
  /** Where pip runs: relative requirement paths resolve against it. */
  cwd: string;
  /** Local --find-links from the command line or PIP_FIND_LINKS: hashed too. */
  extraFindLinks?: string[];
  /**
   * Hash what find-links folders hold (default). false: only where they are; for a consumer
   * that checks the files it used itself and lets new files in a folder not matter (as new
   * versions on an index do not).
   */
  findLinksContent?: boolean;
}

/** Folders and files inside a local project or find-links folder that never change what pip builds. */
const IGNORED_IN_FOLDERS = /^(\.git|\.hg|\.svn|__pycache__|\.pytest_cache|\.mypy_cache|\.ruff_cache|\.tox|\.nox|\.venv|node_modules|.*\.py[co]|\.DS_Store)$/;
/** Bounds, so a path pointing at `/` or a huge tree fails clearly instead of hashing forever. */
const MAX_FOLDER_FILES = 50_000;

const INCLUDE = /^(?:-r|-c|--requirement|--constraint)(?:\s*=\s*|\s+|(?=[^\s=]))(\S+)$/;
const FIND_LINKS = /^(?:-f|--find-links)(?:\s*=\s*|\s+|(?=[^\s=]))(\S+)$/;
const INDEX_URL = /^(?:-i|--index-url|--extra-index-url)(?:\s*=\s*|\s+|(?=[^\s=]))(\S+)$/;
const EDITABLE = /^(?:-e|--editable)(?:\s*=\s*|\s+)(\S+)/;
const VCS = /^(?:[A-Za-z0-9._-]+\s*@\s*)?(?:git|hg|svn|bzr)\+/;
const URL_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
/** pip's env-var syntax in requirement files (POSIX names, upper case, braces required). */
const ENV_VARIABLE = /\$\{([A-Z0-9_]+)\}/g;

/** Reads `requirementsFile` and everything local it names. The file itself must exist. */
export function readRequirementInputs(requirementsFile: string, options: ReadRequirementOptions): RequirementInputs {
  const inputs: Omit<RequirementInputs, 'digest'> = { requirementFiles: [], requirements: [], constraints: [], localPaths: [], findLinks: [], indexUrls: [], vcs: [], optionLines: [] };
  const variables = new Set<string>();
  const hash = createHash('sha256');
  const add = (label: string, value: string | Buffer) => hash.update(`${label}\0${value.length}\0`).update(value);
  const done = new Set<string>();
  // Labels name paths relative to the repository: CodeBuild checks out into a new folder every
  // build, and an absolute path in the key would miss the cache every time.
  const named = (location: string) => {
    const relative = path.relative(options.cwd, location);
    return relative.startsWith('..') || path.isAbsolute(relative) ? location : relative.split(path.sep).join('/');
  };

  // pip reads a file once per mode: -r lines are requirements, -c lines constraints (a -r inside a constraints file is requirements again).
  const visit = (file: string, chain: string[], from?: RequirementLine, constraint = false) => {
    const absolute = path.resolve(file);
    if (chain.includes(absolute)) {
      const cycle = [...chain.slice(chain.indexOf(absolute)), absolute].map((entry) => displayPath(entry)).join(' -> ');
      throw new ConfigError(`${where(from!)}: includes itself (${hideReferenced(cycle)}); remove the -r/-c line that closes the cycle`);
    }
    const mode = `${constraint ? 'c' : 'r'} ${absolute}`;
    if (done.has(mode)) return; // included twice (not a cycle): read once
    done.add(mode);
    const bytes = readRegularFile(absolute, from);
    if (!inputs.requirementFiles.includes(absolute)) inputs.requirementFiles.push(absolute);
    add(`${constraint ? 'constraints' : 'requirements'} ${named(absolute)}`, bytes);
    for (const written of logicalLines(absolute, bytes)) {
      const line = { ...written, text: written.text.replace(ENV_VARIABLE, (match, name: string) => (variables.add(name), process.env[name] ?? match)) };
      const include = INCLUDE.exec(line.text);
      if (include) {
        visit(path.resolve(path.dirname(absolute), include[1]!), [...chain, absolute], line, /^(-c|--constraint)/.test(line.text));
        continue;
      }
      const findLinks = FIND_LINKS.exec(line.text);
      if (findLinks) {
        const location = localLocation(findLinks[1]!, [path.dirname(absolute), options.cwd], where(line));
        if (location !== undefined) {
          requireExisting(location, line);
          inputs.findLinks.push(location);
          if (options.findLinksContent === false) add(`find-links ${named(location)}`, '');
          else addFolder(hash, `find-links ${named(location)}`, location, false, line);
        }
        inputs.optionLines.push({ ...line, text: `--find-links ${location ?? findLinks[1]!}` });
        continue;
      }
      if (INDEX_URL.test(line.text)) {
        inputs.indexUrls.push({ ...line, text: INDEX_URL.exec(line.text)![1]! });
        inputs.optionLines.push(line);
        continue;
      }
      if (line.text.startsWith('-') && !EDITABLE.test(line.text)) {
        inputs.optionLines.push(line); // other options (--no-index, --pre, --trusted-host, ...)
        continue;
      }
      const list = constraint ? inputs.constraints : inputs.requirements;
      if (VCS.test(line.text) || VCS.test(EDITABLE.exec(line.text)?.[1] ?? '')) {
        inputs.vcs.push(line);
        list.push(line);
        continue;
      }
      list.push(line);
      const local = requirementPath(line.text, options.cwd, where(line));
      if (local !== undefined) {
        requireExisting(local, line);
        inputs.localPaths.push(local);
        const info = statSync(local);
        if (info.isDirectory()) addFolder(hash, `path ${named(local)}`, local, true, line);
        else {
          readRegularFile(local, line, false);
          addFile(hash, `path ${named(local)}`, local);
        }
      }
    }
  };

  hideReferenced = (text) => {
    const values = [...variables].map((name) => process.env[name]).filter((value): value is string => value !== undefined && value.length >= 3);
    return escapeControl(values.sort((a, b) => b.length - a.length).reduce((masked, value) => masked.split(value).join('***'), text));
  };
  try {
    visit(requirementsFile, []);
  } finally {
    hideReferenced = (text) => text;
  }
  for (const name of [...variables].sort()) add(`env ${name}`, process.env[name] === undefined ? '\0unset' : process.env[name]!);
  for (const link of options.extraFindLinks ?? []) {
    const location = localLocation(link, [options.cwd], '--find-links/PIP_FIND_LINKS');
    if (location === undefined) continue;
    // A missing folder given on the command line is pip's to report; hash what there is.
    add(`extra find-links ${named(location)}`, '');
    if (isDirectory(location) && options.findLinksContent !== false) addFolder(hash, `extra find-links ${named(location)}`, location, false);
  }
  return { ...inputs, digest: hash.digest('hex') };
}

/**
 * Paths built from a line with `${NAME}` in it hold that variable's value: messages show them
 * with those values masked (set for the duration of one synchronous readRequirementInputs).
 */
let hideReferenced = (text: string): string => text;

/** `file` line `n`, for messages. */
function where(line: RequirementLine): string {
  return `${hideReferenced(displayPath(line.file))} line ${line.line}`;
}

/** The file's bytes, refusing what is not a regular file (pseudo-files, devices, FIFOs, folders). */
function readRegularFile(file: string, from?: RequirementLine): Buffer;
function readRegularFile(file: string, from: RequirementLine | undefined, read: false): undefined;
function readRegularFile(file: string, from?: RequirementLine, read = true): Buffer | undefined {
  const prefix = from ? `${where(from)}: ${safeName(from.text)}` : displayPath(file);
  let info: Stats;
  try {
    info = statSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(`${prefix}: ${code === 'ENOENT' || code === 'ENOTDIR' ? 'no such file' : `cannot be read (${code})`}`);
  }
  if (!info.isFile() || /^\/(proc|sys|dev)\//.test(realpathOrSelf(file))) {
    throw new ConfigError(`${prefix}: expected a regular file, found ${info.isDirectory() ? 'a folder' : 'a special file'}`);
  }
  if (!read) return undefined;
  try {
    return readFileSync(file);
  } catch (error) {
    throw new ConfigError(`${prefix}: cannot be read (${(error as NodeJS.ErrnoException).code})`);
  }
}

/** Hashes a file in chunks (vendored wheels can be large: never held whole). */
function addFile(hash: Hash, label: string, file: string, line?: RequirementLine): void {
  const at = line ? `${where(line)}: ` : '';
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    throw new ConfigError(`${at}${hideReferenced(displayPath(file))}: cannot be read (${(error as NodeJS.ErrnoException).code})`);
  }
  try {
    hash.update(`${label}\0${statSync(file).size}\0`);
    const chunk = Buffer.allocUnsafe(1 << 20);
    for (let read = readSync(fd, chunk); read > 0; read = readSync(fd, chunk)) hash.update(chunk.subarray(0, read));
  } catch (error) {
    // A kernel pseudo-file (/proc, /sys) opens but does not read: a path pointing far too high.
    throw new ConfigError(`${at}${hideReferenced(displayPath(file))}: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'read failed'}); point the requirement at the package's own folder`);
  } finally {
    closeSync(fd);
  }
}

function requireExisting(location: string, line: RequirementLine): void {
  try {
    statSync(location);
  } catch {
    throw new ConfigError(`${where(line)}: ${safeName(line.text)}: no such file or folder (${hideReferenced(displayPath(location))})`);
  }
}

/**
 * The logical lines of a requirements file as pip reads them: `\` continuations joined,
 * comments (`#` at the start or after whitespace) removed, blank lines dropped.
 */
export function logicalLines(file: string, bytes: Buffer): RequirementLine[] {
  const physical = bytes.toString('utf8').split(/\r?\n/);
  const lines: RequirementLine[] = [];
  let pending: { line: number; parts: string[] } | undefined;
  physical.forEach((raw, index) => {
    const withoutComment = raw.replace(/(^|\s)#.*$/, '');
    const continued = /\\$/.test(withoutComment);
    const part = continued ? withoutComment.slice(0, -1) : withoutComment;
    pending ??= { line: index + 1, parts: [] };
    pending.parts.push(part);
    if (continued) return;
    const text = pending.parts.join(' ').replace(/\s+/g, ' ').trim();
    if (text !== '') lines.push({ file, line: pending.line, text });
    pending = undefined;
  });
  if (pending) {
    const text = pending.parts.join(' ').replace(/\s+/g, ' ').trim();
    if (text !== '') lines.push({ file, line: pending.line, text });
  }
  return lines;
}

/** A --find-links value as a local folder, or undefined for a remote URL. */
/** The path a `file:` URL names; one with a host or a broken escape is the user's to fix (pip cannot read it either). */
function localFilePath(url: string, from: string): string {
  try {
    return fileURLToPath(url);
  } catch {
    throw new ConfigError(`${from}: ${safeName(url, 200)}: not a local file URL (expected file:///absolute/path, or a path)`);
  }
}

function localLocation(value: string, bases: string[], from: string): string | undefined {
  if (/^file:/i.test(value)) return localFilePath(value, from);
  if (URL_SCHEME.test(value)) return undefined;
  const candidates = bases.map((base) => path.resolve(base, value));
  return candidates.find((candidate) => isDirectory(candidate) || existsQuietly(candidate)) ?? candidates[candidates.length - 1];
}

function existsQuietly(location: string): boolean {
  try {
    statSync(location);
    return true;
  } catch {
    return false;
  }
}

/**
 * The local path a requirement line names, or undefined when it names a project on an index
 * (or a remote URL). pip treats a line as a path when it starts with `.` or `/`, contains a
 * path separator before any version specifier, ends in an archive suffix, or is a `file:` URL
 * (also after `name @`); `-e PATH` likewise.
 */
function requirementPath(text: string, cwd: string, from: string): string | undefined {
  let spec = text.split(/\s+--hash[=\s]|\s+--(?:global-option|config-settings)[=\s]/)[0]!.trim();
  const editable = EDITABLE.exec(spec);
  if (editable) spec = editable[1]!;
  const direct = /^[A-Za-z0-9._-]+(?:\[[^\]]*\])?\s*@\s*(\S+)/.exec(spec);
  if (direct) spec = direct[1]!;
  spec = spec.split(/\s*;\s*/)[0]!.trim(); // environment marker
  if (/^file:/i.test(spec)) return localFilePath(spec.split('#')[0]!, from);
  if (URL_SCHEME.test(spec)) return undefined;
  const looksLikePath = /^(\.{1,2}[/\\]|\/|~)/.test(spec) || /^[^<>=!~ ]*[/\\]/.test(spec) || /\.(whl|zip|tar\.gz|tgz|tar\.bz2|tar\.xz)$/i.test(spec);
  if (!looksLikePath) return undefined;
  return path.resolve(cwd, spec.split('#')[0]!);
}

/**
 * Adds a folder's contents to the hash: a project folder (`recursive`) by every file below it,
 * a find-links folder by the files directly in it (pip looks no deeper).
 */
function addFolder(hash: Hash, label: string, folder: string, recursive: boolean, line?: RequirementLine): void {
  let files = 0;
  const seen = new Set<string>();
  const walk = (dir: string, prefix: string) => {
    const real = realpathOrSelf(dir);
    if (seen.has(real)) return; // a symlink loop
    seen.add(real);
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch (error) {
      throw new ConfigError(`${line ? `${where(line)}: ` : ''}${hideReferenced(displayPath(dir))}: cannot be listed (${(error as NodeJS.ErrnoException).code ?? 'readdir failed'})`);
    }
    for (const name of names) {
      if (IGNORED_IN_FOLDERS.test(name)) continue;
      const absolute = path.join(dir, name);
      let info: Stats;
      try {
        info = statSync(absolute);
      } catch {
        continue; // a dangling symlink changes nothing pip reads
      }
      if (info.isDirectory()) {
        if (recursive) walk(absolute, `${prefix}${name}/`);
        continue;
      }
      if (!info.isFile()) continue;
      if (++files > MAX_FOLDER_FILES) {
        throw new ConfigError(`${line ? `${where(line)}: ` : ''}${hideReferenced(displayPath(folder))}: more than ${MAX_FOLDER_FILES.toLocaleString('en-US')} files; point it at the package's own folder`);
      }
      addFile(hash, `${label} ${prefix}${name} ${info.mode & 0o111 ? 'x' : '-'}`, absolute, line);
    }
  };
  walk(folder, '');
}
