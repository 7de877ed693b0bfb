/**
 * CloudFormation intrinsic functions in what users write (env and iam files): troposphere's
 * Sub(...), Join(...), Ref(...) and YAML's !Sub, !Ref ... arrive as one-key mappings such as
 * {"Fn::Sub": "..."}. They are accepted wherever CloudFormation accepts a value they stand for,
 * and what they refer to is checked against what a stage template holds, so a Ref to a
 * resource that does not exist fails the build instead of the deployment.
 */
import { isMapping } from './contract.js';

/** Functions that may stand for a property value (Fn::Equals/And/Or/Not belong in Conditions). */
const VALUE_FUNCTIONS = ['Fn::Base64', 'Fn::Cidr', 'Fn::FindInMap', 'Fn::GetAtt', 'Fn::GetAZs', 'Fn::ImportValue', 'Fn::Join', 'Fn::Select', 'Fn::Split', 'Fn::Sub', 'Fn::If'];
const CONDITION_FUNCTIONS = ['Fn::Equals', 'Fn::And', 'Fn::Or', 'Fn::Not'];
export const PSEUDO_PARAMETERS = ['AWS::AccountId', 'AWS::NotificationARNs', 'AWS::NoValue', 'AWS::Partition', 'AWS::Region', 'AWS::StackId', 'AWS::StackName', 'AWS::URLSuffix'];

export type Intrinsic = Record<string, unknown>;

/** True for {"Ref": ...} or {"Fn::X": ...} (one key): a value CloudFormation computes. */
export function isIntrinsic(value: unknown): value is Intrinsic {
  if (!isMapping(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0]!.startsWith('Fn::'));
}

/** What a stage template offers a user's value to refer to, and what referring to would be a cycle. */
export interface ReferenceScope {
  /** Parameters and resources the value may name. */
  names: string[];
  /** Resources that depend on the part holding the value: naming one is a circular dependency. */
  dependents: Record<string, string>;
}

/**
 * The first problem with the intrinsic functions inside `value` (at any depth), phrased for a
 * message, or undefined. `at` is the key path shown before it.
 */
export function referenceProblem(value: unknown, scope: ReferenceScope, at = ''): string | undefined {
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const problem = referenceProblem(item, scope, `${at}[${index}]`);
      if (problem) return problem;
    }
    return undefined;
  }
  if (!isMapping(value)) return undefined;
  if (!isIntrinsic(value)) {
    if ('Condition' in value && Object.keys(value).length === 1) return `${at || 'value'}: Condition: a condition reference belongs in a template's Conditions; a stage template has none`;
    for (const [key, item] of Object.entries(value)) {
      const problem = referenceProblem(item, scope, at ? `${at}.${key}` : key);
      if (problem) return problem;
    }
    return undefined;
  }
  const [name, argument] = Object.entries(value)[0]!;
  const where = `${at || 'value'}: ${name}`;
  const named = (target: string, how: string): string | undefined => {
    if (PSEUDO_PARAMETERS.includes(target)) return undefined;
    if (scope.dependents[target]) return `${where} ${how} ${target}, ${scope.dependents[target]} (a circular dependency CloudFormation rejects)`;
    if (!scope.names.includes(target)) return `${where} ${how} ${JSON.stringify(target)}, which the stage template does not hold (it has ${[...scope.names, 'AWS::StackName', 'AWS::Region', '...'].join(', ')})`;
    return undefined;
  };
  switch (name) {
    case 'Ref':
      return typeof argument === 'string' ? named(argument, 'names') : `${where}: expected the name of a parameter or resource, found ${typeof argument}`;
    case 'Fn::GetAtt': {
      const target = typeof argument === 'string' ? argument.split('.')[0] : Array.isArray(argument) ? argument[0] : undefined;
      if (typeof target !== 'string') return `${where}: expected [resource, attribute]`;
      return named(target, 'names');
    }
    case 'Fn::Sub': {
      const [text, variables] = Array.isArray(argument) ? argument : [argument, {}];
      if (typeof text !== 'string' || !isMapping(variables)) return `${where}: expected text, or [text, {variables}]`;
      for (const match of text.matchAll(/\$\{([^}!][^}]*)\}/g)) {
        const target = match[1]!.trim().split('.')[0]!;
        if (target in variables) continue;
        const problem = named(target, 'refers to');
        if (problem) return problem;
      }
      return referenceProblem(Object.values(variables), scope, `${at}.${name}`);
    }
    case 'Fn::If':
      return `${where}: needs a condition, and a stage template has no Conditions; compute the value in the env or iam file instead`;
    case 'Fn::FindInMap':
      return `${where}: needs a mapping, and a stage template has no Mappings; compute the value in the env or iam file instead`;
    default:
      if (CONDITION_FUNCTIONS.includes(name)) return `${where}: belongs in a template's Conditions; a stage template has none`;
      if (!VALUE_FUNCTIONS.includes(name)) return `${where}: not a CloudFormation intrinsic function (expected one of Ref, ${VALUE_FUNCTIONS.join(', ')})`;
      return referenceProblem(argument, scope, `${at}.${name}`);
  }
}

/**
 * `value` with every Fn::Sub that substitutes nothing replaced by its text (`${!x}` is a literal
 * `${x}`): the same value to CloudFormation, and what cfn-lint asks for (W1020). troposphere
 * users write Sub("arn:aws:s3:::bucket/*") often.
 */
export function simplifyIntrinsics<T>(value: T): T {
  if (Array.isArray(value)) return value.map(simplifyIntrinsics) as T;
  if (!isMapping(value)) return value;
  const sub = value['Fn::Sub'];
  if (Object.keys(value).length === 1 && typeof sub === 'string' && !/\$\{[^!]/.test(sub)) return sub.replace(/\$\{!/g, '${') as T;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, simplifyIntrinsics(item)])) as T;
}
