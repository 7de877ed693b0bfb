/**
 * The Python half of the handler import check (lib/handler-check.ts holds the language-neutral
 * half): with an interpreter of the Runtime's version, unpack the zip and import the handler's
 * module as Lambda would, in one child process with a timeout and no AWS credentials. The child
 * sees the zip's contents, the standard library and the packages Lambda's Python runtime provides
 * itself (boto3, botocore and their dependencies, taken from that interpreter when it has them),
 * nothing else: `python -I -S` ignores PYTHONPATH, the user site and site-packages. One process does
 * it all (version check, unpacking, import): on a loaded CI machine each Python start costs more
 * than the rest of a rebuild.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EnvironmentError } from '../../lib/errors.js';
import { removeAbandonedTemporaries } from '../../lib/atomic.js';
import { runInProcessGroup } from '../../lib/exec.js';
import { excerpt } from '../../lib/redact.js';

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
  /** Where the unpacked tree is kept between runs; none: unpacked afresh. */
  keepDir?: string;
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

/** Time allowed for unpacking, on top of the import's own timeout (which the child enforces itself). */
const UNPACK_ALLOWANCE_MS = 300_000;

/**
 * argv: zip, unpack-to, previous tree, handler, report file, settings (JSON). Exits at once, with a
 * report saying so, when this is not a Python of the wanted version. Unpacks the zip (files the
 * previous check unpacked are hard-linked when the zip's CRC-32 and size for them are the ones
 * recorded and the file still has the size and modification time it was written with: a rebuild
 * with only src/ changed unpacks only src/; the kept tree is lambda-cd's own, in .lambda-cd/, never
 * restored from a CI cache, and a module writing to its files at import changes their time). Puts
 * the tree first on sys.path and the Lambda-provided packages of this interpreter's site-packages
 * last, imports the module under an alarm, and reports what failed and which distribution's file
 * raised it, from the RECORD files of the zip's *.dist-info folders.
 */
const CHECK = String.raw`
import importlib, json, os, platform, shutil, signal, sys, traceback, zipfile
zip_path, root, previous, handler, report_path, settings = sys.argv[1:7]
settings = json.loads(settings)
def report(payload):
    with open(report_path + ".tmp", "w", encoding="utf-8") as out:
        json.dump(payload, out)
    os.replace(report_path + ".tmp", report_path)
version = "%d.%d" % sys.version_info[:2]
if version != settings["version"]:
    report({"wrong_version": version})
    sys.exit(0)
report({"unpacking": True})

def site_folders():
    # With -S, a venv's prefix is not known yet: find it as the site module would.
    import site
    config = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(sys.executable))), "pyvenv.cfg")
    if not os.path.isfile(config):
        return site.getsitepackages()
    with open(config, encoding="utf-8", errors="replace") as f:
        system = any(l.partition("=")[0].strip() == "include-system-site-packages" and l.partition("=")[2].strip().lower() == "true" for l in f)
    return site.getsitepackages([os.path.dirname(config)] + ([sys.base_prefix] if system else []))

def stamp(path):
    info = os.lstat(path)
    return [info.st_size, info.st_mtime_ns]
try:
    with open(previous + ".json", encoding="utf-8") as f:
        index = json.load(f)
except (OSError, ValueError):
    index = {}
written = {}
with zipfile.ZipFile(zip_path) as archive:
    for info in archive.infolist():
        parts = info.filename.rstrip("/").split("/")
        if info.filename.startswith("/") or ".." in parts:
            sys.exit("unsafe name in the zip: %r" % info.filename)
        target = os.path.join(root, *parts)
        if info.is_dir():
            os.makedirs(target, exist_ok=True)
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        cached = os.path.join(previous, *parts) if previous else None
        recorded = index.get(info.filename)
        try:
            if cached and recorded and recorded[:2] == [info.CRC, info.file_size] and recorded[2:] == stamp(cached) and not os.path.islink(cached):
                os.link(cached, target)
                written[info.filename] = recorded
                continue
        except OSError:
            pass
        with archive.open(info) as source, open(target, "wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)
        written[info.filename] = [info.CRC, info.file_size] + stamp(target)
with open(root + ".json", "w", encoding="utf-8") as f:
    json.dump(written, f)
report({"started": True})

provided = os.path.join(os.path.dirname(root), "provided")
os.makedirs(provided, exist_ok=True)
for folder in site_folders():
    for name in settings["provided"]:
        for candidate in (os.path.join(folder, name), os.path.join(folder, name + ".py")):
            link = os.path.join(provided, os.path.basename(candidate))
            if os.path.exists(candidate) and not os.path.exists(link):
                os.symlink(candidate, link)
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
        name, _, version = entry[:-len(".dist-info")].rpartition("-")
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
class TimedOut(BaseException):
    pass
def alarm(signum, frame):
    raise TimedOut()
signal.signal(signal.SIGALRM, alarm)
signal.setitimer(signal.ITIMER_REAL, settings["timeout_seconds"])
module_name, _, function_name = handler.rpartition(".")
try:
    module = importlib.import_module(module_name.replace("/", "."))
    signal.setitimer(signal.ITIMER_REAL, 0)
except TimedOut:
    report({"timed_out": True})
    os._exit(0)  # whatever the module left running (threads) must not hold the process
except BaseException as error:
    signal.setitimer(signal.ITIMER_REAL, 0)
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
    host_can_load = sys.platform == "linux" and platform.machine() == settings["machine"] and minor >= settings["glibc_minor"]
    if isinstance(error, ImportError) and error.path:
        message = message.replace(" (%s)" % error.path, "")
    report({"stood_in": sorted(stood_in), "error": type(error).__name__, "message": message.replace(root + os.sep, "")[:400],
            "missing": getattr(error, "name", None) if isinstance(error, ModuleNotFoundError) else None,
            "file": last[0], "line": last[1], "distribution": owner(last[0]) if last[0] else None, "chain": chain,
            "binary_elsewhere": binary and not host_can_load})
    os._exit(0)
report({"ok": True, "handler": callable(getattr(module, function_name, None)), "stood_in": sorted(stood_in)})
os._exit(0)
`;

