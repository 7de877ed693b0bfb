/**
 * A stage's permissions: `config/<Stage>/iam.yaml|json` (Statements and/or
 * ManagedPolicyArns) or the 2018 `iam.py` whose `get_iam(ref_name)` returns an
 * AWS::IAM::Role (a dict, its Properties, or an object with to_dict() such as a
 * troposphere Role). The result is the user's part of the role; lib/template.ts adds the
 * trust policy and the log permissions, which no file can change.
 */
import { describe, isMapping, type Mapping, type RepositoryConfig } from './contract.js';
import { ConfigError } from './errors.js';
import { checkWildcardActions } from './iam-wildcards.js';
import { isIntrinsic } from './intrinsics.js';
import { callStageFunction, findStageFile, readDataFile, type PythonCallOptions, type StageFile } from './stage-files.js';

export const IAM_EXTENSIONS = ['yaml', 'yml', 'json', 'py'];
/** Name of the inline policy made from iam.yaml's Statements. */
export const STATEMENTS_POLICY = 'function-permissions';

const DATA_KEYS = ['Statements', 'ManagedPolicyArns', 'PermissionsBoundary'];
const STATEMENT_KEYS = ['Sid', 'Effect', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition'];
/** AWS::IAM::Role properties an iam.py may set (AssumeRolePolicyDocument is always replaced). */
const ROLE_PROPERTIES = ['AssumeRolePolicyDocument', 'Description', 'ManagedPolicyArns', 'MaxSessionDuration', 'Path', 'PermissionsBoundary', 'Policies', 'RoleName', 'Tags'];
const ACTION_PATTERN = /^(\*|[a-z0-9-]+:[A-Za-z0-9*?]+)$/;
export const LAMBDA_PRINCIPAL = 'lambda.amazonaws.com';

/**
 * The IAM path of every function role lambda-cd writes. The pipeline's deploy role is scoped to
 * `role/lambda-cd/<Name>/*`, which holds whatever name CloudFormation (or the user) gives the role,
 * however long the stack name.
 */
export function functionRolePath(name: string): string {
  return `/lambda-cd/${name}/`;
}

export interface StageIam {
  source?: string;
  /** The user's AWS::IAM::Role properties, without AssumeRolePolicyDocument and Path. */
  properties: Mapping;
  /** The role's IAM path; undefined for a role its iam.py named and placed at the root. */
  path?: unknown;
  warnings: string[];
  /** What lambda-cd changed without the user having to (same text for every stage: say it once). */
  notices: { source: string; message: string }[];
}

export async function readStageIam(config: RepositoryConfig, stage: string, refName: string, python: Omit<PythonCallOptions, 'cwd'>): Promise<StageIam> {
  const stageFile = findStageFile(config, stage, 'iam', IAM_EXTENSIONS);
  if (!stageFile) return { properties: {}, path: functionRolePath(config.name), warnings: [], notices: [] };
  const warnings: string[] = [];
  const properties = stageFile.kind === 'python'
    ? roleFromPython(stageFile, await callStageFunction(stageFile, 'get_iam', [refName], 'get_iam(ref_name) returning a role', { ...python, cwd: config.root }), warnings)
    : roleFromData(stageFile, readDataFile(stageFile));
  const notices = narrowLogGrants(properties, config.name).map((message) => ({ source: stageFile.shown, message }));
  warnings.push(...checkWildcardActions(stageFile.shown, properties, config.allowWildcardActions));
  // Path and RoleName are create-only: a role its file names (a 2018 iam.py passes ref_name)
  // exists under that name already wherever the 2018 system deployed it, and IAM cannot move it
  // to another path without replacing it, which fails for a named role. So it keeps its path.
  let rolePath: unknown = functionRolePath(config.name);
  if (properties.RoleName !== undefined) {
    rolePath = properties.Path;
  } else if (properties.Path !== undefined && properties.Path !== rolePath) {
    warnings.push(`${stageFile.shown}: Path ${JSON.stringify(properties.Path)} replaced by ${rolePath}: the pipeline's deploy role may manage only roles under that path`);
  }
  delete properties.Path;
  return { source: stageFile.shown, properties, path: rolePath, warnings, notices };
}

/** CloudWatch Logs actions a function needs for its own logs (lambda-cd grants them on its log group). */
const LOG_WRITE_ACTIONS = new Set(['logs:createloggroup', 'logs:createlogstream', 'logs:putlogevents']);

/** A logs resource beyond one log group: "*", arn:aws:logs:*:*:*, log-group:* or a wildcard in the group's name. */
function isBroadLogsResource(resource: unknown): boolean {
  const text = typeof resource === 'string' ? resource
    : isIntrinsic(resource) && typeof resource['Fn::Sub'] === 'string' ? resource['Fn::Sub'].replace(/\$\{[^}]*\}/g, 'x') : undefined;
  if (text === undefined) return false;
  return text === '*' || /^arn:[^:]+:logs:[^:]*:[^:]*:(\*|log-group:[^:]*\*)/.test(text);
}

