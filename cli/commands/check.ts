import { REPOSITORY_OPTIONS } from '../args.js';
import type { CommandSpec } from '../command.js';
import { openRepository } from '../repository.js';

export const command: CommandSpec = {
  name: 'check',
  summary: "Validate the repository's config/ and show what the runners will use.",
  reads: 'config/config.yaml, the stage folders under config/, src/ (the handler module), the test folders',
  writes: 'nothing; a summary on stdout (--json for a machine)',
  options: [...REPOSITORY_OPTIONS, { name: 'json', type: 'boolean', description: 'Print the resolved configuration as JSON.' }],
  examples: ['lambda-cd check', 'lambda-cd check --path examples/hello-python --strict --json'],
  async run({ options }) {
    const repository = openRepository(options);
    const { runCheck } = await import('../../runners/check.js');
    const result = await runCheck({ repository });
    if (options.json) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return 0;
    }
    const lines = [
      `${result.name}: ${result.handler} on ${result.runtime} (${result.architecture})`,
      `stages: ${result.stages.map((s) => `${s.name} (${s.settings.memorySize} MB, ${s.settings.timeout} s)`).join(' -> ')}`,
      `unit tests: ${result.unittests ? `${result.unittests.folder}/ (${result.unittests.runner})` : 'none'}`,
      `integration tests: ${result.integrationtests ? `${result.integrationtests.folder}/ (${result.integrationtests.runner})` : 'none'}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  },
};
