/**
 * A stage's environment variables: `config/<Stage>/env.yaml|yml|json` (a flat map), the
 * 2018 `env.py` whose `get_env(stage)` or `get_env()` returns a dict, or its Node.js form
 * `env.mjs|js|cjs` exporting `getEnv(stage)` (languages/node/stage-script.ts). Validated against
 * Lambda's rules here, so a bad name fails the build, not the deployment.
 */
import { isMapping, type RepositoryConfig } from './contract.js';
import { ConfigError } from './errors.js';
import { isIntrinsic, type Intrinsic } from './intrinsics.js';
import { callNodeStageFunction } from '../languages/node/stage-script.js';
import { callStageFunction, findStageFile, readDataFile, type PythonCallOptions } from './stage-files.js';

export const ENV_EXTENSIONS = ['yaml', 'yml', 'json', 'py', 'mjs', 'js', 'cjs'];

/** Lambda's pattern for variable names. */
const NAME_PATTERN = /^[a-zA-Z][a-zA-Z0-9_]+$/;
/** Names the Lambda runtime sets itself (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html). */
const RESERVED = new Set([
  '_HANDLER', '_X_AMZN_TRACE_ID', 'AWS_DEFAULT_REGION', 'AWS_REGION', 'AWS_EXECUTION_ENV', 'AWS_ACCESS_KEY',
  'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'LAMBDA_TASK_ROOT', 'LAMBDA_RUNTIME_DIR',
]);
/** Every AWS_LAMBDA_* name is the runtime's, except the wrapper-script hook users may set. */
const USER_SETTABLE = new Set(['AWS_LAMBDA_EXEC_WRAPPER']);
/** Lambda's limit on all variables together. */
const MAX_TOTAL_BYTES = 4096;
/** Words of a variable name (split at '_') that suggest its value is a credential... */
const SECRET_WORDS = new Set(['PASSWORD', 'PASSWD', 'PWD', 'PASS', 'SECRET', 'SECRETS', 'TOKEN', 'KEY', 'APIKEY', 'PRIVATE', 'CREDENTIAL', 'CREDENTIALS']);
/** ...and parts that do so anywhere in it (DBPASSWORD, GITHUBTOKEN; not KEY: MONKEY is harmless). */
const SECRET_PARTS = /PASSWORD|SECRET|TOKEN|APIKEY/;
const DYNAMIC_REFERENCE = /^\{\{resolve:[a-z-]+:.+\}\}$/;

export interface StageEnv {
  /** The file read (shown form), when the stage has one. */
  source?: string;
  /** Variable name -> value (text, or an intrinsic function such as {"Fn::Sub": ...}), sorted by name. */
  variables: Record<string, EnvValue>;
  /** One line each; never contains a value. */
  warnings: string[];
}

export type EnvValue = string | Intrinsic;

export async function readStageEnv(config: RepositoryConfig, stage: string, python: Omit<PythonCallOptions, 'cwd'>): Promise<StageEnv> {
  const stageFile = findStageFile(config, stage, 'env', ENV_EXTENSIONS);
  if (!stageFile) return { variables: {}, warnings: [] };
  const fromPython = stageFile.kind === 'python';
  const raw = fromPython
    ? await callStageFunction(stageFile, 'get_env', [stage], 'get_env(stage) or get_env() returning a dict', { ...python, cwd: config.root, numbersAsText: true })
    : stageFile.kind === 'node'
      ? await callNodeStageFunction(stageFile, 'getEnv', [stage], 'getEnv(stage) returning an object', { cwd: config.root, timeoutMs: python.timeoutMs })
      : readDataFile(stageFile, { numbersAsText: true });
  const what = fromPython ? 'get_env() to return a flat dict of names to text, numbers or booleans'
    : stageFile.kind === 'node' ? 'getEnv() to return a flat object of names to text, numbers or booleans' : 'a flat mapping of variable names to text, numbers or booleans';
  if (raw === null || raw === undefined) {
    // An empty env.yaml means no variables; a get_env() returning None is a forgotten return.
    if (fromPython) throw new ConfigError(`${stageFile.shown}: get_env() returned None; expected it to return a dict of variables (a missing return statement?), {} for none`);
    return { source: stageFile.shown, variables: {}, warnings: [] };
  }
  if (!isMapping(raw)) throw new ConfigError(`${stageFile.shown}: expected ${what}, found ${Array.isArray(raw) ? 'a list' : typeof raw}`);
  const variables: Record<string, EnvValue> = {};
  const warnings: string[] = [];
  for (const name of Object.keys(raw).sort()) {
    const value = raw[name];
    checkName(stageFile.shown, name);
    if (isIntrinsic(value)) {
      // Computed by CloudFormation (troposphere's Sub(...), YAML's !Ref): not a literal, so no secret warning.
      variables[name] = value;
      continue;
    }
    if (!['string', 'number', 'boolean'].includes(typeof value)) {
      throw new ConfigError(`${stageFile.shown}: ${name}: expected ${what} (or an intrinsic function such as Fn::Sub), found ${isMapping(value) ? 'a nested mapping' : Array.isArray(value) ? 'a list' : 'an empty value'}`);
    }
    const text = String(value);
    variables[name] = text;
    if (looksLikeSecret(name) && text !== '' && !DYNAMIC_REFERENCE.test(text)) {
      warnings.push(`${stageFile.shown}: ${name} looks like a secret but has a literal value (it ends up in the template and the function's configuration); store it in Secrets Manager or SSM Parameter Store and write {{resolve:secretsmanager:NAME:SecretString:FIELD}} or {{resolve:ssm:/PATH}} instead, or read it at run time`);
    }
  }
  // An intrinsic's size is known only at deployment; its template text is a fair estimate.
  const size = (value: EnvValue) => Buffer.byteLength(typeof value === 'string' ? value : JSON.stringify(value));
  const total = Object.entries(variables).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + size(value), 0);
  if (total > MAX_TOTAL_BYTES) {
    throw new ConfigError(`${stageFile.shown}: expected at most ${MAX_TOTAL_BYTES} bytes of variables in all (Lambda's limit), found ${total}; move large values to SSM Parameter Store`);
  }
  return { source: stageFile.shown, variables, warnings };
}

function checkName(shown: string, name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new ConfigError(`${shown}: ${JSON.stringify(name)}: expected a variable name Lambda accepts (a letter, then letters, digits or '_', at least 2 characters)`);
  }
  if (RESERVED.has(name) || (name.startsWith('AWS_LAMBDA_') && !USER_SETTABLE.has(name))) {
    throw new ConfigError(`${shown}: ${name}: reserved by the Lambda runtime (it sets ${name} itself); choose another name`);
  }
}

export function looksLikeSecret(name: string): boolean {
  const upper = name.toUpperCase();
  return SECRET_PARTS.test(upper) || upper.split('_').some((word) => SECRET_WORDS.has(word));
}