/**
 * Removes grants of the function's own log actions on more than its own log group (the 2018
 * helper oneClickCreateLogsPolicy() allows them on arn:aws:logs:*:*:*): lambda-cd's own policy
 * gives exactly those actions on the function's log group. Returns one notice per policy changed.
 */
function narrowLogGrants(role: Mapping, name: string): string[] {
  if (!Array.isArray(role.Policies)) return [];
  const notices: string[] = [];
  const policies = (role.Policies as Mapping[]).flatMap((policy) => {
    const document = policy.PolicyDocument as Mapping;
    if (!isMapping(document) || document.Statement === undefined || isIntrinsic(document.Statement)) return [policy];
    const statements = [document.Statement].flat();
    const broad: string[] = [];
    const kept = statements.flatMap((statement: unknown) => {
      if (!isMapping(statement) || statement.Effect !== 'Allow' || statement.Condition !== undefined || statement.Action === undefined || statement.Resource === undefined) return [statement];
      const actions = [statement.Action].flat();
      if (!actions.every((action) => typeof action === 'string' && LOG_WRITE_ACTIONS.has(action.toLowerCase()))) return [statement];
      const resources = [statement.Resource].flat();
      const narrow = resources.filter((resource) => !isBroadLogsResource(resource));
      if (narrow.length === resources.length) return [statement];
      broad.push(...resources.filter(isBroadLogsResource).map((resource) => (typeof resource === 'string' ? resource : String((resource as Mapping)['Fn::Sub']))));
      return narrow.length ? [{ ...statement, Resource: narrow }] : [];
    });
    if (broad.length === 0) return [policy];
    notices.push(`policy ${policyLabel(policy.PolicyName)} lets the function write logs to ${[...new Set(broad)].join(', ')}; lambda-cd narrows that to the function's own log group, /aws/lambda/${name}<Stage>`);
    return kept.length ? [{ ...policy, PolicyDocument: { ...document, Statement: kept } }] : [];
  });
  if (policies.length) role.Policies = policies;
  else delete role.Policies;
  return notices;
}

/** A policy's name as the user wrote it: the text of a Sub, or the JSON of another intrinsic. */
export function policyLabel(name: unknown): string {
  if (typeof name === 'string') return name;
  if (isIntrinsic(name) && typeof name['Fn::Sub'] === 'string') return name['Fn::Sub'];
  return JSON.stringify(name);
}

