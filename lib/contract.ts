/**
 * The repository contract: reads and validates `config/config.yaml` and the stage folders
 * of a function repository, and returns one typed object. Every runner starts here, so a
 * repository is judged the same way by all of them.
 *
 * Layout (kept from the 2018 system, see README):
 *   config/config.yaml   Name, Handler, ...; where the tests are
 *   config/<Stage>/      env + iam of the function in that stage (PROD always, always last)
 *   src/                 function code
 *   requirements.txt     the function's packages
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { ConfigError } from './errors.js';
import { displayPath } from './output.js';
import { resolveInside, toPosix } from './paths.js';
import { ARCHITECTURES, DEFAULT_RUNTIME, RUNTIMES, type Architecture } from './runtimes.js';
import { didYouMean } from './suggest.js';

export const PROD_STAGE = 'PROD';
export const TEST_RUNNERS = ['script', 'pytest', 'unittest'] as const;
export type TestRunner = (typeof TEST_RUNNERS)[number];
export const TRACING_MODES = ['Active', 'PassThrough'] as const;
/** The values CloudWatch Logs accepts for RetentionInDays. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
/** Lambda function names are at most 64 characters; ours are Name + Stage. */
export const MAX_FUNCTION_NAME = 64;

export interface TestSuite {
  /** Repository-relative, POSIX separators. */
  folder: string;
  /** Absolute path of the folder. */
  absoluteFolder: string;
  /** Files named in the config (relative to the folder); undefined means every *.py file. */
  files?: string[];
  runner: TestRunner;
}

export interface VpcConfig {
  subnetIds: string[];
  securityGroupIds: string[];
}

/** Settings that may differ per stage (StageOverrides.<Stage> refines the function-wide values). */
export interface StageSettings {
  memorySize: number;
  timeout: number;
  description?: string;
  layers: string[];
  vpc?: VpcConfig;
  tracing?: (typeof TRACING_MODES)[number];
  reservedConcurrency?: number;
  logRetentionInDays?: number;
  tags: Record<string, string>;
}

export interface ConfigWarning {
  /** One line, starting with the file (and line) it is about. */
  message: string;
}

export interface RepositoryConfig {
  /** Absolute path of the repository. */
  root: string;
  configFile: string;
  name: string;
  handler: string;
  /** Repository-relative path of the handler's module file, e.g. `src/app.py`. */
  handlerFile: string;
  runtime: string;
  architecture: Architecture;
  /** Function-wide settings; use `stageSettings(stage)` for a stage's effective values. */
  settings: StageSettings;
  stageOverrides: Record<string, Partial<StageSettings>>;
  unittests?: TestSuite;
  integrationtests?: TestSuite;
  /** Stage names in pipeline order; PROD is always last. */
  stages: string[];
  warnings: ConfigWarning[];
  /** Choices lambda-cd made where the config is silent and the user should know (not warnings: --strict ignores them). */
  notes: ConfigWarning[];
}

export interface LoadOptions {
  /** Warnings (unknown keys, legacy keys, deprecated runtime) become errors. */
  strict?: boolean;
}

/** Keys config.yaml may hold, with what each expects (for messages). */
const KNOWN_KEYS = [
  'Name', 'Handler', 'Runtime', 'Architecture', 'MemorySize', 'Timeout', 'Unittests', 'Integrationtests',
  'Stages', 'Description', 'Layers', 'Vpc', 'Tracing', 'ReservedConcurrency', 'LogRetentionInDays', 'Tags',
  'StageOverrides',
];
/** Keys the 2018 system wrote, and the key each meant. */
const LEGACY_KEYS: Record<string, string> = { Memory: 'MemorySize', TestFolder: 'Integrationtests' };
const SUITE_KEYS = ['Folder', 'Files', 'Runner'];
const OVERRIDE_KEYS = ['MemorySize', 'Timeout', 'Description', 'Layers', 'Vpc', 'Tracing', 'ReservedConcurrency', 'LogRetentionInDays', 'Tags'];
const VPC_KEYS = ['SubnetIds', 'SecurityGroupIds'];

