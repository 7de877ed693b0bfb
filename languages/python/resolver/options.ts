/**
 * pip's effective options for the package resolve, read without pip: where it looks (local
 * find-links folders, `file://` indexes), the constraint files, and whether anything else is set
 * that could change its choice. Sources are pip's configuration files and PIP_* variables
 * (lib/pip-config.ts), lambda-cd's --index-url/--find-links, and the option lines of the
 * requirements files, applied in pip's order. Any index or find-links on the network (pip's
 * default https://pypi.org/simple included), and any option not modelled here, declines.
 */
import { existsSync } from 'node:fs';
import { isDirectory, realpathOrSelf } from '../../../lib/paths.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pipBoolean, pipConfigFiles, pipInstallSettings, type PipSetting } from '../../../lib/pip-config.js';
import type { PipOptions } from '../../../lib/python.js';
import type { RequirementInputs } from '../../../lib/requirement-inputs.js';
import type { LocalSources } from './sources.js';

/** Options that never change which wheels pip picks (network, output, caching, build settings for sdists it never builds here). */
const HARMLESS = new Set([
  'cert', 'client-cert', 'timeout', 'default-timeout', 'retries', 'resume-retries', 'disable-pip-version-check', 'progress-bar', 'quiet', 'verbose',
  'no-color', 'cache-dir', 'no-cache-dir', 'root-user-action', 'trusted-host', 'proxy', 'no-warn-script-location', 'no-warn-conflicts', 'no-input',
  'exists-action', 'log', 'log-file', 'local-log', 'keyring-provider', 'config-file', 'no-python-version-warning', 'break-system-packages', 'compile',
  'no-compile', 'no-build-isolation', 'use-pep517', 'no-use-pep517', 'check-build-dependencies', 'src', 'no-clean',
]);

/** Options modelled below. */
const MODELLED = new Set(['find-links', 'index-url', 'extra-index-url', 'no-index', 'constraint', 'only-binary']);

export interface OptionsRequest {
  inputs: RequirementInputs;
  pip: PipOptions;
  /** Where pip runs (relative config paths resolve against it). */
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** The interpreter: a pip.conf in its prefix would be read too. */
  python?: string;
}

export type Effective = { sources: LocalSources; constraintFiles: string[] } | { decline: string };

const OPTION_LINE = /^(-[a-zA-Z]|--[a-z][-a-z0-9]*)(?:\s*=\s*|\s+|(?=[^\s=]))?(\S*)$/;

