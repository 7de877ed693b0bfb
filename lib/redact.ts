/**
 * Text that lambda-cd did not write itself (a tool's stderr, a line of a user's file, a key
 * taken from a config) must be made safe before it reaches a message: CI logs are read by
 * many and kept for long. Three rules, applied by `excerpt()`:
 *  - values of the process environment and secret-looking values never appear;
 *  - terminal control characters and newlines are escaped (a name cannot move the cursor,
 *    colour the log or forge a second line);
 *  - the text is cut to what names the problem (a few lines, a few hundred characters).
 * Our own wording (paths, option names) is not passed through here.
 */

const MASK = '***';

/** Variables whose values are ordinary and often needed to understand a message. */
const HARMLESS_VARIABLES = new Set([
  'PATH', 'HOME', 'PWD', 'OLDPWD', 'SHELL', 'TERM', 'LANG', 'LANGUAGE', 'USER', 'LOGNAME', 'HOSTNAME', 'TMPDIR', 'TMP', 'TEMP',
  'SHLVL', '_', 'PYTHONPATH', 'VIRTUAL_ENV', 'NODE_ENV', 'COLUMNS', 'LINES', 'TZ', 'EDITOR', 'PAGER', 'NO_COLOR', 'FORCE_COLOR',
  'CI', 'INIT_CWD', 'npm_config_cache', 'npm_config_prefix', 'CODEBUILD_SRC_DIR', 'GITHUB_WORKSPACE', 'CI_PROJECT_DIR',
  // Named by lambda-cd's own messages where they matter; URL credentials in them are still masked.
  'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE', 'AWS_ENDPOINT_URL', 'PIP_INDEX_URL', 'PIP_EXTRA_INDEX_URL', 'PIP_FIND_LINKS',
  // Names the pipelines set for the runners (stack, stage, bucket): they appear in stack names and events.
  'LAMBDA_CD_STACK', 'LAMBDA_CD_STAGE', 'LAMBDA_CD_STAGES', 'LAMBDA_CD_FUNCTION_STACK', 'LAMBDA_CD_ARTIFACT_BUCKET', 'LAMBDA_CD_BRANCH', 'LAMBDA_CD_PATH',
]);
/** A name that says its value is secret, whatever the value looks like. */
const SECRET_NAME = /(SECRET|TOKEN|PASSW|PASSWD|PWD_|CREDENTIAL|PRIVATE|API_?KEY|ACCESS_?KEY|AUTH|SESSION|COOKIE|SIGNATURE|_KEY$|^KEY$)/i;
/**
 * A value of an ordinary variable is masked where it appears only when it looks like a
 * credential or a connection string: long, no spaces, letters and digits, not a plain path.
 * Short words (`lambda-cd` in npm_package_name, a stack or stage name) would otherwise be
 * masked in every message that names them.
 */
function looksLikeCredential(value: string): boolean {
  return value.length >= 16 && !/\s/.test(value) && /[0-9]/.test(value) && /[A-Za-z]/.test(value) && !/^\.{0,2}\//.test(value);
}

