/**
 * The Python half of the handler import check (lib/handler-check.ts holds the language-neutral
 * half): find an interpreter of the Runtime's version, unpack the zip, and import the handler's
 * module as Lambda would, in a child process with a timeout and no AWS credentials. The child
 * sees the zip's contents, the standard library and the packages Lambda's Python runtime provides
 * itself (boto3, botocore and their dependencies, taken from that interpreter when it has them),
 * nothing else: `python -I -S` ignores PYTHONPATH, the user site and site-packages.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EnvironmentError } from './errors.js';
import { runInProcessGroup, runQuick } from './exec.js';

/**
 * Packages the Lambda Python runtime provides (boto3 and what it needs), by import name: taken from
 * the checking interpreter when it has them; boto3, botocore and s3transfer are stood in for otherwise.
 */
export const LAMBDA_PROVIDED = ['boto3', 'botocore', 's3transfer', 'jmespath', 'dateutil', 'six', 'urllib3'];

export interface PythonImportCheckOptions {
  zipFile: string;
  /** `module.function` as in config.yaml (`pkg/mod.handler` works too). */
  handler: string;
  /** "3.12" */
  pythonVersion: string;
  /** --python: used when it is of that version. */
  python: string;
  timeoutMs: number;
  /** Values Lambda sets that a module may read at import (region, function name). */
  lambdaEnv: Record<string, string>;
  /** Lambda's CPU as Python names it (x86_64, aarch64) and its glibc minor version: where the zip's binaries load. */
  machine: string;
  glibcMinor: number;
}

/** What went wrong, with the files and distributions involved, for lib/handler-check.ts to phrase. */
export interface ImportFailure {
  /** ImportError, ModuleNotFoundError, SyntaxError, ... */
  type: string;
  message: string;
  /** The missing module of a ModuleNotFoundError. */
  missing?: string;
  /** Where it was raised (a file inside the zip, with line), and what owns that file. */
  file?: string;
  line?: number;
  distribution?: string;
  /** Owners of the zip's files on the way there, outermost first ("src" for the function's code). */
  chain: string[];
  /** Compiled code failed to load, and this machine could not load Lambda's binaries anyway (musl, another CPU, older glibc). */
  binaryElsewhere: boolean;
}

export type PythonImportOutcome =
  | { kind: 'ok'; interpreter: string; standIns: string[] }
  | { kind: 'no-interpreter'; tried: string[] }
  | { kind: 'raised'; interpreter: string; failure: ImportFailure }
  | { kind: 'no-handler'; interpreter: string }
  | { kind: 'timed-out'; interpreter: string }
  | { kind: 'crashed'; interpreter: string; how: string; output: string };

/** An interpreter of `version`: --python if it is one, else python3.X on PATH (a pyenv shim that fails does not count). */
export async function findPython(version: string, python: string): Promise<{ found?: string; tried: string[] }> {
  const candidates = [...new Set([python, `python${version}`])];
  for (const candidate of candidates) {
    const probe = await runQuick(candidate, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { timeoutMs: 20_000 }).catch(() => undefined);
    if (probe?.exitCode === 0 && probe.stdout.trim() === version) return { found: candidate, tried: candidates };
  }
  return { tried: candidates };
}

/** Unpacks the zip, and names this interpreter's site-packages (a venv's needs the site module to be found). */
const EXTRACT = String.raw`
import json, site, sys, zipfile
zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])
print(json.dumps(site.getsitepackages()))
`;

/**
 * Runs in `python -I -S`: sys.path is the standard library only. Puts the unpacked zip first and
 * links the Lambda-provided packages the interpreter's site-packages hold last, imports the
 * module, and reports (argv[4]) what failed and which distribution's file raised it, from the
 * RECORD files of the zip's *.dist-info folders.
 */
