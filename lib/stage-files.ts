/**
 * The per-stage files in `config/<Stage>/` (env.*, iam.*): finding the one a stage has,
 * reading YAML/JSON ones, and running the Python ones (the 2018 contract) in a child
 * process with a timeout, so a user's script can neither hang nor crash lambda-cd.
 */
import { accessSync, constants, existsSync, lstatSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { stageFolder, type RepositoryConfig } from './contract.js';
import { parseJson, parseYaml, readUserFile } from './data-files.js';
import { ConfigError, EnvironmentError } from './errors.js';
import { bundledPythonDir } from './bundled-python.js';
import { run } from './exec.js';
import { parseJsonKeepingNumbers } from './json-numbers.js';
import { prependPythonPath } from './python.js';
import { displayPath } from './output.js';
import { resolveInside } from './paths.js';
import { excerpt, safeName } from './redact.js';

/** How long a stage's env.py or iam.py may run. */
export const STAGE_SCRIPT_TIMEOUT_MS = 30_000;

export interface StageFile {
  /** Absolute path. */
  file: string;
  /** As shown in messages. */
  shown: string;
  kind: 'data' | 'python' | 'node';
}

/** The stage's file among `base.{extensions}`; none is fine, two are an error. */
export function findStageFile(config: RepositoryConfig, stage: string, base: string, extensions: string[]): StageFile | undefined {
  const folder = stageFolder(config, stage);
  const present = extensions.map((ext) => path.join(folder, `${base}.${ext}`)).filter((file) => lstatSync(file, { throwIfNoEntry: false }) !== undefined);
  if (present.length > 1) {
    throw new ConfigError(`${displayPath(folder)}${path.sep}: expected one ${base} file, found ${present.map((f) => path.basename(f)).join(' and ')}; keep one`);
  }
  const [file] = present;
  if (file === undefined) return undefined;
  const shown = displayPath(file);
  checkReadable(config.root, file, shown);
  return { file, shown, kind: file.endsWith('.py') ? 'python' : /\.(m|c)?js$/.test(file) ? 'node' : 'data' };
}

/** A stage file must be a readable file inside the repository (a symlink to a host file is not configuration). */
function checkReadable(root: string, file: string, shown: string): void {
  const inside = resolveInside(root, path.relative(root, file));
  if (!inside.ok) throw new ConfigError(`${shown}: expected a file inside the repository, found ${inside.reason}`);
  if (!existsSync(file)) throw new ConfigError(`${shown}: a symlink to nothing; expected the stage's file, or no entry of that name`);
  if (statSync(file).isDirectory()) throw new ConfigError(`${shown}: cannot read it (a folder, not a file); expected the stage's file`);
  try {
    accessSync(file, constants.R_OK);
  } catch {
    throw new ConfigError(`${shown}: cannot read it (permission denied); expected the stage's file`);
  }
}

/** CloudFormation's short-form tags (!Sub, !Ref, !GetAtt a.b, ...) read as their long form. */
const INTRINSICS = ['Base64', 'Cidr', 'FindInMap', 'GetAtt', 'GetAZs', 'ImportValue', 'Join', 'Select', 'Split', 'Sub', 'If', 'Equals', 'And', 'Or', 'Not'];
const CLOUDFORMATION_SCHEMA = yaml.CORE_SCHEMA.extend([
  ...(['scalar', 'sequence', 'mapping'] as const).flatMap((kind) => [
    new yaml.Type('!Ref', { kind, construct: (data) => ({ Ref: data }) }),
    new yaml.Type('!Condition', { kind, construct: (data) => ({ Condition: data }) }),
    ...INTRINSICS.map((name) => new yaml.Type(`!${name}`, {
      kind,
      construct: (data) => ({ [`Fn::${name}`]: name === 'GetAtt' && typeof data === 'string' ? data.split(/\.(.*)/s).slice(0, 2) : data }),
    })),
  ]),
]);

/**
 * Numbers read as the text they were written with (env files: 12345678901234567890 and 1.10 reach
 * Lambda as written, not rounded by a double). Same resolution rules as YAML's core schema.
 */
const CORE_TYPES = (yaml as unknown as { types: Record<'int' | 'float', yaml.Type> }).types;
const NUMBERS_AS_TEXT_SCHEMA = CLOUDFORMATION_SCHEMA.extend({
  implicit: [CORE_TYPES.int, CORE_TYPES.float].map((type) => new yaml.Type((type as yaml.Type & { tag: string }).tag, { kind: 'scalar', resolve: (text: string) => type.resolve(text), construct: (text: string) => text })),
});

export interface DataFileOptions {
  /** Numbers as the text written (env values), instead of JavaScript numbers. */
  numbersAsText?: boolean;
}

/** Parses an env/iam YAML or JSON file; syntax errors name the place, never quote the text. */
export function readDataFile(stageFile: StageFile, options: DataFileOptions = {}): unknown {
  const source = readUserFile(stageFile.file, stageFile.shown);
  if (stageFile.file.endsWith('.json')) {
    const parsed = parseJson(source, { shown: stageFile.shown });
    return options.numbersAsText ? parseJsonKeepingNumbers(source) : parsed;
  }
  return parseYaml(source, { shown: stageFile.shown, schema: options.numbersAsText ? NUMBERS_AS_TEXT_SCHEMA : CLOUDFORMATION_SCHEMA });
}

/**
 * Imports the file as a module, calls `functionName` and writes what it returned, as JSON, to the
 * report file (argv[4]): first a "started" report, then the outcome, each replacing the other
 * whole. A process that ends with only the first report was ended by the user's code (sys.exit
 * in a thread, os._exit, a crash); one without any never ran this code (a broken interpreter).
 * The user's prints go to stderr. Objects with to_dict() (troposphere) or JSONrepr() (awacs) are
 * converted wherever they appear. The folder argv[5] (lambda-cd's helper library) goes last on
 * sys.path: an installed copy of the 2018 library wins.
 */
const CALLER = String.raw`
import importlib.util, inspect, json, os, sys, traceback
path, function_name, args, report_path, helpers = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4], sys.argv[5]
sys.stdout = sys.stderr
def report(payload):
    with open(report_path + ".tmp", "w", encoding="utf-8") as out:
        out.write(json.dumps(payload))
    os.replace(report_path + ".tmp", report_path)
def fail(payload):
    report(payload)
    sys.exit(1)
def where(tb):
    frames = [f for f in traceback.extract_tb(tb) if os.path.abspath(f.filename) == os.path.abspath(path)]
    return frames[-1].lineno if frames else None
def plain(value):
    for method in ("to_dict", "JSONrepr"):
        if callable(getattr(value, method, None)):
            return getattr(value, method)()
    raise TypeError("Object of type %s is not JSON serializable" % type(value).__name__)
report({"started": True})
sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
if helpers:
    sys.path.append(helpers)
try:
    spec = importlib.util.spec_from_file_location("lambda_cd_stage_" + function_name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    function = getattr(module, function_name, None)
    if callable(function):
        try:
            inspect.signature(function).bind(*args)
        except TypeError:
            args = []
        except ValueError:
            pass
        result = function(*args)
except ModuleNotFoundError as error:
    fail({"error": "missing-module", "module": error.name or "", "line": where(error.__traceback__)})
except BaseException as error:
    fail({"error": "exception", "type": type(error).__name__, "message": str(error)[:300], "line": where(error.__traceback__)})
if not callable(function):
    fail({"error": "no-function"})
try:
    text = json.dumps(result, allow_nan=False, default=plain)
except (TypeError, ValueError, RecursionError) as error:
    fail({"error": "not-json", "type": type(result).__name__, "message": str(error)[:300]})
report({"ok": text})
`;

interface CallerReport {
  started?: boolean;
  /** The returned value as JSON text (decoded by the caller: numbers may need their digits). */
  ok?: string;
  error?: 'no-function' | 'missing-module' | 'exception' | 'not-json';
  module?: string;
  type?: string;
  message?: string;
  line?: number | null;
}

export interface PythonCallOptions {
  python: string;
  cwd: string;
  timeoutMs?: number;
  /** Folders put before the existing PYTHONPATH (troposphere installed by lib/stage-python-tools.ts). */
  pythonPath?: string[];
  /** Numbers in the result keep the digits Python wrote, as text (env values: 2^53 and beyond stay exact). */
  numbersAsText?: boolean;
}

/**
 * Calls `functionName(...args)` from a stage's Python file and returns what it returned.
 * `signature` is how the function is documented, for messages (e.g. "get_env(stage)").
 * When the function takes no arguments it is called without them (2018 env.py files).
 */
export async function callStageFunction(stageFile: StageFile, functionName: string, args: unknown[], signature: string, options: PythonCallOptions): Promise<unknown> {
  const timeoutMs = options.timeoutMs ?? STAGE_SCRIPT_TIMEOUT_MS;
  const work = await mkdtemp(path.join(tmpdir(), 'lambda-cd-stage-'));
  const reportFile = path.join(work, 'report.json');
  let result: Awaited<ReturnType<typeof run>>;
  let report: CallerReport | undefined;
  try {
    result = await run(options.python, ['-c', CALLER, stageFile.file, functionName, JSON.stringify(args), reportFile, bundledPythonDir() ?? ''], {
      cwd: options.cwd,
      timeoutMs,
      env: {
        PYTHONDONTWRITEBYTECODE: '1',
        PYTHONIOENCODING: 'utf-8',
        ...(options.pythonPath?.length ? { PYTHONPATH: prependPythonPath(options.pythonPath) } : {}),
      },
    });
    report = await readFile(reportFile, 'utf8').then((text) => JSON.parse(text) as CallerReport, () => undefined);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  if (result.timedOut) {
    throw new ConfigError(`${stageFile.shown}: ${functionName}() did not finish within ${timeoutMs / 1000} s; it must only build and return a value`);
  }
  if (report === undefined) {
    const tail = excerpt(result.stderr, { maxLines: 2, fromEnd: true });
    throw new EnvironmentError(`${stageFile.shown}: running it with ${options.python} failed (exit ${result.exitCode})${tail ? `: ${tail}` : ''}`);
  }
  if (typeof report.ok === 'string') return options.numbersAsText ? parseJsonKeepingNumbers(report.ok) : JSON.parse(report.ok);
  const at = report.line ? `${stageFile.shown}:${report.line}` : stageFile.shown;
  switch (report.error) {
    case 'no-function':
      throw new ConfigError(`${stageFile.shown}: expected a function ${signature}, found none`);
    case 'missing-module':
      throw new ConfigError(missingModuleMessage(at, report.module ?? '', options.python, functionName));
    case 'not-json':
      throw new ConfigError(`${stageFile.shown}: ${functionName}() returned ${report.type}, which is not plain data (dict, list, str, number, bool): ${excerpt(report.message ?? '')}`);
    case 'exception':
      throw new ConfigError(`${at}: ${functionName}() raised ${report.type}: ${excerpt(report.message ?? '')}`);
    default:
      // Only the "started" report: the file ended the process itself before a result was written.
      throw new ConfigError(`${stageFile.shown}: the process ended (exit ${result.exitCode}) before ${functionName}() returned a result; a stage file must return its value, not exit`);
  }
}

/**
 * Distributions to suggest for modules whose distribution has another name or that 2018 files
 * import; anything else gets no package name (a guess could name a package that does not exist).
 */
const DISTRIBUTION_OF: Record<string, string> = {
  troposphere: 'troposphere', awacs: 'awacs', yaml: 'PyYAML', dateutil: 'python-dateutil', boto3: 'boto3', botocore: 'botocore',
  requests: 'requests', jinja2: 'Jinja2', six: 'six',
};
/** The 2018 library's namespace; lambda-cd provides its `tools` part (python/). */
const LIBRARY_2018 = 'awslambdacontinuousdelivery';

function missingModuleMessage(at: string, module: string, python: string, functionName: string): string {
  const shown = safeName(module);
  const top = module.split('.')[0]!;
  if (top === LIBRARY_2018) {
    return `${at}: imports ${shown}, which lambda-cd does not provide: of the 2018 library it provides ${LIBRARY_2018}.tools and ${LIBRARY_2018}.tools.iam; build the value without it`;
  }
  const base = `${at}: imports ${shown}, which is not installed for ${python}`;
  if (top === 'troposphere' || top === 'awacs') {
    return `${base}; install it for that interpreter (${python} -m pip install troposphere awacs) or have ${functionName} return a plain dict (see lambda-cd create-cf --help)`;
  }
  const distribution = DISTRIBUTION_OF[top];
  if (distribution) return `${base}; install it for that interpreter (${python} -m pip install ${distribution}) or remove the import`;
  return `${base}; install the package that provides it for that interpreter, or remove the import`;
}