const NAME_PATTERN = /^[A-Za-z0-9_-]+$/;
const STAGE_PATTERN = /^[A-Za-z0-9]+$/;
const LAYER_ARN = /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:layer:[A-Za-z0-9_-]+:\d+$/;

export type Mapping = Record<string, unknown>;

/** Reads and validates the repository at `root`. Throws ConfigError with a one-line message. */
export function loadRepository(root: string, options: LoadOptions = {}): RepositoryConfig {
  const absoluteRoot = path.resolve(root);
  if (!existsSync(absoluteRoot) || !statSync(absoluteRoot).isDirectory()) {
    throw new ConfigError(`${displayPath(absoluteRoot)}: expected a function repository folder, found ${existsSync(absoluteRoot) ? 'a file' : 'nothing'} (--path)`);
  }
  const configFile = path.join(absoluteRoot, 'config', 'config.yaml');
  const reader = new ConfigReader(absoluteRoot, configFile);
  const config = reader.read();
  if (options.strict && config.warnings.length > 0) {
    const [first] = config.warnings;
    const more = config.warnings.length > 1 ? ` (and ${config.warnings.length - 1} more warnings)` : '';
    throw new ConfigError(`${first!.message}${more} (--strict makes warnings errors)`);
  }
  return config;
}

/** The effective settings of one stage: function-wide values refined by StageOverrides. */
export function stageSettings(config: RepositoryConfig, stage: string): StageSettings {
  const override = config.stageOverrides[stage] ?? {};
  return {
    ...config.settings,
    ...override,
    tags: { ...config.settings.tags, ...override.tags },
    layers: override.layers ?? config.settings.layers,
  };
}

/** The folder of a stage's env and iam files. */
export function stageFolder(config: RepositoryConfig, stage: string): string {
  return path.join(config.root, 'config', stage);
}

class ConfigReader {
  private readonly source: string;
  private readonly lines: string[];
  private readonly warnings: ConfigWarning[] = [];
  private readonly notes: ConfigWarning[] = [];
  private readonly shown: string;

  constructor(private readonly root: string, private readonly file: string) {
    this.shown = displayPath(file);
    if (!existsSync(file)) {
      throw new ConfigError(`${this.shown}: file not found; expected the repository's config (Name, Handler, ...) — is --path the function repository?`);
    }
    this.source = readFileSync(file, 'utf8');
    this.lines = this.source.split(/\r?\n/);
  }

  read(): RepositoryConfig {
    const document = this.parse();
    const keys = this.renameLegacyKeys(document);
    this.warnUnknown(keys, KNOWN_KEYS, []);

    const name = this.requiredString(keys, 'Name');
    if (!NAME_PATTERN.test(name)) this.fail(['Name'], `expected letters, digits, '-' or '_', found ${JSON.stringify(name)}`);
    const handler = this.requiredString(keys, 'Handler');
    const handlerFile = this.handlerFile(handler);
    const runtime = this.runtime(keys.Runtime);
    const architecture = this.choice(keys, ['Architecture'], keys.Architecture, ARCHITECTURES, 'x86_64');
    const settings = this.settings(keys, []);
    const stages = this.stages(keys.Stages, name);
    const stageOverrides = this.stageOverrides(keys.StageOverrides, stages);

    return {
      root: this.root,
      configFile: this.file,
      name,
      handler,
      handlerFile,
      runtime,
      architecture,
      settings: settings as StageSettings,
      stageOverrides,
      unittests: this.suite(keys.Unittests, 'Unittests', ['tests/unittests']),
      integrationtests: this.suite(keys.Integrationtests, 'Integrationtests', ['tests/integrationtests', 'test']),
      stages,
      warnings: this.warnings,
      notes: this.notes,
    };
  }

  private parse(): Mapping {
    let document: unknown;
    try {
      document = yaml.load(this.source, { filename: this.file });
    } catch (error) {
      const mark = (error as { mark?: { line: number; column: number } }).mark;
      const reason = (error as { reason?: string }).reason ?? (error as Error).message;
      const where = mark ? `${this.shown}:${mark.line + 1}:${mark.column + 1}` : this.shown;
      throw new ConfigError(`${where}: YAML syntax error: ${reason}`);
    }
    if (document === undefined || document === null) {
      throw new ConfigError(`${this.shown}: expected a mapping with at least Name and Handler, found an empty file`);
    }
    if (!isMapping(document)) {
      throw new ConfigError(`${this.shown}: expected a mapping of keys (Name: ..., Handler: ...), found ${describe(document)}`);
    }
    return document;
  }