const IMPORTER = String.raw`
import importlib, json, os, platform, sys, traceback
root, handler, provided_names, report_path, lambda_target, site_folders = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4], json.loads(sys.argv[5]), json.loads(sys.argv[6])
def report(payload):
    with open(report_path + ".tmp", "w", encoding="utf-8") as out:
        json.dump(payload, out)
    os.replace(report_path + ".tmp", report_path)
provided = os.path.join(os.path.dirname(root), "provided")
os.makedirs(provided, exist_ok=True)
for folder in site_folders:
    for name in provided_names:
        for candidate in (os.path.join(folder, name), os.path.join(folder, name + ".py")):
            target = os.path.join(provided, os.path.basename(candidate))
            if os.path.exists(candidate) and not os.path.exists(target):
                os.symlink(candidate, target)
sys.path.insert(0, root)
sys.path.append(provided)
os.chdir(root)
# boto3, botocore and s3transfer are Lambda's: when this Python lacks them, stand-ins (any attribute,
# any call, capitalised names are exception classes) let the import go on to the zip's own code.
# Found last: the zip's own copy, or this Python's, wins.
import importlib.abc, importlib.machinery, types
stood_in = set()
class Anything:
    def __init__(self, *args, **kwargs): pass
    def __call__(self, *args, **kwargs): return Anything()
    def __getattr__(self, name):
        if name.startswith("__"): raise AttributeError(name)
        return Anything()
    def __iter__(self): return iter(())
class StandInModule(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"): raise AttributeError(name)
        if name[:1].isupper():
            return type(name, (Exception,), {"__init__": lambda self, *args, **kwargs: Exception.__init__(self, *args)})
        return Anything()
class StandIns(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("boto3", "botocore", "s3transfer"):
            stood_in.add(name.split(".")[0])
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None
    def create_module(self, spec): return StandInModule(spec.name)
    def exec_module(self, module): module.__path__ = []
sys.meta_path.append(StandIns())
owners = {}
for entry in os.listdir(root):
    if entry.endswith(".dist-info") and os.path.isfile(os.path.join(root, entry, "RECORD")):
        name, version = entry[:-len(".dist-info")].rsplit("-", 1)[0], entry[:-len(".dist-info")].rsplit("-", 1)[-1]
        try:
            with open(os.path.join(root, entry, "METADATA"), encoding="utf-8", errors="replace") as metadata:
                for line in metadata:
                    if line.startswith("Name:"): name = line[5:].strip()
                    elif line.startswith("Version:"): version = line[8:].strip()
                    elif not line.strip(): break
        except OSError:
            pass
        with open(os.path.join(root, entry, "RECORD"), encoding="utf-8", errors="replace") as record:
            for line in record:
                owners[line.split(",")[0]] = name + " " + version
def inside(filename):
    if not filename or filename.startswith("<"):
        return None  # <frozen os>, <string>: not a file
    path = os.path.abspath(filename)
    return os.path.relpath(path, root).replace(os.sep, "/") if path.startswith(root + os.sep) else None
def owner(relative):
    return owners.get(relative, "src")
module_name, _, function_name = handler.rpartition(".")
module_name = module_name.replace("/", ".")
try:
    module = importlib.import_module(module_name)
except BaseException as error:
    frames = [(inside(frame.filename), frame.lineno) for frame in traceback.extract_tb(error.__traceback__)]
    frames = [(relative, line) for relative, line in frames if relative]
    if isinstance(error, SyntaxError) and error.filename and inside(error.filename):
        frames.append((inside(error.filename), error.lineno))
    chain = []
    for relative, _ in frames:
        if not chain or chain[-1] != owner(relative):
            chain.append(owner(relative))
    last = frames[-1] if frames else (None, None)
    message = str(error)
    # Compiled code that would not load: is that the zip's fault, or this machine's (musl, another CPU, older glibc)?
    binary = isinstance(error, ImportError) and (str(error.path or "").endswith(".so") or ".so" in message or "GLIBC_" in message)
    if isinstance(error, ModuleNotFoundError) and error.name:
        # An extension built for another CPU has a suffix this Python does not look for (.cpython-312-aarch64-linux-gnu.so).
        base = os.path.join(root, *error.name.split("."))
        folder = os.path.dirname(base)
        binary = binary or (os.path.isdir(folder) and any(entry.startswith(os.path.basename(base) + ".") and entry.endswith(".so") for entry in os.listdir(folder)))
    libc, libc_version = platform.libc_ver()
    minor = int(libc_version.split(".")[1]) if libc == "glibc" and "." in libc_version else -1
    host_can_load = sys.platform == "linux" and platform.machine() == lambda_target["machine"] and minor >= lambda_target["glibc_minor"]
    if isinstance(error, ImportError) and error.path:
        message = message.replace(" (%s)" % error.path, "")
    report({"stood_in": sorted(stood_in), "error": type(error).__name__, "message": message.replace(root + os.sep, "")[:400],
            "missing": getattr(error, "name", None) if isinstance(error, ModuleNotFoundError) else None,
            "file": last[0], "line": last[1], "distribution": owner(last[0]) if last[0] else None, "chain": chain,
            "binary_elsewhere": binary and not host_can_load})
    sys.exit(0)
report({"ok": True, "handler": callable(getattr(module, function_name, None)), "stood_in": sorted(stood_in)})
`;

