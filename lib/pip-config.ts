/**
 * pip's own settings, which decide what an install holds as much as the requirements do:
 * configuration files and PIP_* variables. Caches of installed packages (package's, the test
 * requirements') put them in their keys; only the key's hash is ever shown.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

/**
 * The configuration files pip reads, lowest precedence first (a later file's value wins): the
 * global ones (XDG_CONFIG_DIRS, /etc), the user's (skipped when PIP_CONFIG_FILE names a file that
 * exists), the virtualenv's, then PIP_CONFIG_FILE's. None when PIP_CONFIG_FILE is /dev/null (pip
 * then loads no file at all).
 */
export function pipConfigFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  const named = env.PIP_CONFIG_FILE;
  if (named === '/dev/null') return [];
  const xdgDirs = (env.XDG_CONFIG_DIRS || '/etc/xdg').split(':').filter((dir) => dir !== '');
  const configHome = env.XDG_CONFIG_HOME || path.join(homedir(), '.config');
  const user = named && existsSync(named) ? [] : [path.join(homedir(), '.pip', 'pip.conf'), path.join(configHome, 'pip', 'pip.conf')];
  return [...xdgDirs.map((dir) => path.join(dir, 'pip', 'pip.conf')), '/etc/pip.conf', ...user,
    ...(env.VIRTUAL_ENV ? [path.join(env.VIRTUAL_ENV, 'pip.conf')] : []), ...(named ? [named] : [])];
}

/** One effective pip setting: its long option name (`find-links`) and where the value came from. */
export interface PipSetting {
  name: string;
  value: string;
  /** `PIP_FIND_LINKS`, or `/etc/pip.conf [install]`, for messages. */
  from: string;
}

/**
 * pip's effective settings for `pip install`, as pip computes them: every [global] value of the
 * files in precedence order, then every [install] value, then PIP_* variables; for each option
 * the last one wins. undefined when a file is not one pip would read cleanly (then pip, not we,
 * says what is wrong).
 */
export function pipInstallSettings(env: NodeJS.ProcessEnv = process.env): Map<string, PipSetting> | undefined {
  const sections: Record<'global' | 'install', Map<string, PipSetting>> = { global: new Map(), install: new Map() };
  for (const file of pipConfigFiles(env)) {
    let text: string;
    try {
      if (!statSync(file).isFile()) continue;
      text = readFileSync(file, 'utf8');
    } catch {
      if (existsSync(file)) return undefined;
      continue;
    }
    const parsed = parseIni(text);
    if (!parsed) return undefined;
    for (const [section, values] of parsed) {
      if (section !== 'global' && section !== 'install') continue;
      for (const [name, value] of values) sections[section].set(name, { name, value, from: `${file} [${section}]` });
    }
  }
  const effective = new Map([...sections.global, ...sections.install]);
  for (const [variable, value] of Object.entries(env)) {
    if (!variable.startsWith('PIP_') || value === undefined) continue;
    const name = optionName(variable.slice(4));
    effective.set(name, { name, value, from: variable });
  }
  return effective;
}

/** pip's spelling of a key: lower case, `_` as `-`, no leading `--`. */
function optionName(key: string): string {
  return key.toLowerCase().replace(/_/g, '-').replace(/^--/, '');
}

/** configparser's reading (sections, `key = value` or `key: value`, indented continuation lines); undefined where it would fail. */
function parseIni(text: string): Map<string, Map<string, string>> | undefined {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  let last: string | undefined;
  for (const raw of text.replace(/^\ufeff/, '').split(/\r?\n/)) {
    if (/^\s*([#;].*)?$/.test(raw)) continue;
    if (/^\s/.test(raw) && current && last !== undefined) {
      current.set(last, `${current.get(last)}\n${raw.trim()}`);
      continue;
    }
    const section = /^\[([^\]]+)\]\s*$/.exec(raw);
    if (section) {
      if (sections.has(section[1]!)) return undefined; // configparser: duplicate section
      current = new Map();
      sections.set(section[1]!, current);
      last = undefined;
      continue;
    }
    const pair = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(raw);
    if (!pair || !current) return undefined;
    last = optionName(pair[1]!.trim());
    if (current.has(last)) return undefined; // configparser: duplicate option
    current.set(last, pair[2]!.trim());
  }
  return sections;
}

/** pip's strtobool; undefined for anything else (pip refuses it). */
export function pipBoolean(value: string): boolean | undefined {
  const lower = value.trim().toLowerCase();
  if (['y', 'yes', 't', 'true', 'on', '1'].includes(lower)) return true;
  if (['n', 'no', 'f', 'false', 'off', '0'].includes(lower)) return false;
  return undefined;
}

export interface PipSettingsOptions {
  /**
   * The repository: where a PIP_* value names a path inside it, the path is keyed relative to
   * it (CodeBuild checks out into a new folder every build; an absolute path would miss the
   * cache every time).
   */
  root?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * `[label, value]` pairs for a cache key: every PIP_* variable and the bytes of every pip
 * configuration file that exists (pseudo-files such as /dev/null are skipped).
 */
export function pipSettingsForKey(options: PipSettingsOptions = {}): [string, string | Buffer][] {
  const env = options.env ?? process.env;
  const relative = (value: string) => (options.root ? value.split(options.root).join('<repository>') : value);
  const entries: [string, string | Buffer][] = Object.entries(env)
    .filter(([name, value]) => name.startsWith('PIP_') && value !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => [`env ${name}`, relative(value!)]);
  const addFile = (label: string, file: string) => {
    if (file.startsWith('/dev/') || !existsSync(file)) return;
    try {
      if (statSync(file).isFile()) entries.push([label, readFileSync(file)]);
    } catch {
      // unreadable: pip cannot read it either
    }
  };
  for (const file of pipConfigFiles(env)) addFile(`config ${file}`, file);
  // A constraint file the configuration names (pip.conf's `constraint`, PIP_CONSTRAINT) decides versions as the requirements do.
  for (const file of (pipInstallSettings(env)?.get('constraint')?.value ?? '').split(/\s+/).filter((word) => word !== '')) {
    addFile(`constraint ${relative(file)}`, path.resolve(options.root ?? process.cwd(), file));
  }
  return entries;
}

/** Local folders of PIP_FIND_LINKS (pip splits it at whitespace); URLs are left out. */
export function pipEnvFindLinks(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.PIP_FIND_LINKS ?? '').split(/\s+/).filter((link) => link !== '' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(link));
}
