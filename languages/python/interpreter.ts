/**
 * What a Python interpreter is, asked once in one process: its version, implementation, CPU,
 * C library and pip. Whether it can load the wheels that ship to Lambda follows from that.
 */
import { EnvironmentError } from '../../lib/errors.js';
import { runQuick } from '../../lib/exec.js';
import { excerpt } from '../../lib/redact.js';
import { RUNTIMES } from '../../lib/runtimes.js';

export interface Interpreter {
  /** `3.12.4` */
  version: string;
  /** `3.12` */
  minor: string;
  /** `cpython`, `pypy`, ... */
  implementation: string;
  /** sys.implementation.cache_tag, e.g. `cpython-312`. */
  cacheTag: string;
  /** platform.machine(): `x86_64`, `aarch64`, `arm64` (macOS). */
  machine: string;
  /** sys.platform: `linux`, `darwin`, ... */
  platform: string;
  /** `glibc`, `musl`, or `` when neither (macOS, Windows). */
  libc: string;
  /** glibc's minor version (`2.36` -> 36); undefined elsewhere. */
  glibcMinor?: number;
  /** pip's version, or undefined when the interpreter has no pip. */
  pip?: string;
}

const PROBE = `
import sys
if sys.path and sys.path[0] == "":
    sys.path.pop(0)  # a json.py where lambda-cd was started must not answer for the standard library
import json, os
libc, glibc = "", None
try:
    name, glibc = os.confstr("CS_GNU_LIBC_VERSION").split()
    libc = "glibc"
except (AttributeError, ValueError, OSError):
    if sys.platform.startswith("linux"):
        import glob, platform
        libc = "musl" if glob.glob("/lib/ld-musl-*") or "musl" in platform.libc_ver()[0] else ""
try:
    import pip
    pip = pip.__version__
except Exception:
    pip = None
print(json.dumps({"version": "%d.%d.%d" % sys.version_info[:3], "implementation": sys.implementation.name,
  "cacheTag": sys.implementation.cache_tag, "machine": os.uname().machine if hasattr(os, "uname") else "", "platform": sys.platform,
  "libc": libc, "glibc": glibc, "pip": pip}))
`;

export async function describeInterpreter(python: string): Promise<Interpreter> {
  // Without execa (its start-up costs more than this probe): a cached rebuild may start no other process before the tests.
  const result = await runQuick(python, ['-c', PROBE]);
  if (result.exitCode !== 0) {
    throw new EnvironmentError(`${python}: cannot run the Python interpreter (exit ${result.exitCode}): ${excerpt(result.stderr, { maxLines: 1, fromEnd: true })}`);
  }
  const raw = JSON.parse(result.stdout.trim().split('\n').pop()!) as Omit<Interpreter, 'minor' | 'glibcMinor'> & { glibc: string | null; pip: string | null };
  const glibcMinor = raw.glibc ? Number(raw.glibc.split('.')[1]) : undefined;
  return {
    version: raw.version,
    minor: raw.version.split('.').slice(0, 2).join('.'),
    implementation: raw.implementation,
    cacheTag: raw.cacheTag ?? '',
    machine: raw.machine,
    platform: raw.platform,
    libc: raw.libc,
    glibcMinor: Number.isFinite(glibcMinor) ? glibcMinor : undefined,
    pip: raw.pip ?? undefined,
  };
}

/** How the tests' interpreter relates to the function's Runtime. */
export type RuntimeFit =
  /** Same CPython minor on a glibc Linux: Lambda's manylinux wheels load here. */
  | { kind: 'lambda-platform'; glibcMinor: number; machine: 'x86_64' | 'aarch64' }
  /** Another Python version: wheels and behaviour may differ. */
  | { kind: 'other-python'; message: string }
  /** The right version, but Lambda's wheels cannot load here (musl, macOS, PyPy, ...). */
  | { kind: 'other-platform'; message: string };

/**
 * Whether `interpreter` can run the wheels that ship for `runtime`, and if not, the one line
 * that says why tests may see something else than Lambda runs.
 */
export function runtimeFit(interpreter: Interpreter, runtime: string, python: string): RuntimeFit {
  const info = RUNTIMES[runtime];
  if (!info) return { kind: 'other-python', message: `Runtime ${runtime} is not a Python runtime lambda-cd knows` };
  const name = interpreter.implementation === 'cpython' ? 'Python' : interpreter.implementation;
  if (interpreter.minor !== info.pythonVersion || interpreter.implementation !== 'cpython') {
    return {
      kind: 'other-python',
      message: `the tests run on ${name} ${interpreter.version} (${python}), but Runtime ${runtime} is Python ${info.pythonVersion}: results may differ on Lambda; run them with --python python${info.pythonVersion} (or in lambda-cd's image for ${runtime})`,
    };
  }
  const machine = interpreter.machine === 'x86_64' || interpreter.machine === 'amd64' ? 'x86_64' : interpreter.machine === 'aarch64' || interpreter.machine === 'arm64' ? 'aarch64' : undefined;
  if (interpreter.platform.startsWith('linux') && interpreter.libc === 'glibc' && interpreter.glibcMinor !== undefined && machine) {
    return { kind: 'lambda-platform', glibcMinor: Math.min(info.glibcMinor, interpreter.glibcMinor), machine };
  }
  const where = interpreter.libc === 'musl' ? 'musl libc (Alpine)' : interpreter.platform.startsWith('linux') ? `${interpreter.machine} Linux without glibc` : interpreter.platform;
  return {
    kind: 'other-platform',
    message: `${python} runs on ${where}, where Lambda's manylinux wheels cannot load: the tests get this machine's wheels of requirements.txt, not the ones that ship (package still installs those)`,
  };
}
