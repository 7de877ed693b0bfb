/**
 * A repository holding several functions: the root `lambda-cd.yaml` names them, each a folder in
 * today's layout (its own config/, src/, requirements), plus shared folders a function includes
 * in its zip and layers built from their own requirements. This module only reads and validates
 * that file (the function folders' own config stays with lib/contract.ts); runners/workspace.ts
 * runs the commands per function.
 *
 *   Functions:
 *     Orders: functions/orders                  # the short form: just the folder
 *     Billing: {Folder: functions/billing, Include: [lib/common], Layers: [deps]}
 *   Layers:
 *     deps: layers/deps                         # a folder with a requirements.txt
 *
 * Include and Layers live here rather than in each function's config/config.yaml: they name
 * folders of the repository, which a function folder (a repository of its own to every runner)
 * cannot see, and config.yaml's `Layers` already means layer ARNs.
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, isMapping } from './contract.js';
import { parseYaml, readUserFile } from './data-files.js';
import { ConfigError, UsageError } from './errors.js';
import { displayPath } from './output.js';
import { isInside, resolveInside, toPosix } from './paths.js';
import { escapeControl } from './redact.js';
import { didYouMean } from './suggest.js';

export const WORKSPACE_FILE = 'lambda-cd.yaml';
/** Function and layer names: they become CloudFormation logical IDs, stack-name parts and dist/ folders. */
export const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9]*$/;
export const MAX_NAME = 40;
const TOP_KEYS = ['Functions', 'Layers'];
const FUNCTION_KEYS = ['Folder', 'Include', 'Layers'];
const LAYER_KEYS = ['Folder'];

export interface WorkspaceFunction {
  name: string;
  /** Absolute folder of the function repository. */
  folder: string;
  /** The folder as written, relative to the root (POSIX). */
  relative: string;
  /** Shared folders copied into the zip, each under its last path component (lib/common -> common/). */
  include: { relative: string; absolute: string; as: string }[];
  layers: string[];
}

export interface WorkspaceLayer {
  name: string;
  folder: string;
  relative: string;
}

export interface Workspace {
  root: string;
  file: string;
  functions: WorkspaceFunction[];
  layers: WorkspaceLayer[];
}

/** True when `root` holds a lambda-cd.yaml (a multi-function repository). */
export function isWorkspace(root: string): boolean {
  return existsSync(path.join(root, WORKSPACE_FILE));
}

/** Reads and validates `<root>/lambda-cd.yaml`; every problem is one ConfigError line naming the file and field. */
export function loadWorkspace(root: string): Workspace {
  const absoluteRoot = path.resolve(root);
  const file = path.join(absoluteRoot, WORKSPACE_FILE);
  const shown = displayPath(file);
  const fail = (field: string, expected: string, found: unknown): never => {
    throw new ConfigError(`${shown}: ${field}: expected ${expected}, found ${describe(found)}`);
  };
  const document = parseYaml(readUserFile(file, shown, 'a YAML file'), { shown });
  if (!isMapping(document)) return fail('(top level)', 'a mapping with Functions (and Layers)', document);
  checkKeys(shown, '', document, TOP_KEYS);

  const layers = readLayers(shown, absoluteRoot, document.Layers);
  const functionsValue = document.Functions;
  if (!isMapping(functionsValue) || Object.keys(functionsValue).length === 0) {
    return fail('Functions', 'a mapping of function names to folders (Orders: functions/orders)', functionsValue);
  }
  const seenFolders = new Map<string, string>();
  const functions = Object.entries(functionsValue).map(([name, value]) => {
    const field = `Functions.${escapeControl(name)}`;
    checkName(shown, field, name);
    const entry: Record<string, unknown> = typeof value === 'string' ? { Folder: value } : isMapping(value) ? value : fail(field, 'a folder or {Folder, Include, Layers}', value);
    checkKeys(shown, `${field}.`, entry, FUNCTION_KEYS);
    const relative = entry.Folder;
    const folder = repositoryFolder(shown, `${field}${typeof value === 'string' ? '' : '.Folder'}`, absoluteRoot, relative);
    if (folder === absoluteRoot) fail(`${field}`, 'a folder below the repository root, not the root itself', relative);
    const real = realpathSync(folder);
    const clash = seenFolders.get(real);
    if (clash) fail(field, `a folder no other function uses (Functions.${clash} has it too)`, relative);
    seenFolders.set(real, name);
    const config = path.join(folder, 'config', 'config.yaml');
    if (!existsSync(config) || !statSync(config).isFile()) {
      throw new ConfigError(`${shown}: ${field}: expected a function repository folder with config/config.yaml; ${escapeControl(toPosix(relative as string))}/config/config.yaml is missing`);
    }
    return {
      name, folder, relative: toPosix(relative as string),
      include: readInclude(shown, `${field}.Include`, absoluteRoot, folder, entry.Include),
      layers: readLayerNames(shown, `${field}.Layers`, entry.Layers, layers),
    };
  });
  for (const fn of functions) {
    for (const other of functions) {
      if (fn !== other && isInside(fn.folder, other.folder)) fail(`Functions.${other.name}`, `a folder outside Functions.${fn.name}'s folder (${fn.relative})`, other.relative);
    }
  }
  return { root: absoluteRoot, file, functions, layers };
}