/** iam.yaml/json: {Statements: [...], ManagedPolicyArns: [...], PermissionsBoundary: arn}. */
function roleFromData(stageFile: StageFile, raw: unknown): Mapping {
  const at = stageFile.shown;
  if (raw === null || raw === undefined) return {};
  if (!isMapping(raw)) throw new ConfigError(`${at}: expected a mapping with Statements and/or ManagedPolicyArns, found ${describe(raw)}`);
  for (const key of Object.keys(raw)) {
    if (!DATA_KEYS.includes(key)) throw new ConfigError(`${at}: ${key}: unknown key; expected ${DATA_KEYS.join(', ')}`);
  }
  const properties: Mapping = {};
  if (raw.Statements !== undefined) {
    if (!Array.isArray(raw.Statements) || raw.Statements.length === 0) throw new ConfigError(`${at}: Statements: expected a non-empty list of IAM policy statements, found ${describe(raw.Statements)}`);
    const statements = raw.Statements.map((statement, index) => checkStatement(at, index, statement));
    properties.Policies = [{ PolicyName: STATEMENTS_POLICY, PolicyDocument: { Version: '2012-10-17', Statement: statements } }];
  }
  if (raw.ManagedPolicyArns !== undefined) {
    const arns = raw.ManagedPolicyArns;
    if (!Array.isArray(arns) || arns.length === 0 || !arns.every((arn) => isPolicyArn(arn))) {
      throw new ConfigError(`${at}: ManagedPolicyArns: expected a list of IAM policy ARNs (arn:aws:iam::aws:policy/NAME or arn:aws:iam::ACCOUNT:policy/NAME), found ${describe(arns)}`);
    }
    properties.ManagedPolicyArns = arns;
  }
  if (raw.PermissionsBoundary !== undefined) {
    if (!isPolicyArn(raw.PermissionsBoundary)) throw new ConfigError(`${at}: PermissionsBoundary: expected an IAM policy ARN, found ${describe(raw.PermissionsBoundary)}`);
    properties.PermissionsBoundary = raw.PermissionsBoundary;
  }
  return properties;
}

function checkStatement(at: string, index: number, statement: unknown): Mapping {
  const where = `${at}: Statements[${index}]`;
  if (!isMapping(statement)) throw new ConfigError(`${where}: expected a mapping (Effect, Action, Resource), found ${describe(statement)}`);
  for (const key of Object.keys(statement)) {
    if (!STATEMENT_KEYS.includes(key)) throw new ConfigError(`${where}: ${key}: unknown key; expected ${STATEMENT_KEYS.join(', ')}`);
  }
  if (statement.Effect !== 'Allow' && statement.Effect !== 'Deny') throw new ConfigError(`${where}: Effect: expected Allow or Deny, found ${describe(statement.Effect)}`);
  const actionKey = exactlyOne(where, statement, 'Action', 'NotAction');
  const actions = Array.isArray(statement[actionKey]) ? statement[actionKey] : [statement[actionKey]];
  if (actions.length === 0 || !actions.every((action) => (typeof action === 'string' && ACTION_PATTERN.test(action)) || isIntrinsic(action))) {
    throw new ConfigError(`${where}: ${actionKey}: expected actions such as s3:GetObject (service:Action), found ${describe(statement[actionKey])}`);
  }
  const resourceKey = exactlyOne(where, statement, 'Resource', 'NotResource');
  const resources = Array.isArray(statement[resourceKey]) ? statement[resourceKey] : [statement[resourceKey]];
  if (resources.length === 0 || !resources.every((resource) => (typeof resource === 'string' && resource !== '') || isIntrinsic(resource))) {
    throw new ConfigError(`${where}: ${resourceKey}: expected ARNs (text, or an intrinsic function such as Fn::Sub), found ${describe(statement[resourceKey])}`);
  }
  if (statement.Condition !== undefined && !isMapping(statement.Condition)) throw new ConfigError(`${where}: Condition: expected a mapping of condition operators, found ${describe(statement.Condition)}`);
  return statement;
}

function exactlyOne(where: string, statement: Mapping, a: string, b: string): string {
  if ((a in statement) === (b in statement)) throw new ConfigError(`${where}: expected exactly one of ${a} and ${b}, found ${a in statement ? 'both' : 'neither'}`);
  return a in statement ? a : b;
}