/**
 * The tree the last check unpacked, in `<keepDir>/tree` (+ tree.json): replaced by this run's,
 * whatever the outcome. Runs racing for it both end well: the loser's tree is removed.
 */
async function keepTree(keepDir: string, root: string): Promise<void> {
  const tree = path.join(keepDir, 'tree');
  const trash = path.join(keepDir, `.work-old-${process.pid}-${randomBytes(4).toString('hex')}`);
  await rename(tree, trash).catch(() => undefined);
  await rm(`${tree}.json`, { force: true });
  const moved = await rename(root, tree).then(() => true, () => false);
  if (moved) await rename(`${root}.json`, `${tree}.json`).catch(() => undefined);
  await rm(trash, { recursive: true, force: true });
}

/** Runs the check with --python if it has the version, else with python3.X from PATH (a pyenv shim that fails does not count). */
export async function importHandler(options: PythonImportCheckOptions): Promise<PythonImportOutcome> {
  const tried = [...new Set([options.python, `python${options.pythonVersion}`])];
  for (const interpreter of tried) {
    const outcome = await checkWith(interpreter, options);
    if (outcome) return outcome;
  }
  return { kind: 'no-interpreter', tried };
}

/** The outcome with `interpreter`, or undefined when it is not a Python of the wanted version (or none at all). */
async function checkWith(interpreter: string, options: PythonImportCheckOptions): Promise<PythonImportOutcome | undefined> {
  // Beside the kept tree (hard links and renames stay within one file system); no keepDir: a temporary folder.
  const keepDir = options.keepDir && path.resolve(options.keepDir);
  if (keepDir) {
    await mkdir(keepDir, { recursive: true });
    await removeAbandonedTemporaries(keepDir);
  }
  const work = await mkdtemp(keepDir ? path.join(keepDir, '.work-') : path.join(tmpdir(), 'lambda-cd-import-check-'));
  const root = path.join(work, 'task');
  const reportFile = path.join(work, 'report.json');
  let unpacked = false;
  try {
    // Nothing of ours: no credentials, no profiles, no instance or container metadata, no PYTHON* settings.
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: path.join(work, 'home'), LANG: 'C.UTF-8', TZ: ':UTC',
      PYTHONDONTWRITEBYTECODE: '1', PYTHONIOENCODING: 'utf-8',
      AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_EC2_METADATA_DISABLED: 'true',
      LAMBDA_TASK_ROOT: root, ...options.lambdaEnv,
    };
    const settings = {
      version: options.pythonVersion, provided: LAMBDA_PROVIDED, machine: options.machine, glibc_minor: options.glibcMinor, timeout_seconds: options.timeoutMs / 1000,
    };
    const previous = keepDir ? path.join(keepDir, 'tree') : '';
    let result;
    try {
      result = await runInProcessGroup(interpreter, ['-I', '-S', '-c', CHECK, path.resolve(options.zipFile), root, previous, options.handler, reportFile, JSON.stringify(settings)], {
        env, cwd: work, timeoutMs: options.timeoutMs + UNPACK_ALLOWANCE_MS,
      });
    } catch (error) {
      if (error instanceof EnvironmentError) return undefined; // not on PATH
      throw error;
    }
    const report = await readFile(reportFile, 'utf8').then((text) => JSON.parse(text) as Record<string, unknown>, () => undefined);
    // No report: not a Python at all (a pyenv shim that fails); another version: not the one wanted.
    if (!report || report.wrong_version) return undefined;
    if (report.unpacking) {
      throw new EnvironmentError(`${interpreter}: could not unpack the zip for the import check${result.timedOut ? ' (timed out)' : ''}: ${excerpt(result.output, { maxLines: 2, fromEnd: true })}`);
    }
    unpacked = true;
    if (report.timed_out || result.timedOut) return { kind: 'timed-out', interpreter };
    if (report.started && !('ok' in report) && !('error' in report)) {
      return { kind: 'crashed', interpreter, how: result.signal ? `signal ${result.signal}` : `exit ${result.exitCode}`, output: result.output };
    }
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
    if (unpacked && keepDir) await keepTree(keepDir, root).catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}