  /** Maps the 2018 keys onto the ones they meant, warning about each. */
  private renameLegacyKeys(document: Mapping): Mapping {
    const keys: Mapping = { ...document };
    for (const [legacy, modern] of Object.entries(LEGACY_KEYS)) {
      if (!(legacy in keys)) continue;
      if (modern in keys) {
        this.warn([legacy], `ignored because ${modern} is also set; remove ${legacy}`);
      } else {
        this.warn([legacy], `old key from the 2018 system, read as ${modern}; rename it to ${modern}`);
        keys[modern] = keys[legacy];
      }
      delete keys[legacy];
    }
    return keys;
  }

  private warnUnknown(mapping: Mapping, known: string[], at: string[]): void {
    for (const key of Object.keys(mapping)) {
      if (known.includes(key) || (at.length === 0 && key in LEGACY_KEYS)) continue;
      const hint = didYouMean(key, known);
      this.warn([...at, key], `unknown key${hint || ` (known keys: ${known.join(', ')})`}`);
    }
  }

  private handlerFile(handler: string): string {
    const match = /^([A-Za-z_][\w/.-]*)\.([A-Za-z_]\w*)$/.exec(handler);
    if (!match) {
      this.fail(['Handler'], `expected module.function (e.g. app.handler or pkg/mod.handler), found ${JSON.stringify(handler)}`);
    }
    const module = match[1]!;
    const relative = `src/${module.replace(/\./g, '/')}.py`;
    const inside = resolveInside(this.root, relative);
    if (!inside.ok) this.fail(['Handler'], `module ${relative} is ${inside.reason}`);
    if (!existsSync(inside.absolute)) {
      this.fail(['Handler'], `expected the module file ${relative} to exist (Handler ${JSON.stringify(handler)} names module ${JSON.stringify(module)} under src/), found no such file`);
    }
    return relative;
  }

  private runtime(value: unknown): string {
    if (value === undefined) {
      // Configs written for the 2018 system have no Runtime: it deployed python3.6, which Lambda no longer runs.
      this.notes.push({ message: `${this.shown}: no Runtime: lambda-cd builds and deploys for ${DEFAULT_RUNTIME} (the 2018 system deployed python3.6, which Lambda no longer runs); set Runtime to choose another` });
      return DEFAULT_RUNTIME;
    }
    const supported = Object.keys(RUNTIMES);
    if (typeof value !== 'string' || !(value in RUNTIMES)) {
      const hint = typeof value === 'string' ? didYouMean(value, supported) : '';
      this.fail(['Runtime'], `expected a Python runtime Lambda supports (${supported.join(', ')}), found ${JSON.stringify(value)}${hint}`);
    }
    if (RUNTIMES[value]!.deprecated) this.warn(['Runtime'], `${value} is deprecated by Lambda; move to ${DEFAULT_RUNTIME} or newer`);
    return value;
  }

