/**
 * The permissions boundary of every function role a pipeline deploys, and the rule that keeps the
 * deploying role from making a role without it. Convention: the policy is named
 * `<PipelineStack>-function-boundary` under the IAM path /lambda-cd/, so create-cf's templates
 * can name it from --stack alone:
 *   arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/lambda-cd/<PipelineStack>-function-boundary
 * The template that creates it (ci-bootstrap; the CodePipeline template can reuse these pieces)
 * knows the pipeline stack's name as a parameter or as ${AWS::StackName}.
 *
 * What the boundary allows: what lambda-cd itself grants a function (its log streams, the VPC
 * network interfaces, X-Ray), plus the Allow actions of the repository's own stage iam files.
 * It never allows "*": a role cannot exceed it, so whoever may deploy cannot make a role that
 * does more than the function was meant to.
 */
import { BOUNDARY_PATH, BOUNDARY_SUFFIX, functionBoundarySub } from '../lib/function-boundary.js';
import { VPC_ACTIONS } from '../lib/template.js';
import { sub, type Intrinsic } from './cfn-yaml.js';
import { allow, deny, type Resource, type Statement } from './iam.js';

export const FUNCTION_BOUNDARY_PATH = BOUNDARY_PATH;
/** Fn::Sub text of the policy's name for a pipeline stack named by `pipeline` (a ${...} reference). */
export const functionBoundaryName = (pipeline: string) => `${pipeline}${BOUNDARY_SUFFIX}`;
/** The boundary's ARN: what create-cf writes into every function role (lib/function-boundary.ts) and what the deploy role demands. */
export const functionBoundaryArn = (pipeline: string): Intrinsic => sub(functionBoundarySub(pipeline));

/** lambda-cd's own grants to a function role (lib/template.ts), by action. */
const BASE_ACTIONS = ['logs:CreateLogStream', 'logs:PutLogEvents', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments', ...VPC_ACTIONS];

/**
 * The AWS::IAM::ManagedPolicy resource. `functionActions`: the Allow actions of the stage iam
 * files (sorted, deduplicated by the caller); their resources are scoped by the role's own policy.
 */
export function functionBoundaryPolicy(pipeline: string, functionName: string, functionActions: string[]): Record<string, unknown> {
  const statements: Statement[] = [
    { Sid: 'FunctionLogs', ...allow(['logs:CreateLogStream', 'logs:PutLogEvents'], [sub(`arn:\${AWS::Partition}:logs:*:\${AWS::AccountId}:log-group:/aws/lambda/${functionName}*`)]) },
    { Sid: 'LambdaCdGrants', ...allow(BASE_ACTIONS.filter((action) => !action.startsWith('logs:')), ['*']) },
  ];
  const extra = functionActions.filter((action) => !BASE_ACTIONS.includes(action));
  if (extra.length > 0) statements.push({ Sid: 'FunctionPermissions', ...allow(extra, ['*']) });
  return boundaryPolicyResource(pipeline, statements);
}

/** The AWS::IAM::ManagedPolicy `<pipeline>-function-boundary` at /lambda-cd/ holding `statements`. */
export function boundaryPolicyResource(pipeline: string, statements: unknown[]): Record<string, unknown> {
  return {
    Type: 'AWS::IAM::ManagedPolicy',
    Properties: {
      ManagedPolicyName: sub(functionBoundaryName(pipeline)),
      Path: FUNCTION_BOUNDARY_PATH,
      Description: 'lambda-cd: the most a function role of this pipeline may do (its permissions boundary)',
      PolicyDocument: { Version: '2012-10-17', Statement: statements },
    },
  };
}

/**
 * IAM actions on roles that set or change what a role may do: allowed only with the boundary in
 * place (UpdateAssumeRolePolicy too: if IAM gives it no iam:PermissionsBoundary key, it fails closed,
 * and lambda-cd's trust policy never changes).
 */
const BOUNDED_ROLE_ACTIONS = ['CreateRole', 'PutRolePermissionsBoundary', 'PutRolePolicy', 'DeleteRolePolicy', 'AttachRolePolicy', 'DetachRolePolicy', 'UpdateAssumeRolePolicy'].map((action) => `iam:${action}`);
/** The other role actions a stack deploy needs (reading, tagging, deleting). */
const OTHER_ROLE_ACTIONS = ['DeleteRole', 'GetRole', 'UpdateRole', 'TagRole', 'UntagRole', 'GetRolePolicy', 'ListRolePolicies', 'ListAttachedRolePolicies', 'ListRoleTags'].map((action) => `iam:${action}`);
/** What would change the boundary policy itself. */
const POLICY_CHANGES = ['CreatePolicyVersion', 'DeletePolicy', 'DeletePolicyVersion', 'SetDefaultPolicyVersion', 'TagPolicy', 'UntagPolicy'].map((action) => `iam:${action}`);

/**
 * What the deploying role may do to the function roles (`roles`): create them and change their
 * policies only with iam:PermissionsBoundary equal to the boundary. Explicit denials (which hold
 * even if a broader policy is attached to the role later): those actions with any other boundary
 * or none, removing a role's boundary, and changing or deleting the boundary policy itself.
 */
export function boundedRoleStatements(roles: Resource[], boundary: Intrinsic): Statement[] {
  return [
    { Sid: 'FunctionRolesOnlyWithBoundary', ...allow(BOUNDED_ROLE_ACTIONS, roles, { StringEquals: { 'iam:PermissionsBoundary': boundary } }) },
    { Sid: 'FunctionRoles', ...allow(OTHER_ROLE_ACTIONS, roles) },
    { Sid: 'NoRoleWithoutBoundary', ...deny(BOUNDED_ROLE_ACTIONS, ['*'], { StringNotEquals: { 'iam:PermissionsBoundary': boundary } }) },
    { Sid: 'NoBoundaryRemoved', ...deny(['iam:DeleteRolePermissionsBoundary'], ['*']) },
    { Sid: 'NoBoundaryChanged', ...deny(POLICY_CHANGES, [boundary]) },
  ];
}
