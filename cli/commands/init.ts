import { commaList } from '../args.js';
import type { CommandSpec } from '../command.js';

export const command: CommandSpec = {
  name: 'init',
  summary: 'Create a new function repository (config, src, tests, buildspecs) ready for the runners.',
  reads: 'nothing',
  writes: 'config/, src/, tests/, requirements.txt (Node.js: package.json), .gitignore and buildspecs/ in DIR',
  positionals: [{ name: 'DIR', description: 'Folder of the new repository (default: the current directory).' }],
  options: [
    { name: 'name', type: 'string', valueName: 'NAME', defaultText: 'the folder name', description: "The function's Name." },
    { name: 'stages', type: 'string', valueName: 'LIST', default: 'Gamma', description: 'Pre-production stages, comma-separated (PROD is always added).' },
    { name: 'runtime', type: 'string', valueName: 'RUNTIME', default: 'python3.12', description: 'The Lambda runtime: python3.10 ... python3.14, or nodejs22.x / nodejs24.x for a Node.js function (package.json, src/index.mjs, node --test tests).' },
    { name: 'force', type: 'boolean', description: 'Overwrite files that already exist.' },
  ],
  examples: ['lambda-cd init my-function', 'lambda-cd init my-node-function --runtime nodejs22.x', 'lambda-cd init . --name Orders --stages Gamma,Beta'],
  async run({ options, positionals }) {
    const { runInit } = await import('../../runners/init.js');
    const result = await runInit({
      dir: positionals[0] ?? '.',
      name: options.name as string | undefined,
      stages: commaList(options.stages as string),
      force: options.force === true,
      runtime: options.runtime as string | undefined,
    });
    for (const file of result.files) process.stdout.write(`${file}\n`);
    return 0;
  },
};
