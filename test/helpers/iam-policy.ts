/**
 * A small IAM evaluator for the policies lambda-cd writes, where moto evaluates none of them (it
 * stores a role's boundary but checks no iam:PermissionsBoundary condition, and CloudFormation on
 * moto acts as no role): template values resolved as IAM would see them in one account and stack,
 * action and resource globs, StringEquals and StringNotEquals, explicit Deny before Allow.
 */
import { Intrinsic } from '../../generator/cfn-yaml.js';

type Doc = Record<string, any>;

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';

export interface Scope {
  /** ${...} and Ref values: pseudo parameters and the template's parameters. */
  variables: Record<string, string>;
  /** The template's resources, for Ref and GetAtt of the stage templates' own parts. */
  resources?: Record<string, Doc>;
  /** Template conditions (Fn::If) by name. */
  conditions?: Record<string, boolean>;
  /** What Ref of a resource gives when the resource itself cannot say (the boundary policy's ARN). */
  refs?: Record<string, string>;
}

export const pseudoParameters = (stack: string): Record<string, string> => ({ 'AWS::Partition': 'aws', 'AWS::AccountId': ACCOUNT, 'AWS::Region': REGION, 'AWS::StackName': stack });

function refOf(name: string, scope: Scope): string {
  if (scope.refs?.[name] !== undefined) return scope.refs[name]!;
  if (scope.variables[name] !== undefined) return scope.variables[name]!;
  const resource = scope.resources?.[name];
  const properties = resource?.Properties ?? {};
  switch (resource?.Type) {
    case 'AWS::Lambda::Function': return String(resolveValue(properties.FunctionName, scope));
    case 'AWS::Logs::LogGroup': return String(resolveValue(properties.LogGroupName, scope));
    case 'AWS::CloudWatch::Alarm': return String(resolveValue(properties.AlarmName, scope));
    default: return `ref:${name}`;
  }
}