  /** MemorySize, Timeout and the optional deployment settings, at the top level or in a StageOverrides entry. */
  private settings(mapping: Mapping, at: string[]): Partial<StageSettings> {
    const top = at.length === 0;
    const result: Partial<StageSettings> = {};
    const set = <K extends keyof StageSettings>(key: K, value: StageSettings[K] | undefined) => {
      if (value !== undefined) result[key] = value;
    };
    set('memorySize', this.integer(mapping.MemorySize, [...at, 'MemorySize'], 128, 10240, top ? 128 : undefined));
    set('timeout', this.integer(mapping.Timeout, [...at, 'Timeout'], 1, 900, top ? 60 : undefined));
    set('description', this.optionalString(mapping.Description, [...at, 'Description'], 256));
    set('layers', this.layers(mapping.Layers, [...at, 'Layers']) ?? (top ? [] : undefined));
    set('vpc', this.vpc(mapping.Vpc, [...at, 'Vpc']));
    set('tracing', mapping.Tracing === undefined ? undefined : this.choice(mapping, [...at, 'Tracing'], mapping.Tracing, TRACING_MODES, 'PassThrough'));
    set('reservedConcurrency', this.integer(mapping.ReservedConcurrency, [...at, 'ReservedConcurrency'], 0, 1_000_000, undefined));
    const retention = this.integer(mapping.LogRetentionInDays, [...at, 'LogRetentionInDays'], 1, 3653, undefined);
    if (retention !== undefined && !LOG_RETENTION_DAYS.includes(retention)) {
      this.fail([...at, 'LogRetentionInDays'], `expected one of ${LOG_RETENTION_DAYS.join(', ')} (the values CloudWatch Logs accepts), found ${retention}`);
    }
    set('logRetentionInDays', retention);
    set('tags', this.tags(mapping.Tags, [...at, 'Tags']) ?? (top ? {} : undefined));
    return result;
  }

  private stages(value: unknown, name: string): string[] {
    const configDir = path.join(this.root, 'config');
    const folders = readdirSync(configDir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.') && entry.name !== '__pycache__')
      .map((entry) => entry.name);
    const shownDir = `${displayPath(configDir)}${path.sep}`;
    if (!folders.includes(PROD_STAGE)) {
      throw new ConfigError(`${shownDir}: expected a stage folder ${PROD_STAGE}/ (PROD always exists and is the last stage), found ${folders.length ? folders.map((f) => `${f}/`).join(', ') : 'no stage folders'}`);
    }
    for (const folder of folders) {
      if (!STAGE_PATTERN.test(folder)) {
        throw new ConfigError(`${shownDir}${folder}: expected a stage name of letters and digits (it becomes part of function and export names), found ${JSON.stringify(folder)}`);
      }
    }
    let order: string[];
    if (value === undefined) {
      order = folders.filter((f) => f !== PROD_STAGE).sort();
    } else {
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
        this.fail(['Stages'], `expected a list of stage folder names, found ${describe(value)}`);
      }
      const listed = value.filter((v) => v !== PROD_STAGE);
      for (const stage of listed) {
        if (!folders.includes(stage)) this.fail(['Stages'], `expected a folder config/${stage}/ for listed stage ${stage}, found none${didYouMean(stage, folders)}`);
      }
      const duplicate = listed.find((stage, index) => listed.indexOf(stage) !== index);
      if (duplicate) this.fail(['Stages'], `expected each stage once, found ${duplicate} twice`);
      const unlisted = folders.filter((f) => f !== PROD_STAGE && !listed.includes(f));
      if (unlisted.length) this.fail(['Stages'], `expected every stage folder to be listed, found config/${unlisted[0]}/ missing from the list`);
      if (value.includes(PROD_STAGE) && value[value.length - 1] !== PROD_STAGE) {
        this.fail(['Stages'], `expected ${PROD_STAGE} last (or left out: it is always last), found it at position ${value.indexOf(PROD_STAGE) + 1}`);
      }
      order = listed;
    }
    const stages = [...order, PROD_STAGE];
    const longest = stages.reduce((a, b) => (b.length > a.length ? b : a));
    if (name.length + longest.length > MAX_FUNCTION_NAME) {
      this.fail(['Name'], `expected at most ${MAX_FUNCTION_NAME - longest.length} characters so that the function name Name+Stage (${name}${longest}) fits Lambda's ${MAX_FUNCTION_NAME}, found ${name.length}`);
    }
    return stages;
  }

  private stageOverrides(value: unknown, stages: string[]): Record<string, Partial<StageSettings>> {
    if (value === undefined) return {};
    if (!isMapping(value)) this.fail(['StageOverrides'], `expected a mapping of stage name to settings, found ${describe(value)}`);
    const result: Record<string, Partial<StageSettings>> = {};
    for (const [stage, settings] of Object.entries(value)) {
      if (!stages.includes(stage)) this.fail(['StageOverrides', stage], `expected a stage (${stages.join(', ')}), found ${JSON.stringify(stage)}${didYouMean(stage, stages)}`);
      if (!isMapping(settings)) this.fail(['StageOverrides', stage], `expected a mapping of settings (${OVERRIDE_KEYS.join(', ')}), found ${describe(settings)}`);
      this.warnUnknown(settings, OVERRIDE_KEYS, ['StageOverrides', stage]);
      result[stage] = this.settings(settings, ['StageOverrides', stage]);
    }
    return result;
  }

