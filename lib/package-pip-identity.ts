/**
 * Which pip `--python` runs, told without starting Python. A cache entry records the pip that
 * resolved it, and a reuse checks it is still that pip; asking Python costs a process start as
 * long as the rest of a src/-only rebuild. So the resolve records where that pip's code is and
 * what decides which pip Python imports, and a reuse compares those by file status:
 *  - the interpreter file (PATH lookup done here as the shell does, then realpath), only when it
 *    is the very file Python reports as sys.executable (a pyenv shim or a wrapper script chooses
 *    the interpreter at run time: then Python is always asked);
 *  - pip's `__init__.py` (where pip keeps its `__version__`: an upgrade rewrites it);
 *  - the variables that move sys.path (PYTHONPATH, PYTHONHOME, PYTHONUSERBASE, PYTHONNOUSERSITE,
 *    PYTHONSAFEPATH, VIRTUAL_ENV, HOME), by hash; whether a user-site pip exists; and that no
 *    `pip` folder in the working directory would shadow it.
 * Any difference, or anything unreadable, means "ask Python", as before.
 */
import { createHash } from 'node:crypto';
import { existsSync, realpathSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';

/** What the resolving pip run reports about itself (lib/lambda-resolve.ts writes it). */
export interface PipReport {
  executable: string;
  pipFile: string;
  userSite?: string;
}

/** Recorded in the cache entry. */
export interface PipIdentity {
  pipFile: string;
  userSite: string;
  fingerprint: string;
}

const PATH_VARIABLES = ['PYTHONPATH', 'PYTHONHOME', 'PYTHONUSERBASE', 'PYTHONNOUSERSITE', 'PYTHONSAFEPATH', 'VIRTUAL_ENV', 'HOME'];

/** The identity to record, or undefined when `python` is not the interpreter itself (or anything is unreadable). */
export function pipIdentity(python: string, report: PipReport | undefined): PipIdentity | undefined {
  if (!report || typeof report.executable !== 'string' || typeof report.pipFile !== 'string' || !path.isAbsolute(report.pipFile)) return undefined;
  const executable = interpreterFile(python);
  if (!executable || executable.real !== realpath(report.executable)) return undefined;
  const userSite = typeof report.userSite === 'string' && path.isAbsolute(report.userSite) ? report.userSite : '';
  const fingerprint = fingerprintOf(executable, report.pipFile, userSite);
  return fingerprint ? { pipFile: report.pipFile, userSite, fingerprint } : undefined;
}

/** True when `python` would still import the pip `identity` recorded (so the recorded version stands). */
export function samePip(python: string, identity: PipIdentity | undefined): boolean {
  if (!identity || typeof identity.pipFile !== 'string' || !path.isAbsolute(identity.pipFile) || typeof identity.userSite !== 'string' || typeof identity.fingerprint !== 'string') return false;
  const executable = interpreterFile(python);
  return executable !== undefined && fingerprintOf(executable, identity.pipFile, identity.userSite) === identity.fingerprint;
}

function fingerprintOf(executable: { named: string; real: string }, pipFile: string, userSite: string): string | undefined {
  if (existsSync(path.join(process.cwd(), 'pip'))) return undefined; // `python -c` puts the working directory first on sys.path
  const python = stats(executable.real);
  const pip = stats(pipFile);
  if (!python || !pip) return undefined;
  const hash = createHash('sha256');
  const add = (label: string, value: string) => hash.update(`${label}\0${value.length}\0${value}`);
  const status = (info: Stats) => `${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`;
  // The name as found (a venv's bin/python and the base one are one file, with another pip), its venv, the file itself.
  const venv = stats(path.join(path.dirname(path.dirname(executable.named)), 'pyvenv.cfg'));
  add('python', `${executable.named}\0${executable.real}\0${status(python)}\0${venv ? status(venv) : 'no venv'}`);
  add('pip', `${pipFile}\0${status(pip)}`);
  for (const name of PATH_VARIABLES) add(name, process.env[name] ?? '\0unset');
  add('user-site-pip', userSite === '' ? 'disabled' : String(existsSync(path.join(userSite, 'pip'))));
  return hash.digest('hex');
}

/** The interpreter file `python` names: a path, or the first match on PATH (as execvp finds it), and where it resolves to. */
function interpreterFile(python: string): { named: string; real: string } | undefined {
  const found = (named: string) => {
    const real = realpath(named);
    return real === undefined ? undefined : { named, real };
  };
  if (python.includes('/')) return found(path.resolve(python));
  for (const folder of (process.env.PATH ?? '').split(path.delimiter)) {
    if (folder === '') continue;
    const candidate = path.join(folder, python);
    const info = stats(candidate);
    if (info?.isFile() && (info.mode & 0o111) !== 0) return found(candidate);
  }
  return undefined;
}

function realpath(file: string): string | undefined {
  try {
    return realpathSync(file);
  } catch {
    return undefined;
  }
}

function stats(file: string): Stats | undefined {
  try {
    return statSync(file);
  } catch {
    return undefined;
  }
}