/** Patterns of secrets that are recognisable without knowing the environment. */
const SECRET_PATTERNS: RegExp[] = [
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g,
  /\b(?:AKIA|ASIA|AIDA|AROA|ANPA)[A-Z0-9]{16}\b/g, // AWS access key ids
  /\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}\b/g, /\bgithub_pat_[A-Za-z0-9_]{20,}\b/g, /\bglpat-[A-Za-z0-9_-]{20,}\b/g,
  /\bxox[abprs]-[A-Za-z0-9-]{10,}\b/g, /\bnpm_[A-Za-z0-9]{30,}\b/g,
  /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b/g, // JWTs (OIDC tokens)
];
/** `password=...`, `"token": "..."`, `Authorization: Bearer ...`: keep the name, mask the value. */
const SECRET_ASSIGNMENT = /\b([A-Za-z0-9_.-]*(?:secret|token|passw(?:or)?d|pwd|credential|api[_-]?key|access[_-]?key|private[_-]?key|authorization|auth)[A-Za-z0-9_.-]*["']?\s*[:=]\s*["']?)(?:(?:Bearer|Basic|token)\s+)?([^\s"',;&]{4,})/gi;
/** `https://user:password@host/`: credentials in a URL (pip echoes index URLs). */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]+(?::[^\s/@]*)?)@/gi;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The environment values to hide: every value of a secret-named variable, and credential-like values of all others but the harmless. */
function sensitiveValues(env: NodeJS.ProcessEnv): string[] {
  const values = new Set<string>();
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value === '') continue;
    if (SECRET_NAME.test(name) ? value.length >= 4 : looksLikeCredential(value) && !HARMLESS_VARIABLES.has(name) && !/^LC_/.test(name)) {
      values.add(value);
    }
  }
  // Longest first, so a value that contains another is masked whole.
  return [...values].sort((a, b) => b.length - a.length);
}

/** `text` with environment values and secret-looking values replaced by ***. */
export function redactSecrets(text: string, env: NodeJS.ProcessEnv = process.env): string {
  let result = text;
  // `NAME=value` of any variable we have, harmless ones too: that is an environment dump
  // (pip echoing -r /proc/self/environ, `env` output in a test's log).
  const names = Object.keys(env).filter((name) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(name));
  if (names.length > 0) {
    const assignment = new RegExp(`\\b(${names.map(escapeRegExp).join('|')})=([^\\s\\u0000'"]*)`, 'g');
    result = result.replace(assignment, (_match, name: string, value: string) => `${name}=${value === '' ? '' : MASK}`);
  }
  for (const value of sensitiveValues(env)) result = result.split(value).join(MASK);
  for (const pattern of SECRET_PATTERNS) result = result.replace(pattern, MASK);
  result = result.replace(SECRET_ASSIGNMENT, (_match, prefix: string) => `${prefix}${MASK}`);
  result = result.replace(URL_CREDENTIALS, (_match, scheme: string) => `${scheme}${MASK}@`);
  return result;
}

/** Control characters (newlines included) as visible escapes: `\n`, `\t`, `\x1b`, `\u2028`. */
export function escapeControl(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (char) => {
    if (char === '\n') return '\\n';
    if (char === '\r') return '\\r';
    if (char === '\t') return '\\t';
    const code = char.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** A name or value from a user's file, for a message: secrets masked, control characters escaped, length bounded. */
export function safeName(text: string, maxChars = 120): string {
  const escaped = escapeControl(redactSecrets(text));
  return escaped.length > maxChars ? `${escaped.slice(0, maxChars)}...` : escaped;
}

export interface ExcerptOptions {
  /** Lines kept (from the start, or the end with `fromEnd`). Default 3. */
  maxLines?: number;
  /** Characters kept in all. Default 300. */
  maxChars?: number;
  /** Keep the last lines rather than the first (a tool's final lines usually say why it failed). */
  fromEnd?: boolean;
}

/**
 * A tool's output or a file's content cut to a one-line excerpt fit for an error message:
 * blank lines dropped, at most `maxLines` lines joined with " | ", secrets masked, control
 * characters escaped, at most `maxChars` characters.
 */
export function excerpt(text: string, options: ExcerptOptions = {}): string {
  const maxLines = options.maxLines ?? 3;
  const maxChars = options.maxChars ?? 300;
  // Mask before splitting: a secret may span what would become two excerpt lines.
  const lines = redactSecrets(text).split(/\r?\n|\u0000/).map((line) => line.trim()).filter(Boolean);
  const kept = options.fromEnd ? lines.slice(-maxLines) : lines.slice(0, maxLines);
  const joined = kept.map(escapeControl).join(' | ');
  return joined.length > maxChars ? `${joined.slice(0, maxChars)}...` : joined;
}
