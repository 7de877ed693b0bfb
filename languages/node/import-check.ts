/**
 * The handler import check for Node.js (the Python one is lib/handler-check.ts): the built zip is
 * unpacked into a fresh temporary folder (outside the repository, so its node_modules/ cannot
 * stand in for a missing dependency) and the handler's file is loaded there as Lambda loads it,
 * in a child `node` without AWS credentials and with a timeout; the handler must be a function.
 * The AWS SDK v3 resolves from lambda-cd's own copy, as Lambda's runtime provides it.
 */
import { closeSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CheckFailedError } from '../../lib/errors.js';
import { run } from '../../lib/exec.js';
import { IMPORT_CHECK_TIMEOUT_MS, lambdaEnvironment, type HandlerCheckOptions } from '../../lib/handler-check.js';
import { formatDuration, progress, warn } from '../../lib/output.js';
import { excerpt, safeName } from '../../lib/redact.js';
import { npmCpu } from '../../lib/runtimes.js';
import { readMember, readZipDirectory } from '../../lib/zip-read.js';
import { resolveEnvironment } from './resolve-hook.js';
import { nodeProgram } from './tests.js';

/** Loads the module, finds the (possibly nested) export, writes one JSON line on fd 3... as the last stdout line. */
const LOADER = String.raw`
import { pathToFileURL } from 'node:url';
const [file, name] = process.argv.slice(1);
const out = (value) => process.stdout.write('\nLAMBDA_CD_RESULT ' + JSON.stringify(value) + '\n');
console.log = console.info = console.error;
let loaded;
try {
  loaded = await import(pathToFileURL(file).href);
} catch (error) {
  const text = String(error?.message ?? error);
  const missing = /Cannot find (?:package|module) '([^']+)'/.exec(text)?.[1];
  out({ kind: 'raised', type: error?.name ?? typeof error, code: error?.code, message: text.split('\n')[0].slice(0, 300), missing });
  process.exit(0);
}
const find = (root) => name.split('.').reduce((value, part) => (value == null ? undefined : value[part]), root);
const handler = find(loaded) ?? find(loaded.default);
out({ kind: typeof handler === 'function' ? 'ok' : 'no-handler', found: typeof handler });
process.exit(0);
`;

interface LoadReport {
  kind: 'ok' | 'no-handler' | 'raised';
  found?: string;
  type?: string;
  code?: string;
  message?: string;
  missing?: string;
}

/** Errors no environment fixes: a package or file that is not there, code that does not parse. */
const LOAD_ERRORS = new Set(['ERR_MODULE_NOT_FOUND', 'MODULE_NOT_FOUND', 'ERR_REQUIRE_ESM', 'ERR_UNSUPPORTED_DIR_IMPORT', 'ERR_UNKNOWN_FILE_EXTENSION', 'ERR_PACKAGE_PATH_NOT_EXPORTED', 'ERR_DLOPEN_FAILED']);

