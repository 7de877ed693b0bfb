import { REPOSITORY_OPTIONS } from '../args.js';
import type { CommandSpec } from '../command.js';
import { count } from '../../lib/output.js';
import { openRepository } from '../repository.js';
import { CACHE_DIR_OPTION, FIND_LINKS_OPTION, INDEX_URL_OPTION, PYTHON_OPTION, STACK_OPTION, cacheDir, pipOptions, pythonOption } from './shared-options.js';

/** get_iam(ref_name) receives a name made of the pipeline stack's; without one, check makes one up. */
const DEFAULT_STACK = 'Pipeline';

export const command: CommandSpec = {
  name: 'check',
  summary: "Validate the repository's config/, run its env and iam files as create-cf does, and show what the runners will use.",
  reads: 'config/config.yaml, config/<Stage>/env.* and iam.* (the Python ones are run, as by create-cf), src/ (the handler module), the test folders',
  writes: 'no outputs (troposphere and awacs go into --cache-dir when a stage file needs them, as with create-cf); a summary on stdout (--json for a machine)',
  options: [
    ...REPOSITORY_OPTIONS,
    { ...STACK_OPTION, required: false, defaultText: `${DEFAULT_STACK}`, description: "The pipeline stack name, as create-cf's --stack (iam.py's get_iam receives a name made of it)." },
    { ...PYTHON_OPTION, description: 'Python interpreter that runs env.py and iam.py (as create-cf --python).' },
    { ...CACHE_DIR_OPTION, description: 'Where troposphere and awacs are installed when a 2018-style iam.py needs them (as create-cf).' },
    INDEX_URL_OPTION,
    FIND_LINKS_OPTION,
    { name: 'json', type: 'boolean', description: 'Print the result as JSON.' },
  ],
  examples: ['lambda-cd check', 'lambda-cd check --path examples/hello-python --strict --json'],
  notes: ['A repository that passes check passes create-cf: check builds the same templates (and writes none). Variable values are never shown, only their names.'],
  async run({ options }) {
    const repository = openRepository(options, { notes: true });
    const { runCheck } = await import('../../runners/check.js');
    const result = await runCheck({
      repository,
      stack: (options.stack as string | undefined) ?? DEFAULT_STACK,
      python: pythonOption(options),
      cacheDir: cacheDir(options, repository.root),
      pip: pipOptions(options),
    });
    if (options.json) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return 0;
    }
    const suite = (s: typeof result.unittests) => (s ? `${s.folder}/ (${s.runner}): ${s.files.length ? count(s.files.length, 'test file') : 'no test files: nothing to run'}` : 'none');
    const lines = [
      `${result.name}: ${result.handler} on ${result.runtime} (${result.architecture})`,
      `stages: ${result.stages.map((s) => `${s.name} (${s.settings.memorySize} MB, ${s.settings.timeout} s)`).join(' -> ')}`,
      ...result.stages.map((s) => `  ${s.name}: ${s.variables.length ? `${count(s.variables.length, 'variable')} (${s.variables.join(', ')})` : 'no variables'}` +
        `${s.envSource ? ` from ${s.envSource}` : ''}; policies ${s.policies.join(', ')}${s.managedPolicyArns.length ? ` + ${s.managedPolicyArns.length} managed ${s.managedPolicyArns.length === 1 ? 'policy' : 'policies'}` : ''}${s.iamSource ? ` from ${s.iamSource}` : ''}`),
      `unit tests: ${suite(result.unittests)}`,
      `integration tests: ${suite(result.integrationtests)}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  },
};
