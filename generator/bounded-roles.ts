/**
 * The rule that keeps the deploying role (the CodePipeline deploy role, ci-bootstrap's
 * CloudFormationRole) from making a role without the functions' permissions boundary
 * (lib/function-boundary.ts, the boundary itself). Convention: the boundary is named
 * `<PipelineStack>-function-boundary` under the IAM path /lambda-cd/, so create-cf's templates
 * can name it from --stack alone:
 *   arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/lambda-cd/<PipelineStack>-function-boundary
 */
import { functionBoundarySub } from '../lib/function-boundary.js';
import { sub, type Intrinsic } from './cfn-yaml.js';
import { allow, deny, type Resource, type Statement } from './iam.js';

/** The boundary's ARN for a pipeline named by `pipeline` (a ${...} reference): what create-cf writes into every role and what the deploy role demands. */
export const functionBoundaryArn = (pipeline: string): Intrinsic => sub(functionBoundarySub(pipeline));

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
 * What the deploying role may do to the roles of the stage templates (`roles`: the function roles,
 * the CodeDeploy and pre-traffic hook roles): create them and change their policies only with
 * iam:PermissionsBoundary equal to the boundary. Explicit denials (which hold even if a broader
 * policy is attached to the role later): those actions with any other boundary or none, removing a
 * role's boundary, and changing or deleting the boundary policy itself.
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