  /** A test folder: `path`, `{Folder, Files, Runner}`, or the first default folder that exists. */
  private suite(value: unknown, key: string, defaults: string[]): TestSuite | undefined {
    if (value === undefined || value === null) {
      const folder = defaults.find((candidate) => existsSync(path.join(this.root, candidate)));
      return folder === undefined ? undefined : { folder, absoluteFolder: path.join(this.root, folder), runner: 'script' };
    }
    let folderValue: unknown = value;
    let files: string[] | undefined;
    let runner: TestRunner = 'script';
    if (isMapping(value)) {
      this.warnUnknown(value, SUITE_KEYS, [key]);
      folderValue = value.Folder;
      if (folderValue === undefined) this.fail([key, 'Folder'], 'expected the test folder (e.g. Folder: tests/unittests), found no Folder key');
      runner = this.choice(value, [key, 'Runner'], value.Runner, TEST_RUNNERS, 'script');
      if (value.Files !== undefined) {
        if (!Array.isArray(value.Files) || value.Files.length === 0 || !value.Files.every((f) => typeof f === 'string' && f !== '')) {
          this.fail([key, 'Files'], `expected a non-empty list of file names in the folder, found ${describe(value.Files)}`);
        }
        files = value.Files as string[];
      }
    }
    if (typeof folderValue !== 'string' || folderValue.trim() === '') {
      this.fail([key], `expected a folder path or {Folder, Files}, found ${describe(folderValue)}`);
    }
    const inside = resolveInside(this.root, folderValue);
    if (!inside.ok) this.fail([key], `expected a folder inside the repository, found ${JSON.stringify(folderValue)}: ${inside.reason}`);
    if (!existsSync(inside.absolute) || !statSync(inside.absolute).isDirectory()) {
      this.fail([key], `expected the test folder ${JSON.stringify(folderValue)} to exist, found ${existsSync(inside.absolute) ? 'a file' : 'nothing there'}`);
    }
    const folder = toPosix(path.relative(this.root, inside.absolute)) || '.';
    for (const file of files ?? []) {
      const inFolder = resolveInside(inside.absolute, file);
      if (!inFolder.ok) this.fail([key, 'Files'], `expected files inside ${folder}/, found ${JSON.stringify(file)}: ${inFolder.reason}`);
      if (!existsSync(inFolder.absolute)) this.fail([key, 'Files'], `expected ${folder}/${file} to exist, found no such file`);
    }
    return { folder, absoluteFolder: inside.absolute, files, runner };
  }

