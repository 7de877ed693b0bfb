/**
 * pip's own settings, which decide what an install holds as much as the requirements do:
 * configuration files and PIP_* variables. Caches of installed packages (package's, the test
 * requirements') put them in their keys; only the key's hash is ever shown.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

/** The configuration files pip reads, in pip's order (PIP_CONFIG_FILE alone when it is set). */
export function pipConfigFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.PIP_CONFIG_FILE) return [env.PIP_CONFIG_FILE];
  const xdgDirs = (env.XDG_CONFIG_DIRS ?? '/etc/xdg').split(':');
  const configHome = env.XDG_CONFIG_HOME ?? path.join(homedir(), '.config');
  return ['/etc/pip.conf', ...xdgDirs.map((dir) => path.join(dir, 'pip', 'pip.conf')), path.join(configHome, 'pip', 'pip.conf'), path.join(homedir(), '.pip', 'pip.conf'),
    ...(env.VIRTUAL_ENV ? [path.join(env.VIRTUAL_ENV, 'pip.conf')] : [])];
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
  for (const file of pipConfigFiles(env)) {
    if (file.startsWith('/dev/') || !existsSync(file)) continue;
    try {
      if (statSync(file).isFile()) entries.push([`config ${file}`, readFileSync(file)]);
    } catch {
      // unreadable: pip cannot read it either
    }
  }
  return entries;
}

/** Local folders of PIP_FIND_LINKS (pip splits it at whitespace); URLs are left out. */
export function pipEnvFindLinks(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.PIP_FIND_LINKS ?? '').split(/\s+/).filter((link) => link !== '' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(link));
}
