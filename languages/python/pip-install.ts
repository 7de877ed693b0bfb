/**
 * One `pip install` run, as the test runners need it: progress while it runs (a heartbeat
 * naming what pip is doing, read from pip's own log), and on failure the right error: an index
 * pip could not reach is an environment failure (exit 3) naming that index and where it was
 * set (a requirements file's line, --index-url, PIP_INDEX_URL, pip's configuration); anything
 * else is judged by pipFailure (a requirement no index offers is the repository's, exit 2).
 *
 * pip prints which index failed only at debug level, never with --quiet: every run writes its
 * debug log (`--log`) to a temporary file, read only when it fails.
 */
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EnvironmentError, type LambdaCdError } from '../../lib/errors.js';
import { run } from '../../lib/exec.js';
import { withHeartbeat } from '../../lib/output.js';
import { pipFailure } from '../../lib/python.js';
import { escapeControl, safeName } from '../../lib/redact.js';

/** An index URL and where it came from, for the message when it cannot be reached. */
export interface IndexSource {
  url: string;
  /** `tests/unittests/requirements.txt line 1`, `--index-url`, `PIP_INDEX_URL`, ... */
  where: string;
}

export interface PipInstallRequest {
  python: string;
  /** Arguments after `pip install`. */
  args: string[];
  cwd: string;
  /** Progress label (`unit-test`). */
  step: string;
  /** For the heartbeat: `installing requirements.txt`. */
  what: string;
  /** The requirement files of this run, as messages name them. */
  label: string;
  indexSources: IndexSource[];
}

export type PipInstallResult =
  | { ok: true; stdout: string }
  | {
      ok: false;
      error: LambdaCdError | Error;
      /** pip could not reach an index or a download. */
      unreachable: boolean;
      /** `boto3==1.28.72` from "No matching distribution found for ...". */
      missing?: string;
      /** pip saw no version at all of the missing project. */
      noVersions: boolean;
      stderr: string;
    };

export async function pipInstall(request: PipInstallRequest): Promise<PipInstallResult> {
  const scratch = await mkdtemp(path.join(tmpdir(), 'lambda-cd-pip-'));
  const logFile = path.join(scratch, 'pip.log');
  const poll = () => lastActivity(logFile).catch(() => undefined);
  try {
    const args = ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--progress-bar', 'off', '--log', logFile, ...request.args];
    // From the repository: local paths in requirement files mean the same for every run.
    const result = await withHeartbeat(request.step, request.what, () => run(request.python, args, { cwd: request.cwd }), poll);
    if (result.exitCode === 0) return { ok: true, stdout: result.stdout };
    const log = await readFile(logFile, 'utf8').catch(() => '');
    const missing = /No matching distribution found for (.+)$/m.exec(result.stderr)?.[1]?.trim();
    const noVersions = /\(from versions: none\)/.test(result.stderr);
    const failure = unreachableIndex(log, result.stderr, request.indexSources);
    if (failure && (missing !== undefined || NETWORK_FAILURE.test(result.stderr))) {
      return { ok: false, error: new EnvironmentError(`${request.label}: ${failure}`), unreachable: true, missing, noVersions, stderr: result.stderr };
    }
    const error = pipFailure(result.stderr, request.label);
    return { ok: false, error, unreachable: NETWORK_FAILURE.test(result.stderr), missing, noVersions, stderr: result.stderr };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

const NETWORK_FAILURE = /ConnectionError|NewConnectionError|Failed to establish a new connection|Max retries exceeded|ProxyError|SSLError|Read timed out|ConnectTimeout|Temporary failure in name resolution|NameResolutionError|Name or service not known/;

/** HTTP answers that mean the index is there but refuses or fails us (404 only means "no such project"). */
const UNREACHABLE_STATUS = /^(401|403|407|5\d\d)\b/;

/** The last thing pip's log says it is doing: `Collecting moto`, `Downloading botocore-...`. */
async function lastActivity(logFile: string): Promise<string | undefined> {
  const handle = await open(logFile, 'r');
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, 16 * 1024);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const lines = buffer.toString('utf8').split('\n').reverse();
    const line = lines.map((text) => text.replace(/^\S+\s+/, '').trim()).find((text) => /^(Collecting|Downloading|Processing|Installing collected packages|Building wheel|Obtaining) /.test(text));
    return line === undefined ? undefined : safeName(line.replace(/\s+\(from .*$/, ''), 160);
  } finally {
    await handle.close();
  }
}

/**
 * "pip could not reach the package index URL (where it was set): reason" when pip's debug log
 * shows an index (or download) it could not fetch; undefined when every fetch was answered.
 */
export function unreachableIndex(log: string, stderr: string, sources: IndexSource[]): string | undefined {
  for (const match of log.matchAll(/Could not fetch URL (\S+?):\s+(.*?)(?:\s+-\s+skipping)?\s*$/gm)) {
    const [, url, detail] = match as unknown as [string, string, string];
    const status = /(\d{3}) (?:Client|Server) Error/.exec(detail)?.[1];
    // A refused or failed connection, a TLS or proxy failure, or retries that ran out on 5xx answers.
    const connection = /^connection error|problem confirming the ssl certificate|SSLError|ProxyError|timed out|Max retries exceeded|too many \d{3} error responses/i.test(detail);
    if (!connection && !(status && UNREACHABLE_STATUS.test(status))) continue;
    return `pip could not reach the package index ${describeUrl(url, sources)}: ${reason(detail)}; check the URL, the network and any proxy`;
  }
  // A download that failed after the index answered: pip's final error names the host (a retry
  // that later succeeded stays in the log only, so the log is not read for this).
  const host = /host='([^']+)', port=(\d+)/.exec(stderr);
  if (host && NETWORK_FAILURE.test(stderr)) {
    const url = sources.find((source) => hostOf(source.url) === host[1]);
    const shown = url ? `${safeName(url.url)} (${url.where})` : `at ${escapeControl(host[1]!)}:${host[2]}`;
    return `pip could not reach the package index ${shown}: ${reason(stderr)}; check the URL, the network and any proxy`;
  }
  return undefined;
}

