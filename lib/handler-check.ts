/**
 * `package` checks that the function can start before anything is deployed: the handler's module
 * must import from the built zip alone, on the Runtime's language version, as Lambda imports it.
 * A 2018 pin such as requests==2.18.4 (urllib3 1.22: `from collections import Mapping`, gone in
 * Python 3.10) otherwise deploys fine and fails on every invocation. Importing runs the module's
 * top level, so it runs in a child process with a timeout and no AWS credentials.
 *
 * This file decides what a result means and how to say it; the language-specific part (finding
 * an interpreter, unpacking, importing) is in languages/python/python-import-check.ts.
 */
import path from 'node:path';
import type { RepositoryConfig } from './contract.js';
import { CheckFailedError } from './errors.js';
import { formatDuration, progress, warn } from './output.js';
import type { ImportFailure } from '../languages/python/python-import-check.js';
import { excerpt, safeName } from './redact.js';
import { RUNTIMES, wheelMachine } from './runtimes.js';

/** How long importing the handler's module may take (Lambda's own init phase allows 10 s; machines here are slower). */
export const IMPORT_CHECK_TIMEOUT_MS = 30_000;

export interface HandlerCheckOptions {
  /** The built zip (before it is renamed into place). */
  zipFile: string;
  repository: RepositoryConfig;
  /** --python: used when it has the Runtime's version. */
  python: string;
  /** False with --no-import-check. */
  enabled: boolean;
  /** lambda-cd's cache (Node.js: where the resolve hook lives). */
  cacheDir?: string;
  timeoutMs?: number;
}

/** Throws CheckFailedError (exit 1) when the handler cannot be imported; says why when the check cannot run. */
export async function checkHandler(options: HandlerCheckOptions): Promise<void> {
  const { repository } = options;
  if (!options.enabled) {
    progress('package', 'handler import check skipped (--no-import-check)');
    return;
  }
  const runtime = RUNTIMES[repository.runtime]!;
  const version = runtime.pythonVersion;
  const started = performance.now();
  // Loaded only when the check runs: with --no-import-check `package` does not pay for it.
  const { importHandler, LAMBDA_PROVIDED } = await import('../languages/python/python-import-check.js');
  const outcome = await importHandler({
    zipFile: options.zipFile,
    handler: repository.handler,
    pythonVersion: version,
    python: options.python,
    timeoutMs: options.timeoutMs ?? IMPORT_CHECK_TIMEOUT_MS,
    lambdaEnv: lambdaEnvironment(repository),
    // Kept in the repository's .lambda-cd/, not in the cache CI saves: 60 MB unzipped would cost more to
    // upload and restore there than unpacking costs.
    keepDir: path.join(repository.root, '.lambda-cd', 'import-check'),
    machine: wheelMachine(repository.architecture),
    glibcMinor: runtime.glibcMinor,
  });
  const module = repository.handlerFile;
  switch (outcome.kind) {
    case 'ok':
      progress('package', `handler ${repository.handler} imports from the zip on ${outcome.interpreter} (Python ${version}, ${formatDuration(performance.now() - started)})` +
        `${outcome.standIns.length ? `; ${outcome.standIns.join(', ')}, which Lambda provides and ${outcome.interpreter} lacks, stood in by placeholders` : ''}`);
      return;
    case 'no-interpreter':
      progress('package', `handler import check skipped: no Python ${version} for ${repository.runtime} here (tried ${outcome.tried.join(', ')}); pass --python with a Python ${version} to check that the handler imports`);
      return;
    case 'no-handler':
      throw new CheckFailedError(`${module}: the module imports on Python ${version} but has no function ${repository.handler.split('.').pop()} (Handler ${repository.handler}); Lambda could not call it`);
    case 'timed-out':
      warn(`${module}: importing the handler's module did not finish within ${(options.timeoutMs ?? IMPORT_CHECK_TIMEOUT_MS) / 1000} s on ${outcome.interpreter} (does its top level wait for the network?); the import check is not counted`);
      return;
    case 'crashed':
      throw new CheckFailedError(`${module}: importing the handler's module on ${outcome.interpreter} ended the interpreter (${outcome.how})${outcome.output.trim() ? `: ${excerpt(outcome.output, { maxLines: 2, fromEnd: true })}` : ''}; Lambda could not start it either`);
    case 'raised':
      return judge(outcome.failure, module, version, outcome.interpreter, repository.architecture, LAMBDA_PROVIDED);
  }
}

/**
 * Errors that no environment can fix fail the build: the module or something it imports is
 * missing or cannot load on this Python. Anything else raised at import by the function's own
 * code (a KeyError for a variable the stage sets, a client that wants credentials) may well work
 * in Lambda: warn and go on.
 */
function judge(failure: ImportFailure, module: string, version: string, interpreter: string, architecture: string, lambdaProvided: readonly string[]): void {
  const error = `${failure.type}: ${safeName(failure.message, 240)}`;
  const at = failure.file ? `${failure.distribution === 'src' ? `src/${failure.file}` : failure.file}${failure.line ? `:${failure.line}` : ''}` : undefined;
  const via = failure.chain.length > 1 ? `, imported through ${failure.chain.map((owner) => (owner === 'src' ? 'your code' : owner)).slice(0, -1).join(' -> ')}` : '';
  // No environment makes these work: a module or name that is not there, code that does not parse.
  const loadError = ['ImportError', 'ModuleNotFoundError', 'SyntaxError', 'IndentationError', 'TabError', 'NameError', 'UnboundLocalError'].includes(failure.type);
  const top = failure.missing?.split('.')[0];
  if (failure.binaryElsewhere) {
    progress('package', `handler import check incomplete: compiled code of ${failure.distribution && failure.distribution !== 'src' ? failure.distribution : 'the zip'} is built for Lambda (manylinux, ${architecture}) and cannot load on this machine; checked up to there`);
    return;
  }
  if (failure.type === 'ModuleNotFoundError' && top && lambdaProvided.includes(top)) {
    progress('package', `handler import check incomplete: the module imports ${top}, which Lambda provides, but ${interpreter} has no ${top} to stand in for it; checked up to there`);
    return;
  }
  const fromDistribution = failure.distribution !== undefined && failure.distribution !== 'src';
  if (!loadError && !fromDistribution) {
    warn(`${module}: importing the handler's module on Python ${version} raised ${error}${at ? ` at ${at}` : ''} (without the stage's environment variables and AWS credentials); not counted, as it may work in Lambda`);
    return;
  }
  let advice: string;
  if (fromDistribution) {
    advice = `${failure.distribution} does not work on Python ${version}: pin a version of it that does in requirements.txt`;
  } else if (failure.type === 'ModuleNotFoundError') {
    advice = `nothing in the zip provides ${safeName(failure.missing ?? '')}: add the distribution that provides it to requirements.txt`;
  } else {
    advice = 'fix the code';
  }
  throw new CheckFailedError(
    `${module}: the handler's module does not import on Python ${version} from the built zip: ${error}${at ? ` at ${at}` : ''}${fromDistribution ? ` (${failure.distribution}${via})` : ''}; ${advice} (--no-import-check skips this check)`,
  );
}

/** What Lambda's runtime sets that a module's top level may read; never credentials. */
export function lambdaEnvironment(repository: RepositoryConfig): Record<string, string> {
  const region = process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1';
  return {
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_EXECUTION_ENV: `AWS_Lambda_${repository.runtime}`,
    AWS_LAMBDA_FUNCTION_NAME: repository.name,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(repository.settings.memorySize),
    _HANDLER: repository.handler,
  };
}
