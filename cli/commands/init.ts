import path from 'node:path';
import { commaList } from '../args.js';
import type { CommandSpec } from '../command.js';
import { displayPath, note } from '../../lib/output.js';
import { findRepositoryRoot, printJson } from '../repository.js';
import { JSON_OPTION } from './shared-options.js';

export const command: CommandSpec = {
  name: 'init',
  summary: 'Create a new function repository (config, src, tests, buildspecs) ready for the runners.',
  reads: 'nothing (init never looks for a repository above DIR: it creates one in DIR)',
  writes: 'config/config.yaml, config/<Stage>/env.yaml (PROD too), src/app.py (Node.js: src/index.mjs and package.json), tests/unittests/ and tests/integrationtests/ (a test and a requirements.txt each for Python), requirements.txt, .gitignore and buildspecs/ in DIR',
  positionals: [{ name: 'DIR', description: 'Folder of the new repository (default: the current directory).' }],
  options: [
    { name: 'name', type: 'string', valueName: 'NAME', defaultText: 'the folder name', description: "The function's Name." },
    { name: 'stages', type: 'string', valueName: 'LIST', default: 'Gamma', description: 'Pre-production stages, comma-separated (PROD is always added).' },
    { name: 'functions', type: 'string', valueName: 'LIST', description: 'Create a repository of several functions (comma-separated names): lambda-cd.yaml and functions/<name>/ for each.' },
    { name: 'runtime', type: 'string', valueName: 'RUNTIME', default: 'python3.12', description: 'The Lambda runtime: python3.10 ... python3.14, or nodejs22.x / nodejs24.x for a Node.js function (package.json, src/index.mjs, node --test tests).' },
    { name: 'force', type: 'boolean', description: 'Overwrite files that already exist.' },
    { ...JSON_OPTION, description: 'Print the result (name, root, stages, files written) as JSON.' },
  ],
  examples: ['lambda-cd init my-function', 'lambda-cd init my-node-function --runtime nodejs22.x', 'lambda-cd init . --name Orders --stages Gamma,Beta', 'lambda-cd init shop --functions Orders,Billing'],
  async run({ options, positionals }) {
    const dir = path.resolve(positionals[0] ?? '.');
    // Commands run inside DIR find DIR (the nearest config/config.yaml); say so when another repository encloses it.
    const enclosing = findRepositoryRoot(path.dirname(dir));
    if (enclosing !== undefined && enclosing !== dir) note(`init: ${displayPath(dir)} lies inside the function repository ${displayPath(enclosing)}; commands run in ${displayPath(dir)} will work on the new one`);
    const { runInit } = await import('../../runners/init.js');
    const stages = commaList(options.stages as string);
    const result = await runInit({ dir, name: options.name as string | undefined, stages, force: options.force === true, functions: typeof options.functions === 'string' ? commaList(options.functions) : undefined, runtime: options.runtime as string | undefined });
    if (options.json) printJson({ name: result.name, root: result.root, stages: [...stages, 'PROD'], files: result.files.map((file) => path.resolve(file)) });
    else for (const file of result.files) process.stdout.write(`${file}\n`);
    return 0;
  },
};