/** The index a failed URL belongs to, as the user wrote it, and where it was set. */
function describeUrl(failed: string, sources: IndexSource[]): string {
  const target = normalize(failed);
  const source = sources
    .filter((candidate) => target.startsWith(`${normalize(expandVariables(candidate.url))}/`) || target === normalize(expandVariables(candidate.url)))
    .sort((a, b) => b.url.length - a.url.length)[0];
  if (source) return `${safeName(source.url)} (${source.where})`;
  const index = failed.replace(/\/[^/]+\/?$/, ''); // .../simple/<project>/ -> .../simple
  return `${safeName(index)} (${/^https:\/\/pypi\.org\//.test(failed) ? "pip's default index" : "pip's configuration"})`;
}

/** pip's long urllib3 text as a few words. */
function reason(detail: string): string {
  if (/Connection refused/i.test(detail)) return 'connection refused';
  if (/Name or service not known|nodename nor servname|Temporary failure in name resolution|NameResolutionError|getaddrinfo failed|Failed to resolve/i.test(detail)) return 'the host name does not resolve';
  if (/CERTIFICATE_VERIFY_FAILED|certificate verify failed/i.test(detail)) return 'its TLS certificate is not trusted (PIP_CERT, pip.conf cert)';
  if (/ProxyError|Tunnel connection failed/i.test(detail)) return 'the proxy failed';
  if (/timed out|ConnectTimeout|ReadTimeout/i.test(detail)) return 'timed out';
  const retried = /too many (\d{3}) error responses/.exec(detail)?.[1];
  if (retried) return `it answered HTTP ${retried}`;
  const status = /(\d{3} (?:Client|Server) Error: [^\n]*?)(?: for url|$)/.exec(detail)?.[1];
  if (status) return safeName(status, 80);
  if (/Network is unreachable/i.test(detail)) return 'network unreachable';
  return safeName(detail.split('\n')[0]!, 120);
}

function normalize(url: string): string {
  return url.replace(/\/\/[^/@\s]*@/, '//').replace(/\/+$/, '').replace(/^[a-z]+:\/\/[^/]+/i, (origin) => origin.toLowerCase());
}

function hostOf(url: string): string | undefined {
  return /^[a-z][a-z0-9+.-]*:\/\/(?:[^/@\s]*@)?([^/:]+)/i.exec(url)?.[1];
}

/** pip expands ${VAR} in requirement files; the message shows the line as written, matching uses the value. */
function expandVariables(text: string): string {
  return text.replace(/\$\{([A-Z0-9_]+)\}/g, (whole, name: string) => process.env[name] ?? whole);
}
