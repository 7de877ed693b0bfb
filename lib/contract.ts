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
import { existsSync, readdirSync, realpathSync, statSync, type Dirent } from 'node:fs';
import path from 'node:path';
import { parseJson, parseYaml, readUserFile } from './data-files.js';
import { ConfigError } from './errors.js';
import { displayPath } from './output.js';
import { isInside, resolveInside, toPosix } from './paths.js';
import { escapeControl, safeName } from './redact.js';
import { ARCHITECTURES, DEFAULT_RUNTIME, NODE_RUNTIMES, RUNTIMES, runtimeLanguage, type Architecture, type LanguageId } from './runtimes.js';
import { didYouMean } from './suggest.js';

export const PROD_STAGE = 'PROD';
export const TEST_RUNNERS = ['script', 'pytest', 'unittest', 'node', 'npm'] as const;
export type TestRunner = (typeof TEST_RUNNERS)[number];
/** The runners each language offers, the default first. */
export const LANGUAGE_TEST_RUNNERS: Record<LanguageId, readonly TestRunner[]> = { python: ['script', 'pytest', 'unittest'], node: ['node', 'npm', 'script'] };
/** How the function's code is built for the zip (Node.js): installed as it is, or bundled by esbuild. */
export const BUNDLERS = ['none', 'esbuild'] as const;
export const TRACING_MODES = ['Active', 'PassThrough'] as const;
/** The values CloudWatch Logs accepts for RetentionInDays. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
/** Lambda function names are at most 64 characters; ours are Name + Stage. */
export const MAX_FUNCTION_NAME = 64;
/** CloudFormation (Lambda, IAM, CloudWatch Logs) accepts at most 50 tags per resource; lambda-cd adds one. */
export const MAX_TAGS = 50;
/** The tag lambda-cd puts on every resource (lib/template.ts). */
export const STAGE_TAG = 'lambda-cd:stage';
const MAX_TAG_KEY = 128;
const MAX_TAG_VALUE = 256;
/** What IAM, Lambda and CloudWatch Logs all accept in tag keys and values. */
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

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
  /** How a new version reaches the stage's alias (Deployment); per key, StageOverrides refine it. */
  deployment: DeploymentSettings;
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
  /** Repository-relative path of the handler's module file, e.g. `src/app.py` or `src/index.mjs`. */
  handlerFile: string;
  runtime: string;
  /** Which language module (languages/<id>/) builds and tests it; decided by Runtime. */
  language: LanguageId;
  /** Node.js: `Bundle: esbuild` bundles the handler; 'none' (the default) zips src/ and node_modules/. */
  bundle: (typeof BUNDLERS)[number];
  architecture: Architecture;
  /** Function-wide settings; use `stageSettings(stage)` for a stage's effective values. */
  settings: StageSettings;
  stageOverrides: Record<string, Partial<StageSettings>>;
  unittests?: TestSuite;
  integrationtests?: TestSuite;
  /** Stage names in pipeline order; PROD is always last. */
  stages: string[];
  /** AllowWildcardActions: true — iam files may grant every action of a service (with a warning). */
  allowWildcardActions: boolean;
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
  'StageOverrides', 'AllowWildcardActions', 'Deployment',
];
/** Keys only a Node.js function's config knows. */
const NODE_KEYS = ['Bundle'];
/** Keys the 2018 system wrote, and the key each meant. */
const LEGACY_KEYS: Record<string, string> = { Memory: 'MemorySize', TestFolder: 'Integrationtests' };
const SUITE_KEYS = ['Folder', 'Files', 'Runner'];
const OVERRIDE_KEYS = ['MemorySize', 'Timeout', 'Description', 'Layers', 'Vpc', 'Tracing', 'ReservedConcurrency', 'LogRetentionInDays', 'Tags', 'Deployment'];
const VPC_KEYS = ['SubnetIds', 'SecurityGroupIds'];
/** A log holds this many unknown-key warnings at most; the rest are counted in one more line. */
const MAX_UNKNOWN_WARNINGS = 100;

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
    deployment: { ...config.settings.deployment, ...override.deployment },
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
  /** Lines that start a key, by key (see locate()). */
  private keyLines?: Map<string, { line: number; indent: number }[]>;
  /** Unknown keys beyond MAX_UNKNOWN_WARNINGS are counted, not listed. */
  private unlistedUnknown = 0;

  constructor(private readonly root: string, private readonly file: string) {
    this.shown = displayPath(file);
    for (const relative of ['config', 'config/config.yaml']) {
      const inside = resolveInside(root, relative);
      if (!inside.ok) throw new ConfigError(`${displayPath(path.join(root, relative))}: expected it inside the repository, found ${inside.reason}; lambda-cd reads config/ only from the repository itself`);
    }
    if (!existsSync(file)) {
      throw new ConfigError(`${this.shown}: file not found; expected the repository's config (Name, Handler, ...) — is --path the function repository?`);
    }
    this.source = readUserFile(file, this.shown, "the repository's config file (Name, Handler, ...)");
    this.lines = this.source.split(/\r?\n/);
  }

  read(): RepositoryConfig {
    const document = this.parse();
    const keys = this.renameLegacyKeys(document);
    // The Runtime decides the language, hence the handler's file and the keys; an unknown Runtime is reported after Handler.
    const runtimeText = typeof keys.Runtime === 'string' ? keys.Runtime : '';
    const language = runtimeLanguage(runtimeText) ?? (runtimeText.startsWith('nodejs') ? 'node' : 'python');
    this.warnUnknown(keys, language === 'node' ? [...KNOWN_KEYS, ...NODE_KEYS] : KNOWN_KEYS, []);

    const name = this.requiredString(keys, 'Name');
    if (!NAME_PATTERN.test(name)) this.fail(['Name'], `expected letters, digits, '-' or '_', found ${quoted(name)}`);
    const handler = this.requiredString(keys, 'Handler');
    const handlerFile = language === 'node' ? this.nodeHandlerFile(handler) : this.handlerFile(handler);
    const runtime = this.runtime(keys.Runtime);
    const bundle = this.choice(keys, ['Bundle'], keys.Bundle, BUNDLERS, 'none');
    if (bundle !== 'none' && language !== 'node') this.fail(['Bundle'], `bundling applies to Node.js runtimes (${Object.keys(NODE_RUNTIMES).join(', ')}), found Runtime ${runtime}; remove Bundle`);
    const architecture = this.choice(keys, ['Architecture'], keys.Architecture, ARCHITECTURES, 'x86_64');
    const settings = this.settings(keys, []);
    const stages = this.stages(keys.Stages, name);
    const stageOverrides = this.stageOverrides(keys.StageOverrides, stages);
    this.checkTagCount(settings.tags ?? {}, stageOverrides, stages);
    if (keys.AllowWildcardActions !== undefined && typeof keys.AllowWildcardActions !== 'boolean') {
      this.fail(['AllowWildcardActions'], `expected true or false, found ${describe(keys.AllowWildcardActions)}`);
    }

    const unittests = this.suite(keys.Unittests, 'Unittests', ['tests/unittests'], language);
    const integrationtests = this.suite(keys.Integrationtests, 'Integrationtests', ['tests/integrationtests', 'test'], language);
    if (this.unlistedUnknown > 0) this.warnings.push({ message: `${this.shown}: ${this.unlistedUnknown.toLocaleString('en-US')} more unknown keys, not listed` });
    return {
      root: this.root,
      configFile: this.file,
      name,
      handler,
      handlerFile,
      runtime,
      language,
      bundle,
      architecture,
      settings: settings as StageSettings,
      stageOverrides,
      unittests,
      integrationtests,
      stages,
      allowWildcardActions: keys.AllowWildcardActions === true,
      warnings: this.warnings,
      notes: this.notes,
    };
  }

  private parse(): Mapping {
    const document = parseYaml(this.source, { shown: this.shown });
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
      if (this.warnings.length >= MAX_UNKNOWN_WARNINGS) {
        this.unlistedUnknown++;
        continue;
      }
      const hint = didYouMean(key, known);
      this.warn([...at, key], `unknown key${hint || ` (known keys: ${known.join(', ')})`}`);
    }
  }

  private handlerFile(handler: string): string {
    const match = /^([A-Za-z_][\w/.-]*)\.([A-Za-z_]\w*)$/.exec(handler);
    if (!match) {
      this.fail(['Handler'], `expected module.function (e.g. app.handler or pkg/mod.handler), found ${quoted(handler)}`);
    }
    const module = match[1]!;
    const relative = `src/${module.replace(/\./g, '/')}.py`;
    const inside = resolveInside(this.root, relative);
    if (!inside.ok) this.fail(['Handler'], `module ${relative} is ${inside.reason}`);
    if (!existsSync(inside.absolute)) {
      this.fail(['Handler'], `expected the module file ${relative} to exist (Handler ${quoted(handler)} names module ${quoted(module)} under src/), found no such file`);
    }
    return relative;
  }

  /**
   * Node.js handlers as Lambda's runtime reads them: `index.handler` is function `handler` of
   * src/index.js, .mjs or .cjs (tried in that order, as Lambda does); `lib/app.handler` is under src/lib/.
   */
  private nodeHandlerFile(handler: string): string {
    const match = /^((?:[A-Za-z0-9_$-]+\/)*)([A-Za-z0-9_$-]+)\.([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)$/.exec(handler);
    if (!match) this.fail(['Handler'], `expected file.function for Node.js (e.g. index.handler for src/index.mjs, or lib/app.handler), found ${quoted(handler)}`);
    const module = `${match[1]}${match[2]}`;
    const candidates = NODE_HANDLER_EXTENSIONS.map((extension) => `src/${module}${extension}`);
    for (const relative of candidates) {
      const inside = resolveInside(this.root, relative);
      if (!inside.ok) this.fail(['Handler'], `module ${relative} is ${inside.reason}`);
    }
    const present = candidates.filter((relative) => existsSync(path.join(this.root, relative)));
    if (present.length === 0) {
      this.fail(['Handler'], `expected the module file ${candidates.slice(0, -1).join(', ')} or ${candidates.at(-1)} to exist (Handler ${quoted(handler)} names module ${quoted(module)} under src/), found no such file`);
    }
    if (present.length > 1) this.warn(['Handler'], `${present.join(' and ')} both exist; Lambda loads ${present[0]} (it tries .js, .mjs, .cjs in that order)`);
    return present[0]!;
  }

  private runtime(value: unknown): string {
    if (value === undefined) {
      // Configs written for the 2018 system have no Runtime: it deployed python3.6, which Lambda no longer runs.
      this.notes.push({ message: `${this.shown}: no Runtime: lambda-cd builds and deploys for ${DEFAULT_RUNTIME} (the 2018 system deployed python3.6, which Lambda no longer runs); set Runtime to choose another` });
      return DEFAULT_RUNTIME;
    }
    const supported = [...Object.keys(RUNTIMES), ...Object.keys(NODE_RUNTIMES)];
    if (typeof value !== 'string' || runtimeLanguage(value) === undefined) {
      const hint = typeof value === 'string' ? didYouMean(value, supported) : '';
      const python = Object.keys(RUNTIMES).join(', ');
      this.fail(['Runtime'], `expected a Python runtime Lambda supports (${python}) or a Node.js one (${Object.keys(NODE_RUNTIMES).join(', ')}), found ${typeof value === 'string' ? quoted(value) : describe(value)}${hint}`);
    }
    if (RUNTIMES[value]?.deprecated) this.warn(['Runtime'], `${value} is deprecated by Lambda; move to ${DEFAULT_RUNTIME} or newer`);
    if (NODE_RUNTIMES[value]?.deprecated) this.warn(['Runtime'], `${value} is deprecated by Lambda; move to a newer Node.js runtime`);
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
    set('deployment', readDeployment(mapping.Deployment, [...at, 'Deployment'], this.root, { fail: (keyPath, message) => this.fail(keyPath, message), warnUnknown: (value, known, keyPath) => this.warnUnknown(value, known, keyPath) }) ?? (top ? {} : undefined));
    return result;
  }

  private stages(value: unknown, name: string): string[] {
    const configDir = path.join(this.root, 'config');
    const shownDir = `${displayPath(configDir)}${path.sep}`;
    const folders = readdirSync(configDir, { withFileTypes: true })
      .filter((entry) => !entry.name.startsWith('.') && entry.name !== '__pycache__' && this.isStageFolder(entry, shownDir))
      .map((entry) => entry.name)
      .sort();
    if (!folders.includes(PROD_STAGE)) {
      throw new ConfigError(`${shownDir}: expected a stage folder ${PROD_STAGE}/ (PROD always exists and is the last stage), found ${folders.length ? folders.map((f) => `${safeName(f)}/`).join(', ') : 'no stage folders'}`);
    }
    for (const folder of folders) {
      if (!STAGE_PATTERN.test(folder)) {
        throw new ConfigError(`${shownDir}${safeName(folder)}: expected a stage name of letters and digits (it becomes part of function and export names), found ${quoted(folder)}`);
      }
    }
    // Gamma/ and gamma/ are one folder on macOS and Windows checkouts, and IAM names ignore case.
    const clash = folders.find((folder, index) => folders.findIndex((other) => other.toLowerCase() === folder.toLowerCase()) !== index);
    if (clash) {
      const twin = folders.find((other) => other !== clash && other.toLowerCase() === clash.toLowerCase())!;
      throw new ConfigError(`${shownDir}: stage folders ${twin}/ and ${clash}/ differ only in case (one folder on macOS and Windows checkouts, one name to IAM); rename or merge one of them`);
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
        if (!folders.includes(stage)) this.fail(['Stages'], `expected a folder config/${safeName(stage)}/ for listed stage ${safeName(stage)}, found none${didYouMean(stage, folders)}`);
      }
      const duplicate = listed.find((stage, index) => listed.indexOf(stage) !== index);
      if (duplicate) this.fail(['Stages'], `expected each stage once, found ${safeName(duplicate)} twice`);
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

  /**
   * A folder under config/ is a stage; so is a symlink to a folder inside the repository (it is
   * followed). A symlink that leads outside or to nothing is refused rather than skipped: a stage
   * that silently disappears would deploy a pipeline without it.
   */
  private isStageFolder(entry: Dirent, shownDir: string): boolean {
    if (entry.isDirectory()) return true;
    if (!entry.isSymbolicLink()) return false;
    const link = path.join(this.root, 'config', entry.name);
    let real: string;
    try {
      real = realpathSync(link);
    } catch {
      throw new ConfigError(`${shownDir}${safeName(entry.name)}: a symlink to nothing (or a symlink loop); expected a stage folder, or no entry of that name`);
    }
    if (!isInside(realpathSync(this.root), real)) {
      throw new ConfigError(`${shownDir}${safeName(entry.name)}: a symlink that leads outside the repository (to ${safeName(real)}); a stage folder must be inside it: copy the folder in, or point the link inside the repository`);
    }
    return statSync(real).isDirectory();
  }

  /** Every resource carries the stage's tags plus lambda-cd's own: CloudFormation refuses more than 50. */
  private checkTagCount(tags: Record<string, string>, overrides: Record<string, Partial<StageSettings>>, stages: string[]): void {
    for (const stage of stages) {
      const own = overrides[stage]?.tags;
      const count = Object.keys({ ...tags, ...own }).length;
      if (count > MAX_TAGS - 1) {
        const at = own && Object.keys(own).length ? ['StageOverrides', stage, 'Tags'] : ['Tags'];
        this.fail(at, `expected at most ${MAX_TAGS - 1} tags (CloudFormation allows ${MAX_TAGS} per resource and lambda-cd adds ${STAGE_TAG}), found ${count} in stage ${stage}`);
      }
    }
  }

  private stageOverrides(value: unknown, stages: string[]): Record<string, Partial<StageSettings>> {
    if (value === undefined) return {};
    if (!isMapping(value)) this.fail(['StageOverrides'], `expected a mapping of stage name to settings, found ${describe(value)}`);
    const result: Record<string, Partial<StageSettings>> = {};
    for (const [stage, settings] of Object.entries(value)) {
      if (!stages.includes(stage)) this.fail(['StageOverrides', stage], `expected a stage (${stages.join(', ')}), found ${quoted(stage)}${didYouMean(stage, stages)}`);
      if (!isMapping(settings)) this.fail(['StageOverrides', stage], `expected a mapping of settings (${OVERRIDE_KEYS.join(', ')}), found ${describe(settings)}`);
      this.warnUnknown(settings, OVERRIDE_KEYS, ['StageOverrides', stage]);
      result[stage] = this.settings(settings, ['StageOverrides', stage]);
    }
    return result;
  }

  /** A test folder: `path`, `{Folder, Files, Runner}`, or the first default folder that exists. */
  private suite(value: unknown, key: string, defaults: string[], language: LanguageId): TestSuite | undefined {
    const runners = LANGUAGE_TEST_RUNNERS[language];
    if (value === undefined || value === null) {
      const folder = defaults.find((candidate) => existsSync(path.join(this.root, candidate)));
      return folder === undefined ? undefined : { folder, absoluteFolder: path.join(this.root, folder), runner: runners[0]! };
    }
    let folderValue: unknown = value;
    let files: string[] | undefined;
    let runner: TestRunner = runners[0]!;
    if (isMapping(value)) {
      this.warnUnknown(value, SUITE_KEYS, [key]);
      folderValue = value.Folder;
      if (folderValue === undefined) this.fail([key, 'Folder'], 'expected the test folder (e.g. Folder: tests/unittests), found no Folder key');
      runner = this.choice(value, [key, 'Runner'], value.Runner, runners, runners[0]!);
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
    if (!inside.ok) this.fail([key], `expected a folder inside the repository, found ${quoted(folderValue)}: ${inside.reason}`);
    if (!existsSync(inside.absolute) || !statSync(inside.absolute).isDirectory()) {
      this.fail([key], `expected the test folder ${quoted(folderValue)} to exist, found ${existsSync(inside.absolute) ? 'a file' : 'nothing there'}`);
    }
    const folder = toPosix(path.relative(this.root, inside.absolute)) || '.';
    for (const file of files ?? []) {
      const inFolder = resolveInside(inside.absolute, file);
      if (!inFolder.ok) this.fail([key, 'Files'], `expected files inside ${folder}/, found ${quoted(file)}: ${inFolder.reason}`);
      if (!existsSync(inFolder.absolute)) this.fail([key, 'Files'], `expected ${folder}/${safeName(file)} to exist, found no such file`);
    }
    return { folder, absoluteFolder: inside.absolute, files, runner };
  }

  private layers(value: unknown, at: string[]): string[] | undefined {
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || value.length > 5) this.fail(at, `expected a list of at most 5 layer version ARNs, found ${describe(value)}`);
    for (const layer of value) {
      if (typeof layer !== 'string' || !(LAYER_ARN.test(layer) || layer.startsWith('{{resolve:'))) {
        this.fail(at, `expected layer version ARNs (arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION), found ${describe(layer)}`);
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
    const keys = Object.keys(value);
    if (keys.length > MAX_TAGS - 1) this.fail(at, `expected at most ${MAX_TAGS - 1} tags (CloudFormation allows ${MAX_TAGS} per resource and lambda-cd adds ${STAGE_TAG}), found ${keys.length}`);
    for (const [key, tag] of Object.entries(value)) {
      if (!['string', 'number', 'boolean'].includes(typeof tag)) this.fail([...at, key], `expected a text value, found ${describe(tag)}`);
      const text = String(tag);
      if (key === STAGE_TAG) this.fail([...at, key], `lambda-cd sets this tag itself (to the stage's name); choose another key`);
      if (/^aws:/i.test(key)) this.fail([...at, key], "expected a tag key that does not start with 'aws:' (reserved for AWS; CloudFormation refuses it)");
      if (key.length === 0 || key.length > MAX_TAG_KEY) this.fail([...at, key], `expected a tag key of 1 to ${MAX_TAG_KEY} characters, found ${key.length}`);
      if (text.length > MAX_TAG_VALUE) this.fail([...at, key], `expected a tag value of at most ${MAX_TAG_VALUE} characters, found ${text.length}`);
      if (!TAG_TEXT.test(key) || !TAG_TEXT.test(text)) this.fail([...at, key], "expected tag keys and values of letters, digits, spaces and _ . : / = + - @ (what IAM, Lambda and CloudWatch Logs accept)");
      tags[key] = text;
    }
    return tags;
  }

  private requiredString(mapping: Mapping, key: string): string {
    const value = mapping[key];
    if (value === undefined || value === null) this.fail([key], `required key is missing${key === 'Name' ? " (the function's name: letters, digits, '-' or '_')" : ' (module.function under src/, e.g. app.handler)'}`);
    if (typeof value === 'number' || typeof value === 'boolean') {
      // YAML reads `Name: 2048` or `Name: yes` as a number or boolean, not as text.
      this.fail([key], `expected a non-empty text, found ${describe(value)}; quote it: ${key}: "${safeName(String(value))}"`);
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
    // Keys come from the user's file: a name must not move the cursor or forge a second line.
    return `${this.shown}${line === undefined ? '' : `:${line + 1}:1`}: ${keyPath.map((key) => safeName(key)).join('.')}`;
  }

  /**
   * Finds the line of a (nested) key in block-style YAML; good enough for messages. The lines
   * are indexed by key once, so a file with many unknown keys costs one pass, not one per key.
   */
  private locate(keyPath: string[]): number | undefined {
    this.keyLines ??= indexKeyLines(this.lines);
    let from = 0;
    let parentIndent = -1;
    let found: number | undefined;
    for (const key of keyPath) {
      const hit = (this.keyLines.get(key) ?? []).find((candidate) => candidate.line >= from && candidate.indent > parentIndent);
      if (hit === undefined) return found;
      found = hit.line;
      parentIndent = hit.indent;
      from = hit.line + 1;
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

/** The files a Node.js handler module may be, in the order Lambda's runtime tries them. */
export const NODE_HANDLER_EXTENSIONS = ['.js', '.mjs', '.cjs'];

/** `key:`, `- key:`, `"key":` or `'key':` at the start of a line: its indentation and key. */
const KEY_LINE = /^(\s*)(?:- )?(?:"([^"]*)"|'([^']*)'|([^\s"'#][^:#]*?))\s*:(?:\s|$)/;

function indexKeyLines(lines: string[]): Map<string, { line: number; indent: number }[]> {
  const index = new Map<string, { line: number; indent: number }[]>();
  lines.forEach((text, line) => {
    const match = KEY_LINE.exec(text);
    if (!match) return;
    const key = match[2] ?? match[3] ?? match[4]!;
    const entries = index.get(key) ?? [];
    entries.push({ line, indent: match[1]!.length });
    index.set(key, entries);
  });
  return index;
}

/** A user's text in a message: JSON-quoted (control characters escaped), at most 80 characters. */
function quoted(text: string): string {
  return escapeControl(JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}...` : text));
}

export function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What was found, for "expected X, found Y" (a short prefix of a value at most). */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return `a list (${escapeControl(JSON.stringify(value.slice(0, 10)).slice(0, 60))})`;
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `text ${quoted(value.length > 60 ? `${value.slice(0, 60)}...` : value)}`;
  return `${typeof value} ${JSON.stringify(value)}`;
}

// ---- Deployment: how a stage's new version reaches its alias (issue 14). ----

/** CodeDeploy's predefined Lambda deployment configurations, by the names SAM uses (CodeDeployDefault.Lambda<Name>). */
export const DEPLOYMENT_STRATEGIES = [
  'AllAtOnce', 'Canary10Percent5Minutes', 'Canary10Percent10Minutes', 'Canary10Percent15Minutes', 'Canary10Percent30Minutes',
  'Linear10PercentEvery1Minute', 'Linear10PercentEvery2Minutes', 'Linear10PercentEvery3Minutes', 'Linear10PercentEvery10Minutes',
] as const;
export type DeploymentStrategy = (typeof DEPLOYMENT_STRATEGIES)[number];
const DEPLOYMENT_KEYS = ['Strategy', 'Alarms', 'PreTraffic'];
/** CodeDeploy watches at most 10 alarms per deployment group. */
const MAX_ALARMS = 10;
/** The smoke event travels in the hook function's environment, which Lambda caps at 4 KB in all. */
export const MAX_PRE_TRAFFIC_EVENT_BYTES = 3072;

export interface DeploymentSettings {
  strategy?: DeploymentStrategy;
  /** CloudWatch alarm names that stop and roll back a deployment; [] means none, absent means lambda-cd's own. */
  alarms?: string[];
  /** The event the pre-traffic hook invokes the new version with. */
  preTraffic?: { file: string; event: string };
}

interface DeploymentReader {
  fail(keyPath: string[], message: string): never;
  warnUnknown(value: Mapping, known: string[], keyPath: string[]): void;
}

/** `Deployment: {Strategy, Alarms, PreTraffic}` at the top level or in a StageOverrides entry. */
function readDeployment(value: unknown, at: string[], root: string, reader: DeploymentReader): DeploymentSettings | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isMapping(value)) reader.fail(at, `expected a mapping (${DEPLOYMENT_KEYS.join(', ')}), found ${describe(value)}`);
  reader.warnUnknown(value, DEPLOYMENT_KEYS, at);
  const result: DeploymentSettings = {};
  if (value.Strategy !== undefined) {
    // CodeDeploy's own names work too: CodeDeployDefault.LambdaCanary10Percent5Minutes.
    const name = typeof value.Strategy === 'string' ? value.Strategy.replace(/^CodeDeployDefault\.Lambda/, '') : value.Strategy;
    if (typeof name !== 'string' || !(DEPLOYMENT_STRATEGIES as readonly string[]).includes(name)) {
      const hint = typeof name === 'string' ? didYouMean(name, DEPLOYMENT_STRATEGIES) : '';
      reader.fail([...at, 'Strategy'], `expected one of ${DEPLOYMENT_STRATEGIES.join(', ')}, found ${describe(value.Strategy)}${hint}`);
    }
    result.strategy = name as DeploymentStrategy;
  }
  if (value.Alarms !== undefined) {
    const alarms = value.Alarms;
    if (!Array.isArray(alarms) || alarms.length > MAX_ALARMS) reader.fail([...at, 'Alarms'], `expected a list of at most ${MAX_ALARMS} CloudWatch alarm names ([] for none), found ${describe(alarms)}`);
    for (const alarm of alarms) {
      // Names go into IAM ARNs: * and ? would be wildcards there.
      if (typeof alarm !== 'string' || alarm.trim() === '' || alarm.length > 255 || /[\u0000-\u001f\u007f*?]/.test(alarm)) {
        reader.fail([...at, 'Alarms'], `expected CloudWatch alarm names (1-255 characters, no control characters, * or ?), found ${describe(alarm)}`);
      }
    }
    const duplicate = alarms.find((alarm, index) => alarms.indexOf(alarm) !== index);
    if (duplicate !== undefined) reader.fail([...at, 'Alarms'], `expected each alarm once, found ${JSON.stringify(duplicate)} twice`);
    result.alarms = alarms as string[];
  }
  if (value.PreTraffic !== undefined) result.preTraffic = readPreTrafficEvent(value.PreTraffic, [...at, 'PreTraffic'], root, reader);
  return result;
}

function readPreTrafficEvent(value: unknown, at: string[], root: string, reader: DeploymentReader): { file: string; event: string } {
  if (typeof value !== 'string' || value.trim() === '') reader.fail(at, `expected the path of a JSON event file in the repository (e.g. events/smoke.json), found ${describe(value)}`);
  const inside = resolveInside(root, value);
  if (!inside.ok) reader.fail(at, `expected a file inside the repository, found ${JSON.stringify(value)}: ${inside.reason}`);
  if (!existsSync(inside.absolute) || !statSync(inside.absolute).isFile()) reader.fail(at, `expected the event file ${JSON.stringify(value)} to exist, found ${existsSync(inside.absolute) ? 'a folder' : 'nothing there'}`);
  const file = toPosix(path.relative(root, inside.absolute));
  const size = statSync(inside.absolute).size;
  if (size > MAX_PRE_TRAFFIC_EVENT_BYTES) reader.fail(at, `${file}: expected at most ${MAX_PRE_TRAFFIC_EVENT_BYTES} bytes (the event travels in the hook function's environment), found ${size}`);
  const event = readUserFile(inside.absolute, file, 'a JSON event file').trim();
  try {
    // The place and kind of error only: an event may hold a token, so no message quotes it.
    parseJson(event, { shown: file, bounded: false });
  } catch (error) {
    reader.fail(at, `${file}: expected a JSON event, found invalid JSON (at ${(error as Error).message.slice(file.length).replace(/^:/, '')})`);
  }
  return { file, event };
}