export async function checkNodeHandler(options: HandlerCheckOptions): Promise<void> {
  const { repository } = options;
  if (!options.enabled) {
    progress('package', 'handler import check skipped (--no-import-check)');
    return;
  }
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? IMPORT_CHECK_TIMEOUT_MS;
  const dir = await mkdtemp(path.join(tmpdir(), 'lambda-cd-import-'));
  try {
    await unpack(options.zipFile, dir);
    const module = repository.handler.replace(/\.[^/]*$/, '');
    const functionName = repository.handler.slice(module.length + 1);
    const file = ['.js', '.mjs', '.cjs'].map((extension) => path.join(dir, `${module}${extension}`)).find((candidate) => existsInZip(candidate));
    const shown = repository.handlerFile;
    if (!file) throw new CheckFailedError(`${shown}: the built zip holds no ${module}.js, .mjs or .cjs for Handler ${repository.handler}; Lambda could not load it`);
    const resolve = await resolveEnvironment({ cacheDir: options.cacheDir ?? path.join(repository.root, '.lambda-cd', 'cache'), first: [] });
    const env = { ...lambdaEnvironment(repository), ...resolve, LAMBDA_TASK_ROOT: dir, AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, AWS_SESSION_TOKEN: undefined, AWS_PROFILE: undefined };
    const result = await run(nodeProgram(), ['--input-type=module', '-e', LOADER, file, functionName], { cwd: dir, env, timeoutMs });
    const line = result.stdout.split('\n').reverse().find((text) => text.startsWith('LAMBDA_CD_RESULT '));
    const took = formatDuration(performance.now() - started);
    if (result.timedOut) {
      warn(`${shown}: loading the handler's module did not finish within ${timeoutMs / 1000} s (does its top level wait for the network?); the import check is not counted`);
      return;
    }
    if (!line) throw new CheckFailedError(`${shown}: loading the handler's module from the zip ended node (exit ${result.exitCode})${result.stderr.trim() ? `: ${excerpt(result.stderr, { maxLines: 2, fromEnd: true })}` : ''}; Lambda could not start it either`);
    judge(JSON.parse(line.slice('LAMBDA_CD_RESULT '.length)) as LoadReport, shown, repository.handler, took, npmCpu(repository.architecture));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function judge(report: LoadReport, shown: string, handler: string, took: string, cpu: string): void {
  const functionName = handler.slice(handler.replace(/\.[^/]*$/, '').length + 1);
  if (report.kind === 'ok') {
    progress('package', `handler ${handler} loads from the zip on Node.js ${process.versions.node} (${took})`);
    return;
  }
  if (report.kind === 'no-handler') throw new CheckFailedError(`${shown}: the module loads but exports no function ${safeName(functionName)} (found ${report.found}) for Handler ${handler}; Lambda could not call it`);
  const error = `${safeName(report.type ?? 'Error')}${report.code ? ` ${report.code}` : ''}: ${safeName(report.message ?? '', 240)}`;
  if (report.missing?.startsWith('@aws-sdk/')) {
    progress('package', `handler import check incomplete: the module imports ${safeName(report.missing)}, which Lambda provides, but lambda-cd has no copy of it to stand in; checked up to there`);
    return;
  }
  // Lambda's binaries (linux, its CPU, glibc) need not load here: a native failure on another CPU or C library proves nothing.
  const native = report.code === 'ERR_DLOPEN_FAILED' || /native binding|\.node\b|ELF/i.test(report.message ?? '');
  if (native && (cpu !== process.arch || process.platform !== 'linux' || hostIsMusl())) {
    progress('package', `handler import check incomplete: native code in the zip is built for Lambda (linux ${cpu}, glibc) and cannot load on this machine (${process.platform} ${process.arch}${hostIsMusl() ? ', musl' : ''}); checked up to there`);
    return;
  }
  const loadError = report.type === 'SyntaxError' || LOAD_ERRORS.has(report.code ?? '');
  if (!loadError) {
    warn(`${shown}: loading the handler's module raised ${error} (without the stage's environment variables and AWS credentials); not counted, as it may work in Lambda`);
    return;
  }
  const advice = report.missing
    ? `nothing in the zip provides ${safeName(report.missing)}: add it to "dependencies" in package.json (devDependencies are not packaged)`
    : report.code === 'ERR_REQUIRE_ESM' || /import statement outside a module|Unexpected token 'export'/.test(report.message ?? '')
      ? 'ESM code in a file Lambda loads as CommonJS: name it .mjs, or set "type": "module" in package.json'
      : 'fix the code';
  throw new CheckFailedError(`${shown}: the handler's module does not load from the built zip: ${error}; ${advice} (--no-import-check skips this check)`);
}

/** Alpine and other musl systems cannot load glibc binaries. */
function hostIsMusl(): boolean {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return process.platform === 'linux' && !report?.header?.glibcVersionRuntime;
}

const unpacked = new Set<string>();
function existsInZip(file: string): boolean {
  return unpacked.has(file);
}

/** Every member of the zip into `dir` (names were checked when the zip was written). */
async function unpack(zipFile: string, dir: string): Promise<void> {
  const fd = openSync(zipFile, 'r');
  try {
    for (const member of readZipDirectory(fd)) {
      const target = path.join(dir, member.name);
      if (member.name.endsWith('/')) {
        await mkdir(target, { recursive: true });
        continue;
      }
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, await readMember(fd, member), { mode: member.unixMode & 0o777 || 0o644 });
      unpacked.add(target);
    }
  } finally {
    closeSync(fd);
  }
}