export function effectiveOptions(request: OptionsRequest): Effective {
  const env = request.env ?? process.env;
  if (env.PIP_CONFIG_FILE !== '/dev/null') {
    const site = sitePipConf(request.python, env);
    if (site) return { decline: `a pip.conf in the interpreter's prefix (${site})` };
  }
  const settings = pipInstallSettings(env);
  if (!settings) return { decline: 'a pip configuration file pip may read otherwise' };
  for (const setting of settings.values()) {
    if (HARMLESS.has(setting.name) || MODELLED.has(setting.name)) continue;
    return { decline: `pip option ${setting.name} (from ${setting.from})` };
  }
  const value = (name: string): PipSetting | undefined => settings.get(name);
  const onlyBinary = value('only-binary');
  if (onlyBinary && onlyBinary.value.trim() !== ':all:') return { decline: `pip option only-binary (from ${onlyBinary.from})` };
  const noIndexSetting = value('no-index');
  let noIndex = false;
  if (noIndexSetting) {
    const parsed = pipBoolean(noIndexSetting.value);
    if (parsed === undefined) return { decline: `no-index is not a boolean (from ${noIndexSetting.from})` };
    noIndex = parsed;
  }
  let indexUrls = noIndex ? [] : [request.pip.indexUrl ?? value('index-url')?.value.trim() ?? 'https://pypi.org/simple', ...words(value('extra-index-url')?.value)];
  const findLinks: string[] = [];
  for (const link of [...words(value('find-links')?.value), ...request.pip.findLinks]) {
    const location = findLinksLocation(link, request.cwd);
    if ('decline' in location) return location;
    if (location.folder) findLinks.push(location.folder);
  }
  for (const line of request.inputs.optionLines) {
    const option = OPTION_LINE.exec(line.text);
    const [flag, argument] = option ? [option[1]!, option[2]!] : ['', ''];
    if (flag === '--no-index') {
      noIndex = true;
      indexUrls = [];
    } else if (flag === '-i' || flag === '--index-url') {
      if (!noIndex) indexUrls = [argument];
    } else if (flag === '--extra-index-url') {
      if (!noIndex) indexUrls.push(argument);
    } else if (flag === '-f' || flag === '--find-links') {
      // requirement-inputs.ts made local ones absolute (relative to the file, as pip does) and checked they exist
      const location = findLinksLocation(argument, request.cwd);
      if ('decline' in location) return location;
      if (location.folder) findLinks.push(location.folder);
    } else if (flag === '--trusted-host') {
      continue;
    } else {
      return { decline: `${path.basename(line.file)} line ${line.line} sets a pip option (${flag || line.text.split(/\s/)[0]})` };
    }
  }
  const indexes: string[] = [];
  for (const url of indexUrls) {
    if (!/^file:/i.test(url)) return { decline: /^https?:/i.test(url) ? 'an index on the network (an HTTP source is pip\'s to read)' : 'an index that is not a file:// URL' };
    const folder = localFileUrl(url);
    if (folder === undefined) return { decline: 'an index file:// URL that is not a local path (a host, an encoded slash)' };
    indexes.push(folder.replace(/\/+$/, ''));
  }
  const constraintFiles = words(value('constraint')?.value).map((file) => path.resolve(request.cwd, file));
  return { sources: { findLinks: [...new Set(findLinks)], indexes: [...new Set(indexes)] }, constraintFiles };
}

function words(text: string | undefined): string[] {
  return (text ?? '').split(/\s+/).filter((word) => word !== '');
}

/** A find-links value as pip's build_source reads it: an existing folder, nothing (a path that does not exist: pip ignores it), or a decline. */
function findLinksLocation(link: string, cwd: string): { folder?: string } | { decline: string } {
  const expanded = link.startsWith('~') ? path.join(process.env.HOME ?? '~', link.slice(1)) : link;
  let location: string;
  if (/^file:/i.test(expanded)) {
    const local = localFileUrl(expanded);
    if (local === undefined) return { decline: 'a find-links file:// URL that is not a local path (a host, an encoded slash)' };
    location = local;
  }
  else if (/^[a-z][a-z0-9+.-]*:/i.test(expanded)) return { decline: 'find-links on the network (an HTTP source is pip\'s to read)' };
  else location = path.resolve(cwd, expanded);
  if (!existsSync(location)) return {};
  if (!isDirectory(location)) return { decline: `a find-links location that is a file, not a folder (${path.basename(location)})` };
  return { folder: location };
}

/** The path of a file:// URL, or undefined where Node cannot read it as one (a host, an encoded slash, a broken escape). */
function localFileUrl(url: string): string | undefined {
  try {
    return fileURLToPath(url);
  } catch {
    return undefined;
  }
}

/**
 * pip reads `<sys.prefix>/pip.conf`; without asking Python, the candidates are VIRTUAL_ENV and the
 * prefix of the interpreter file (`--python`, or the first on PATH), as named and as resolved.
 */
function sitePipConf(python: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  const named = !python ? undefined : python.includes('/') ? path.resolve(python)
    : (env.PATH ?? process.env.PATH ?? '').split(path.delimiter).filter((dir) => dir !== '').map((dir) => path.join(dir, python)).find((file) => existsSync(file));
  const interpreters = named ? [named, realpathOrSelf(named)] : [];
  const prefixes = [env.VIRTUAL_ENV, ...interpreters.map((file) => path.dirname(path.dirname(file)))].filter((p): p is string => !!p);
  const known = new Set(pipConfigFiles(env));
  return prefixes.map((prefix) => path.join(prefix, 'pip.conf')).find((file) => !known.has(file) && existsSync(file));
}

