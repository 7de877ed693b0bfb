/**
 * The keys CodeBuild accepts in a buildspec 0.2 (from /work/shared/reference/codebuild.md), as
 * a small checker: returns one message per problem, naming the key path.
 * `phases.install.runtime-versions` is left out on purpose: it works only on AWS's curated
 * images, never on ours.
 */
type Rule = 'string' | 'boolean' | 'strings' | 'any' | { enum: string[] } | { keys: Record<string, Rule>; required?: string[] } | { map: Rule; max?: number };

const PHASE: Rule = { keys: { 'run-as': 'string', 'on-failure': { enum: ['ABORT', 'CONTINUE'] }, commands: 'strings', finally: 'strings' } };

const BUILDSPEC: Rule = {
  required: ['version', 'phases'],
  keys: {
    version: { enum: ['0.2'] },
    'run-as': 'string',
    env: {
      keys: {
        shell: { enum: ['sh', 'bash', '/bin/sh', 'powershell.exe', 'cmd.exe'] },
        variables: { map: 'string' },
        'parameter-store': { map: 'string' },
        'secrets-manager': { map: 'string' },
        'exported-variables': 'strings',
        'git-credential-helper': { enum: ['yes', 'no'] },
      },
    },
    proxy: { keys: { 'upload-artifacts': { enum: ['yes', 'no'] }, logs: { enum: ['yes', 'no'] } } },
    batch: 'any',
    phases: { keys: { install: PHASE, pre_build: PHASE, build: PHASE, post_build: PHASE } },
    reports: {
      max: 5,
      map: {
        required: ['files'],
        keys: {
          files: 'strings',
          'base-directory': 'string',
          'discard-paths': { enum: ['yes', 'no'] },
          'file-format': { enum: ['JUNITXML', 'CUCUMBERJSON', 'NUNITXML', 'NUNIT3XML', 'TESTNGXML', 'VISUALSTUDIOTRX'] },
        },
      },
    },
    artifacts: {
      required: ['files'],
      keys: {
        files: 'strings',
        name: 'string',
        'discard-paths': { enum: ['yes', 'no'] },
        'base-directory': 'string',
        'exclude-paths': 'strings',
        'enable-symlinks': { enum: ['yes', 'no'] },
        's3-prefix': 'string',
        'secondary-artifacts': { map: 'any' },
      },
    },
    cache: { keys: { paths: 'strings', key: 'string' } },
  },
};

export function buildspecProblems(document: unknown): string[] {
  const problems: string[] = [];
  check(document, BUILDSPEC, 'buildspec', problems);
  const variables = (document as { env?: { variables?: Record<string, unknown> } })?.env?.variables ?? {};
  for (const name of Object.keys(variables)) if (name.startsWith('CODEBUILD_')) problems.push(`env.variables.${name}: CODEBUILD_ names are reserved`);
  return problems;
}

function check(value: unknown, rule: Rule, at: string, problems: string[]): void {
  if (rule === 'any') return;
  if (rule === 'string' || rule === 'boolean') {
    if (typeof value !== rule) problems.push(`${at}: expected a ${rule}`);
    return;
  }
  if (rule === 'strings') {
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) problems.push(`${at}: expected a list of strings`);
    return;
  }
  if ('enum' in rule) {
    if (!rule.enum.includes(String(value))) problems.push(`${at}: expected one of ${rule.enum.join(', ')}, found ${JSON.stringify(value)}`);
    return;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(`${at}: expected a mapping`);
    return;
  }
  const entries = Object.entries(value);
  if ('map' in rule) {
    if (rule.max !== undefined && entries.length > rule.max) problems.push(`${at}: at most ${rule.max} entries`);
    for (const [key, child] of entries) check(child, rule.map, `${at}.${key}`, problems);
    return;
  }
  for (const key of rule.required ?? []) if (!(key in value)) problems.push(`${at}.${key}: required`);
  for (const [key, child] of entries) {
    const childRule = rule.keys[key];
    if (childRule === undefined) problems.push(`${at}.${key}: not a key CodeBuild accepts here`);
    else check(child, childRule, `${at}.${key}`, problems);
  }
}