  private layers(value: unknown, at: string[]): string[] | undefined {
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || value.length > 5) this.fail(at, `expected a list of at most 5 layer version ARNs, found ${describe(value)}`);
    for (const layer of value) {
      if (typeof layer !== 'string' || !(LAYER_ARN.test(layer) || layer.startsWith('{{resolve:'))) {
        this.fail(at, `expected layer version ARNs (arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION), found ${JSON.stringify(layer)}`);
      }
    }
    return value as string[];
  }

  private vpc(value: unknown, at: string[]): VpcConfig | undefined {
    if (value === undefined) return undefined;
    if (!isMapping(value)) this.fail(at, `expected {SubnetIds: [...], SecurityGroupIds: [...]}, found ${describe(value)}`);
    this.warnUnknown(value, VPC_KEYS, at);
    // EC2 ids are the prefix and 8 or 17 hex digits (what CloudFormation validates), or a dynamic reference.
    const list = (key: string, prefix: string): string[] => {
      const items = value[key];
      const id = new RegExp(`^${prefix}([0-9a-f]{8}|[0-9a-f]{17})$`);
      if (!Array.isArray(items) || items.length === 0 || !items.every((i) => typeof i === 'string' && (id.test(i) || i.startsWith('{{resolve:')))) {
        this.fail([...at, key], `expected a non-empty list of ${prefix}... ids (${prefix} and 8 or 17 hex digits), found ${describe(items)}`);
      }
      return items as string[];
    };
    return { subnetIds: list('SubnetIds', 'subnet-'), securityGroupIds: list('SecurityGroupIds', 'sg-') };
  }

  private tags(value: unknown, at: string[]): Record<string, string> | undefined {
    if (value === undefined) return undefined;
    if (!isMapping(value)) this.fail(at, `expected a mapping of tag names to values, found ${describe(value)}`);
    const tags: Record<string, string> = {};
    for (const [key, tag] of Object.entries(value)) {
      if (!['string', 'number', 'boolean'].includes(typeof tag)) this.fail([...at, key], `expected a text value, found ${describe(tag)}`);
      tags[key] = String(tag);
    }
    return tags;
  }

  private requiredString(mapping: Mapping, key: string): string {
    const value = mapping[key];
    if (value === undefined || value === null) this.fail([key], `required key is missing${key === 'Name' ? " (the function's name: letters, digits, '-' or '_')" : ' (module.function under src/, e.g. app.handler)'}`);
    if (typeof value === 'number' || typeof value === 'boolean') {
      // YAML reads `Name: 2048` or `Name: yes` as a number or boolean, not as text.
      this.fail([key], `expected a non-empty text, found ${describe(value)}; quote it: ${key}: "${String(value)}"`);
    }
    if (typeof value !== 'string' || value.trim() === '') this.fail([key], `expected a non-empty text, found ${describe(value)}`);
    return value;
  }

  private optionalString(value: unknown, at: string[], maxLength: number): string | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value.length > maxLength) this.fail(at, `expected a text of at most ${maxLength} characters, found ${describe(value)}`);
    return value;
  }

  private integer(value: unknown, at: string[], min: number, max: number, fallback: number | undefined): number | undefined {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.fail(at, `expected a whole number from ${min} to ${max}, found ${describe(value)}`);
    }
    return value;
  }

  private choice<T extends string>(_mapping: Mapping, at: string[], value: unknown, choices: readonly T[], fallback: T): T {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'string' || !choices.includes(value as T)) {
      const hint = typeof value === 'string' ? didYouMean(value, choices) : '';
      this.fail(at, `expected one of ${choices.join(', ')}, found ${describe(value)}${hint}`);
    }
    return value as T;
  }

  /** `config/config.yaml:LINE:COL: A.B: ` for a key path, as far as the source shows it. */
  private where(keyPath: string[]): string {
    const line = this.locate(keyPath);
    return `${this.shown}${line === undefined ? '' : `:${line + 1}:1`}: ${keyPath.join('.')}`;
  }

  /** Finds the line of a (nested) key in block-style YAML; good enough for messages. */
  private locate(keyPath: string[]): number | undefined {
    let from = 0;
    let parentIndent = -1;
    let found: number | undefined;
    for (const key of keyPath) {
      const pattern = new RegExp(`^(\\s*)(?:- )?["']?${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}["']?\\s*:`);
      let hit: number | undefined;
      for (let i = from; i < this.lines.length; i++) {
        const match = pattern.exec(this.lines[i]!);
        if (match && match[1]!.length > parentIndent) {
          hit = i;
          parentIndent = match[1]!.length;
          break;
        }
      }
      if (hit === undefined) return found;
      found = hit;
      from = hit + 1;
    }
    return found;
  }

  private fail(keyPath: string[], message: string): never {
    throw new ConfigError(`${this.where(keyPath)}: ${message}`);
  }

  private warn(keyPath: string[], message: string): void {
    this.warnings.push({ message: `${this.where(keyPath)}: ${message}` });
  }
}

export function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What was found, for "expected X, found Y" (a short prefix of a value at most). */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return `a list (${JSON.stringify(value).slice(0, 60)})`;
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value === 'string' ? 'text' : typeof value} ${JSON.stringify(value)}`;
}