function attributeOf(name: string, attribute: string, scope: Scope): string {
  const type = scope.resources?.[name]?.Type;
  if (attribute === 'Arn' && type === 'AWS::Lambda::Function') return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${refOf(name, scope)}`;
  if (attribute === 'Arn' && type === 'AWS::Logs::LogGroup') return `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${refOf(name, scope)}:*`;
  return `getatt:${name}.${attribute}`;
}

function substitute(text: string, scope: Scope, locals: Record<string, string> = {}): string {
  return text.replace(/\$\{([^}]+)\}/g, (_match, name: string) => {
    if (locals[name] !== undefined) return locals[name]!;
    const dot = name.indexOf('.');
    return dot > 0 && !name.startsWith('AWS::') ? attributeOf(name.slice(0, dot), name.slice(dot + 1), scope) : refOf(name, scope);
  });
}

/** A template value as IAM sees it: text, or a list (Fn::Split, a CommaDelimitedList parameter). */
export function resolveValue(value: unknown, scope: Scope): string | string[] {
  if (typeof value === 'string') return value;
  if (value instanceof Intrinsic) {
    if (value.fn === 'Ref') return refOf(value.value, scope);
    if (value.fn === 'GetAtt') return attributeOf(value.value.split('.')[0]!, value.value.split('.')[1]!, scope);
    return substitute(value.value, scope);
  }
  const doc = value as Doc;
  if (doc && typeof doc === 'object' && !Array.isArray(doc)) {
    if ('Ref' in doc) {
      const resolved = refOf(doc.Ref, scope);
      return resolved.includes(',') ? resolved.split(',') : resolved;
    }
    if ('Fn::GetAtt' in doc) return attributeOf(doc['Fn::GetAtt'][0], doc['Fn::GetAtt'][1], scope);
    if ('Fn::Split' in doc) return String(resolveValue(doc['Fn::Split'][1], scope)).split(doc['Fn::Split'][0]);
    if ('Fn::Join' in doc) {
      const parts = Array.isArray(doc['Fn::Join'][1]) ? (doc['Fn::Join'][1] as unknown[]) : [doc['Fn::Join'][1]];
      return parts.flatMap((part) => [resolveValue(part, scope)].flat()).join(doc['Fn::Join'][0]);
    }
    if ('Fn::Sub' in doc) {
      const [text, vars] = Array.isArray(doc['Fn::Sub']) ? doc['Fn::Sub'] : [doc['Fn::Sub'], {}];
      return substitute(text, scope, Object.fromEntries(Object.entries(vars as Doc).map(([name, v]) => [name, [resolveValue(v, scope)].flat().join('')])));
    }
  }
  throw new Error(`cannot resolve ${JSON.stringify(value)}`);
}

/** A policy's statements with Fn::If resolved by the scope's conditions (AWS::NoValue dropped). */
export function effectiveStatements(statements: Doc[], scope: Scope): Doc[] {
  return statements.flatMap((statement) => {
    if (!statement?.['Fn::If']) return [statement];
    const [condition, then, otherwise] = statement['Fn::If'];
    const chosen = scope.conditions?.[condition] ? then : otherwise;
    return chosen?.Ref === 'AWS::NoValue' || (chosen instanceof Intrinsic && chosen.value === 'AWS::NoValue') ? [] : [chosen];
  });
}

export function glob(pattern: string, text: string, ignoreCase: boolean): boolean {
  const regex = new RegExp(`^${pattern.split('').map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('')}$`, ignoreCase ? 'i' : '');
  return regex.test(text);
}

export interface Request { action: string; resource: string; context?: Record<string, string> }

function conditionHolds(condition: Doc | undefined, context: Record<string, string>, scope: Scope): boolean {
  for (const [operator, entries] of Object.entries(condition ?? {})) {
    for (const [key, expected] of Object.entries(entries as Doc)) {
      const wanted = [expected].flat().flatMap((value) => [resolveValue(value, scope)].flat());
      const actual = context[key];
      if (operator === 'StringEquals' && (actual === undefined || !wanted.includes(actual))) return false;
      // Negated operators hold when the key is missing (IAM's rule).
      if (operator === 'StringNotEquals' && actual !== undefined && wanted.includes(actual)) return false;
      if (!['StringEquals', 'StringNotEquals'].includes(operator)) throw new Error(`operator ${operator} not evaluated here`);
    }
  }
  return true;
}

/** IAM's decision for one policy: an explicit Deny wins, then an Allow, else an implicit deny. */
export function decide(statements: Doc[], request: Request, scope: Scope): 'allowed' | 'denied' | 'implicitly denied' {
  let allowed = false;
  for (const statement of effectiveStatements(statements, scope)) {
    const actions = [statement.Action].flat().flatMap((action) => [resolveValue(action, scope)].flat());
    const resources = [statement.Resource].flat().flatMap((resource) => [resolveValue(resource, scope)].flat());
    if (!actions.some((a) => glob(a, request.action, true)) || !resources.some((r) => glob(r, request.resource, false))) continue;
    if (!conditionHolds(statement.Condition, request.context ?? {}, scope)) continue;
    if (statement.Effect === 'Deny') return 'denied';
    allowed = true;
  }
  return allowed ? 'allowed' : 'implicitly denied';
}

/** Every (role, action, resource) an Allow statement of a template's roles' inline policies grants, resolved. */
export function roleGrants(template: Doc, scope: Scope): { role: string; action: string; resource: string }[] {
  const withResources = { ...scope, resources: template.Resources };
  return Object.entries(template.Resources as Record<string, Doc>)
    .filter(([, resource]) => resource.Type === 'AWS::IAM::Role')
    .flatMap(([role, resource]) => ((resource.Properties.Policies ?? []) as Doc[]).flatMap((policy) => [policy.PolicyDocument.Statement].flat()
      .filter((statement: Doc) => statement.Effect === 'Allow')
      .flatMap((statement: Doc) => [statement.Action].flat().flatMap((action: string) => [statement.Resource].flat()
        .flatMap((value) => [resolveValue(value, withResources)].flat())
        .map((resourceArn) => ({ role, action, resource: resourceArn }))))));
}
