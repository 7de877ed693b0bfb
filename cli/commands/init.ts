import { commaList } from '../args.js';
import type { CommandSpec } from '../command.js';

export const command: CommandSpec = {
  name: 'init',
  summary: 'Create a new function repository (config, src, tests, buildspecs) ready for the runners.',
  reads: 'nothing',
  writes: 'config/, src/, tests/, requirements.txt, .gitignore and buildspecs/ in DIR',
  positionals: [{ name: 'DIR', description: 'Folder of the new repository (default: the current directory).' }],
  options: [
    { name: 'name', type: 'string', valueName: 'NAME', defaultText: 'the folder name', description: "The function's Name." },
    { name: 'stages', type: 'string', valueName: 'LIST', default: 'Gamma', description: 'Pre-production stages, comma-separated (PROD is always added).' },
    { name: 'functions', type: 'string', valueName: 'LIST', description: 'Create a repository of several functions (comma-separated names): lambda-cd.yaml and functions/<name>/ for each.' },
    { name: 'force', type: 'boolean', description: 'Overwrite files that already exist.' },
  ],
  examples: ['lambda-cd init my-function', 'lambda-cd init . --name Orders --stages Gamma,Beta', 'lambda-cd init shop --functions Orders,Billing'],
  async run({ options, positionals }) {
    const { runInit } = await import('../../runners/init.js');
    const result = await runInit({
      dir: positionals[0] ?? '.',
      name: options.name as string | undefined,
      stages: commaList(options.stages as string),
      force: options.force === true,
      functions: typeof options.functions === 'string' ? commaList(options.functions) : undefined,
    });
    for (const file of result.files) process.stdout.write(`${file}\n`);
    return 0;
  },
};
