/**
 * The per-stage files in `config/<Stage>/` (env.*, iam.*): finding the one a stage has,
 * reading YAML/JSON ones, and running the Python ones (the 2018 contract) in a child
 * process with a timeout, so a user's script can neither hang nor crash lambda-cd.
 */
import { accessSync, constants, existsSync, lstatSync, statSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { stageFolder, type RepositoryConfig } from './contract.js';
import { parseJson, parseYaml, readUserFile } from './data-files.js';
import { ConfigError, EnvironmentError } from './errors.js';
import { run } from './exec.js';
import { prependPythonPath } from './python.js';
import { displayPath } from './output.js';
import { resolveInside } from './paths.js';

/** How long a stage's env.py or iam.py may run. */
export const STAGE_SCRIPT_TIMEOUT_MS = 30_000;

export interface StageFile {
  /** Absolute path. */
  file: string;
  /** As shown in messages. */
  shown: string;
  kind: 'data' | 'python';
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
  return { file, shown, kind: file.endsWith('.py') ? 'python' : 'data' };
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

/** Parses an env/iam YAML or JSON file; syntax errors name the place, never quote the text. */
export function readDataFile(stageFile: StageFile): unknown {
  const source = readUserFile(stageFile.file, stageFile.shown);
  if (stageFile.file.endsWith('.json')) return parseJson(source, { shown: stageFile.shown });
  return parseYaml(source, { shown: stageFile.shown, schema: CLOUDFORMATION_SCHEMA });
}

/**
 * Imports the file as a module, calls `functionName` and prints the result as JSON on the
 * real stdout (the user's own prints go to stderr). `to_dict()` results (troposphere) are
 * converted. Failures are reported as JSON too, so the caller can phrase them.
 */
const CALLER = String.raw`
import importlib.util, inspect, json, os, sys, traceback
path, function_name, args = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
real_stdout, sys.stdout = sys.stdout, sys.stderr
def report(payload, code):
    real_stdout.write(json.dumps(payload))
    real_stdout.flush()
    sys.exit(code)
def where(tb):
    frames = [f for f in traceback.extract_tb(tb) if os.path.abspath(f.filename) == os.path.abspath(path)]
    return frames[-1].lineno if frames else None
sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
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
        if hasattr(result, "to_dict") and callable(result.to_dict):
            result = result.to_dict()
except ModuleNotFoundError as error:
    report({"error": "missing-module", "module": (error.name or "").split(".")[0], "line": where(error.__traceback__)}, 1)
except BaseException as error:
    report({"error": "exception", "type": type(error).__name__, "message": str(error)[:300], "line": where(error.__traceback__)}, 1)
if not callable(function):
    report({"error": "no-function"}, 1)
try:
    text = json.dumps(result, allow_nan=False)
except (TypeError, ValueError) as error:
    report({"error": "not-json", "type": type(result).__name__, "message": str(error)[:300]}, 1)
real_stdout.write('{"ok": ' + text + '}')
`;

interface CallerReport {
  ok?: unknown;
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
}

/**
 * Calls `functionName(...args)` from a stage's Python file and returns what it returned.
 * `signature` is how the function is documented, for messages (e.g. "get_env(stage)").
 * When the function takes no arguments it is called without them (2018 env.py files).
 */
export async function callStageFunction(stageFile: StageFile, functionName: string, args: unknown[], signature: string, options: PythonCallOptions): Promise<unknown> {
  const timeoutMs = options.timeoutMs ?? STAGE_SCRIPT_TIMEOUT_MS;
  const result = await run(options.python, ['-c', CALLER, stageFile.file, functionName, JSON.stringify(args)], {
    cwd: options.cwd,
    timeoutMs,
    env: {
      PYTHONDONTWRITEBYTECODE: '1',
      PYTHONIOENCODING: 'utf-8',
      ...(options.pythonPath?.length ? { PYTHONPATH: prependPythonPath(options.pythonPath) } : {}),
    },
  });
  if (result.timedOut) {
    throw new ConfigError(`${stageFile.shown}: ${functionName}() did not finish within ${timeoutMs / 1000} s; it must only build and return a value`);
  }
  let report: CallerReport;
  try {
    report = JSON.parse(result.stdout) as CallerReport;
  } catch {
    const tail = result.stderr.trim().split('\n').slice(-2).join(' | ');
    throw new EnvironmentError(`${stageFile.shown}: running it with ${options.python} failed (exit ${result.exitCode})${tail ? `: ${tail}` : ''}`);
  }
  if ('ok' in report) return report.ok;
  const at = report.line ? `${stageFile.shown}:${report.line}` : stageFile.shown;
  switch (report.error) {
    case 'no-function':
      throw new ConfigError(`${stageFile.shown}: expected a function ${signature}, found none`);
    case 'missing-module':
      throw new ConfigError(missingModuleMessage(at, report.module ?? '', options.python, functionName));
    case 'not-json':
      throw new ConfigError(`${stageFile.shown}: ${functionName}() returned ${report.type}, which is not plain data (dict, list, str, number, bool): ${report.message}`);
    default:
      throw new ConfigError(`${at}: ${functionName}() raised ${report.type}: ${report.message}`);
  }
}

function missingModuleMessage(at: string, module: string, python: string, functionName: string): string {
  const base = `${at}: imports ${module}, which is not installed for ${python}`;
  if (module === 'troposphere' || module === 'awacs') {
    return `${base}; install it for that interpreter (${python} -m pip install troposphere awacs) or have ${functionName} return a plain dict (see lambda-cd create-cf --help)`;
  }
  return `${base}; install it for that interpreter (${python} -m pip install ${module}) or remove the import`;
}