function checkName(shown: string, field: string, name: string): void {
  if (!NAME_PATTERN.test(name) || name.length > MAX_NAME) {
    throw new ConfigError(`${shown}: ${field}: expected a name of letters and digits starting with a letter, at most ${MAX_NAME} characters (it names stacks, CloudFormation resources and dist/ folders)`);
  }
}

function checkKeys(shown: string, prefix: string, mapping: Record<string, unknown>, known: string[]): void {
  for (const key of Object.keys(mapping)) {
    if (!known.includes(key)) throw new ConfigError(`${shown}: ${prefix}${escapeControl(key)}: unknown key${didYouMean(key, known)} (expected one of ${known.join(', ')})`);
  }
}

/** A folder inside the repository, symlinks resolved and kept inside, that exists. */
function repositoryFolder(shown: string, field: string, root: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw new ConfigError(`${shown}: ${field}: expected a folder relative to the repository root, found ${describe(value)}`);
  const inside = resolveInside(root, value);
  if (!inside.ok) throw new ConfigError(`${shown}: ${field}: expected a folder inside the repository, found ${inside.reason}`);
  if (!existsSync(inside.absolute) || !statSync(inside.absolute).isDirectory()) {
    throw new ConfigError(`${shown}: ${field}: expected a folder inside the repository, found ${existsSync(inside.absolute) ? 'a file' : 'nothing'} at ${escapeControl(toPosix(value))}`);
  }
  return inside.absolute;
}

function readInclude(shown: string, field: string, root: string, functionFolder: string, value: unknown): WorkspaceFunction['include'] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new ConfigError(`${shown}: ${field}: expected a list of folders (Include: [lib/common]), found ${describe(value)}`);
  const seen = new Map<string, string>();
  return value.map((item, index) => {
    const absolute = repositoryFolder(shown, `${field}[${index}]`, root, item);
    if (absolute === root || isInside(absolute, functionFolder) || isInside(functionFolder, absolute)) {
      throw new ConfigError(`${shown}: ${field}[${index}]: expected a shared folder outside the function's own folder, found ${escapeControl(JSON.stringify(item))}`);
    }
    const as = path.basename(absolute);
    const clash = seen.get(as);
    if (clash !== undefined) throw new ConfigError(`${shown}: ${field}[${index}]: expected folders with different last names (both ${escapeControl(clash)} and ${escapeControl(String(item))} would land in ${escapeControl(as)}/ of the zip)`);
    seen.set(as, String(item));
    return { relative: toPosix(item as string), absolute, as };
  });
}

function readLayerNames(shown: string, field: string, value: unknown, layers: WorkspaceLayer[]): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) throw new ConfigError(`${shown}: ${field}: expected a list of layer names from Layers, found ${describe(value)}`);
  const names = layers.map((layer) => layer.name);
  for (const item of value as string[]) {
    if (!names.includes(item)) throw new ConfigError(`${shown}: ${field}: ${escapeControl(JSON.stringify(item))} is not defined under Layers${didYouMean(item, names)}${names.length ? ` (defined: ${names.join(', ')})` : ' (there is no Layers mapping)'}`);
  }
  if (new Set(value).size !== value.length) throw new ConfigError(`${shown}: ${field}: expected each layer once`);
  if (value.length > 5) throw new ConfigError(`${shown}: ${field}: expected at most 5 layers (Lambda's limit), found ${value.length}`);
  return value as string[];
}

function readLayers(shown: string, root: string, value: unknown): WorkspaceLayer[] {
  if (value === undefined) return [];
  if (!isMapping(value)) throw new ConfigError(`${shown}: Layers: expected a mapping of layer names to folders (deps: layers/deps), found ${describe(value)}`);
  return Object.entries(value).map(([name, item]) => {
    const field = `Layers.${escapeControl(name)}`;
    checkName(shown, field, name);
    const entry: Record<string, unknown> = typeof item === 'string' ? { Folder: item } : isMapping(item) ? item : {};
    if (!isMapping(item) && typeof item !== 'string') throw new ConfigError(`${shown}: ${field}: expected a folder or {Folder}, found ${describe(item)}`);
    checkKeys(shown, `${field}.`, entry, LAYER_KEYS);
    const folder = repositoryFolder(shown, typeof item === 'string' ? field : `${field}.Folder`, root, entry.Folder);
    const requirements = path.join(folder, 'requirements.txt');
    if (!existsSync(requirements) || !statSync(requirements).isFile()) {
      throw new ConfigError(`${shown}: ${field}: expected a folder with a requirements.txt (the layer's packages); ${escapeControl(toPosix(entry.Folder as string))}/requirements.txt is missing`);
    }
    return { name, folder, relative: toPosix(entry.Folder as string) };
  });
}

/** The functions a run works on: all, or the one --function (or LAMBDA_CD_FUNCTION) names. */
export function selectFunctions(workspace: Workspace, only: string | undefined, source = '--function'): WorkspaceFunction[] {
  if (only === undefined || only === '') return workspace.functions;
  const found = workspace.functions.find((fn) => fn.name === only);
  if (found) return [found];
  const names = workspace.functions.map((fn) => fn.name);
  throw new UsageError(`${source}: ${escapeControl(JSON.stringify(only))} is not a function of ${displayPath(workspace.file)}${didYouMean(only, names)} (known: ${names.join(', ')})`);
}