/** iam.py: an AWS::IAM::Role resource or its Properties. */
function roleFromPython(stageFile: StageFile, raw: unknown, warnings: string[]): Mapping {
  const at = stageFile.shown;
  const expected = 'get_iam() to return an AWS::IAM::Role (a troposphere Role, or a dict {"Type": "AWS::IAM::Role", "Properties": {...}} or its Properties)';
  if (raw === null || raw === undefined) throw new ConfigError(`${at}: get_iam() returned None; expected it to return the role (a missing return statement?)`);
  if (!isMapping(raw)) throw new ConfigError(`${at}: expected ${expected}, found ${describe(raw)}`);
  let properties: unknown = raw;
  if ('Type' in raw || 'Properties' in raw) {
    if (raw.Type !== 'AWS::IAM::Role') throw new ConfigError(`${at}: expected ${expected}, found Type ${JSON.stringify(raw.Type)}`);
    const extra = Object.keys(raw).filter((key) => key !== 'Type' && key !== 'Properties');
    if (extra.length) throw new ConfigError(`${at}: ${extra[0]}: not supported on the role; expected only Type and Properties`);
    properties = raw.Properties ?? {};
    if (!isMapping(properties)) throw new ConfigError(`${at}: Properties: expected a mapping of role properties, found ${describe(properties)}`);
  }
  const role = { ...(properties as Mapping) };
  for (const key of Object.keys(role)) {
    if (!ROLE_PROPERTIES.includes(key)) throw new ConfigError(`${at}: ${key}: not an AWS::IAM::Role property lambda-cd accepts; expected ${ROLE_PROPERTIES.join(', ')}`);
  }
  if (role.AssumeRolePolicyDocument !== undefined && !trustsOnlyLambda(role.AssumeRolePolicyDocument)) {
    warnings.push(`${at}: AssumeRolePolicyDocument replaced: the function's role trusts only ${LAMBDA_PRINCIPAL}`);
  }
  delete role.AssumeRolePolicyDocument;
  if (role.Policies !== undefined) {
    if (!Array.isArray(role.Policies)) throw new ConfigError(`${at}: Policies: expected a list of {PolicyName, PolicyDocument}, found ${describe(role.Policies)}`);
    for (const [index, policy] of role.Policies.entries()) {
      // PolicyName may be computed (troposphere's Sub("Name-${AWS::StackName}"), as 2018 files do).
      if (!isMapping(policy) || !(isText(policy.PolicyName) || isIntrinsic(policy.PolicyName)) || !isMapping(policy.PolicyDocument)) {
        throw new ConfigError(`${at}: Policies[${index}]: expected {PolicyName: text or an intrinsic function such as Fn::Sub, PolicyDocument: {...}}, found ${describe(policy)}`);
      }
    }
  }
  if (role.RoleName !== undefined && !isIntrinsic(role.RoleName) && !(typeof role.RoleName === 'string' && /^[\w+=,.@-]{1,64}$/.test(role.RoleName))) {
    throw new ConfigError(`${at}: RoleName: expected an IAM role name (at most 64 letters, digits and +=,.@_-) or an intrinsic function such as Fn::Sub, found ${describe(role.RoleName)}`);
  }
  if (role.ManagedPolicyArns !== undefined && !Array.isArray(role.ManagedPolicyArns) && !isIntrinsic(role.ManagedPolicyArns)) {
    throw new ConfigError(`${at}: ManagedPolicyArns: expected a list of IAM policy ARNs, found ${describe(role.ManagedPolicyArns)}`);
  }
  if (role.Tags !== undefined && !Array.isArray(role.Tags)) throw new ConfigError(`${at}: Tags: expected a list of {Key, Value}, found ${describe(role.Tags)}`);
  return role;
}

function trustsOnlyLambda(document: unknown): boolean {
  if (!isMapping(document)) return false;
  const statements = Array.isArray(document.Statement) ? document.Statement : [document.Statement];
  return statements.every((statement) => {
    if (!isMapping(statement) || statement.Effect !== 'Allow' || !isMapping(statement.Principal)) return false;
    const principals = Object.entries(statement.Principal);
    return principals.length === 1 && principals[0]![0] === 'Service' && [principals[0]![1]].flat().every((service) => service === LAMBDA_PRINCIPAL);
  });
}

function isText(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

function isPolicyArn(value: unknown): boolean {
  return (typeof value === 'string' && /^arn:aws[a-z-]*:iam::(aws|\d{12}):policy\/.+$/.test(value)) || isIntrinsic(value);
}