/** The JSON list EXTRACT printed last (a .pth file of site-packages may print too). */
function siteFolders(output: string): string {
  const last = output.trim().split('\n').pop() ?? '[]';
  try {
    return JSON.stringify(JSON.parse(last) as string[]);
  } catch {
    return '[]';
  }
}

export async function importHandler(options: PythonImportCheckOptions): Promise<PythonImportOutcome> {
  const { found: interpreter, tried } = await findPython(options.pythonVersion, options.python);
  if (!interpreter) return { kind: 'no-interpreter', tried };
  const work = await mkdtemp(path.join(tmpdir(), 'lambda-cd-import-check-'));
  try {
    const root = path.join(work, 'task');
    const home = path.join(work, 'home');
    // Nothing of ours: no credentials, no profiles, no instance or container metadata, no PYTHON* settings.
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, LANG: 'C.UTF-8', TZ: ':UTC',
      PYTHONDONTWRITEBYTECODE: '1', PYTHONIOENCODING: 'utf-8',
      AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_EC2_METADATA_DISABLED: 'true',
      LAMBDA_TASK_ROOT: root, ...options.lambdaEnv,
    };
    const extract = await runInProcessGroup(interpreter, ['-I', '-c', EXTRACT, options.zipFile, root], { env, timeoutMs: 300_000 });
    if (extract.exitCode !== 0) throw new EnvironmentError(`${interpreter}: could not unpack the zip for the import check (exit ${extract.exitCode ?? extract.signal})`);
    const reportFile = path.join(work, 'report.json');
    const result = await runInProcessGroup(interpreter, ['-I', '-S', '-c', IMPORTER, root, options.handler, JSON.stringify(LAMBDA_PROVIDED), reportFile,
      JSON.stringify({ machine: options.machine, glibc_minor: options.glibcMinor }), siteFolders(extract.output)], {
      env, cwd: work, timeoutMs: options.timeoutMs,
    });
    if (result.timedOut) return { kind: 'timed-out', interpreter };
    const report = await readFile(reportFile, 'utf8').then((text) => JSON.parse(text) as Record<string, unknown>, () => undefined);
    if (!report) return { kind: 'crashed', interpreter, how: result.signal ? `signal ${result.signal}` : `exit ${result.exitCode}`, output: result.output };
    if (report.ok) return report.handler ? { kind: 'ok', interpreter, standIns: report.stood_in as string[] } : { kind: 'no-handler', interpreter };
    return {
      kind: 'raised',
      interpreter,
      failure: {
        type: String(report.error), message: String(report.message), missing: (report.missing as string | null) ?? undefined,
        file: (report.file as string | null) ?? undefined, line: (report.line as number | null) ?? undefined,
        distribution: (report.distribution as string | null) ?? undefined, chain: report.chain as string[], binaryElsewhere: report.binary_elsewhere === true,
      },
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
