/**
 * The keys CodeBuild accepts in a buildspec 0.2 (from /work/shared/reference/codebuild.md), as
 * a small checker: returns one message per problem, naming the key path.
 * `phases.install.runtime-versions` is left out on purpose: it works only on AWS's curated
 * images, never on ours.
 */
type Rule = 'string' | 'boolean' | 'strings' | 'any' | { enum: string[] } | { keys: Record<string, Rule>; required?: string[] } | { map: Rule; max?: number } | { list: Rule; pattern?: RegExp };

const PHASE: Rule = { keys: { 'run-as': 'string', 'on-failure': { enum: ['ABORT', 'CONTINUE'] }, commands: 'strings', finally: 'strings' } };

/** A batch build's task (AWS CodeBuild, "Batch build buildspec reference"): build-list and build-graph entries. */
const BATCH_ENV: Rule = { keys: { 'compute-type': 'string', fleet: 'string', image: 'string', 'privileged-mode': 'boolean', type: 'string', variables: { map: 'string' } } };
const BATCH_TASK = (graph: boolean): Rule => ({
  required: ['identifier'],
  keys: { identifier: 'string', buildspec: 'string', 'debug-session': 'boolean', env: BATCH_ENV, 'ignore-failure': 'boolean', ...(graph ? { 'depend-on': 'strings' } : {}) },
});
const BATCH: Rule = {
  keys: {
    'fast-fail': 'boolean',
    'build-list': { list: BATCH_TASK(false) },
    'build-graph': { list: BATCH_TASK(true) },
    'build-matrix': 'any',
    'build-fanout': 'any',
  },
};

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
    batch: BATCH,
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
  const batch = (document as { batch?: Record<string, unknown> })?.batch;
  if (batch) {
    const kinds = ['build-list', 'build-graph', 'build-matrix', 'build-fanout'].filter((kind) => kind in batch);
    if (kinds.length !== 1) problems.push(`batch: expected exactly one of build-list, build-graph, build-matrix, build-fanout, found ${kinds.join(', ') || 'none'}`);
    const tasks = (batch['build-list'] ?? batch['build-graph'] ?? []) as { identifier?: unknown }[];
    const ids = tasks.map((task) => task.identifier);
    // Identifiers name the builds (and their artifact folders): letters, digits and underscores, unique.
    for (const id of ids) if (typeof id === 'string' && !/^[A-Za-z0-9_]{1,128}$/.test(id)) problems.push(`batch: identifier ${JSON.stringify(id)}: letters, digits and underscores only`);
    if (new Set(ids).size !== ids.length) problems.push('batch: identifiers must be unique');
  }
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
  if ('list' in rule) {
    if (!Array.isArray(value)) problems.push(`${at}: expected a list`);
    else value.forEach((item, index) => check(item, rule.list, `${at}[${index}]`, problems));
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
