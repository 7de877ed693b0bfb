/**
 * Grants of every action of a service (or of every service) in a stage's iam file. Whoever can
 * push to the repository writes these files, so a role that may do "s3:*" or "*" is a role
 * that may do far more than the function needs; such a file is refused unless config.yaml says
 * it is meant (AllowWildcardActions: true), and then warned about once per file.
 *
 * The rule: an action pattern covers a whole service when the part after "service:" holds no
 * literal character and at least one "*" ("*", "**", "?*", "*?*" all match every action name,
 * since IAM's "*" matches any run of characters and "?" any one). "s3:*Object*" or "s3:Get*"
 * name a part of the service and are fine. An Allow with NotAction grants everything except the
 * listed actions, and AWS managed policies named *FullAccess, AdministratorAccess and
 * PowerUserAccess grant whole services by definition: both count as wildcard grants.
 */
import { isMapping, type Mapping } from './contract.js';
import { ConfigError } from './errors.js';
import { safeName } from './redact.js';

const WHOLE_SERVICE_POLICY = /^arn:aws[a-z-]*:iam::aws:policy\/(?:.*\/)?(AdministratorAccess|PowerUserAccess|[A-Za-z0-9]*FullAccess(?:_v\d+)?)$/;
/** At most this many grants are named in the one line (the count says how many more). */
const NAMED = 3;

/** Whether an IAM action pattern (`*`, `s3:*`, `s3:Get*`) matches every action of its service. */
export function coversWholeService(pattern: string): boolean {
  const trimmed = pattern.trim();
  const colon = trimmed.indexOf(':');
  const name = colon === -1 ? trimmed : trimmed.slice(colon + 1);
  if (colon === -1 && trimmed !== '' && !/^[*?]+$/.test(trimmed)) return false;
  return name.includes('*') && /^[*?]+$/.test(name);
}

/** Every string in a value (an Action list, or an intrinsic function such as Fn::If that yields one). */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (isMapping(value)) return Object.values(value).flatMap(strings);
  return [];
}

/** One description per wildcard grant of the role's policies and managed policies. */
export function wildcardGrants(role: Mapping): string[] {
  const grants: string[] = [];
  for (const policy of Array.isArray(role.Policies) ? role.Policies : []) {
    if (!isMapping(policy) || !isMapping(policy.PolicyDocument)) continue;
    const name = safeName(String(policy.PolicyName ?? '(unnamed)'), 60);
    const statements = [policy.PolicyDocument.Statement].flat();
    for (const statement of statements) {
      // An Effect that is not plainly Deny (an intrinsic, a typo) is judged as an Allow.
      if (!isMapping(statement) || statement.Effect === 'Deny') continue;
      if (statement.NotAction !== undefined) grants.push(`policy ${name} allows NotAction (every action of every service except those listed)`);
      for (const action of strings(statement.Action)) {
        if (!coversWholeService(action)) continue;
        const service = action.includes(':') ? action.slice(0, action.indexOf(':')) : '';
        grants.push(`policy ${name} grants Action ${JSON.stringify(safeName(action, 60))} (${service === '' || /[*?]/.test(service) ? 'every action of every service it matches' : `every action of ${service}`})`);
      }
    }
  }
  for (const arn of Array.isArray(role.ManagedPolicyArns) ? role.ManagedPolicyArns : []) {
    if (typeof arn === 'string' && WHOLE_SERVICE_POLICY.test(arn)) grants.push(`managed policy ${safeName(arn, 120)} grants whole services`);
  }
  return grants;
}

/**
 * Refuses wildcard grants in the iam file `shown` (exit 2), or, with AllowWildcardActions: true,
 * returns the one warning that lists them. No grants, no warning.
 */
export function checkWildcardActions(shown: string, role: Mapping, allowed: boolean): string[] {
  const grants = wildcardGrants(role);
  if (grants.length === 0) return [];
  const listed = `${grants.slice(0, NAMED).join('; ')}${grants.length > NAMED ? `; and ${grants.length - NAMED} more` : ''}`;
  if (!allowed) {
    throw new ConfigError(`${shown}: ${listed}; list the actions the function needs, or set AllowWildcardActions: true in config/config.yaml if this is meant`);
  }
  return [`${shown}: ${listed} (allowed by AllowWildcardActions: true in config/config.yaml; the pipeline's permissions boundary still limits the role)`];
}
