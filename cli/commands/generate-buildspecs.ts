import path from 'node:path';
import { REPOSITORY_OPTIONS } from '../args.js';
import type { CommandSpec } from '../command.js';
import { BUILDSPEC_DIR } from '../../generator/constants.js';
import { optionalRepositoryRoot, printJson } from '../repository.js';
import { JSON_OPTION } from './shared-options.js';

export const command: CommandSpec = {
  name: 'generate buildspecs',
  summary: 'Write the CodeBuild buildspecs (unit tests, build, integration tests) that call the runners.',
  reads: 'lambda-cd.yaml at the repository root when there is one (a multi-function repository: the build steps become batch builds, one build per function); otherwise nothing (the repository is found only to place the default --out in it)',
  writes: 'buildspec-unittests.yml, buildspec-build.yml, buildspec-integrationtests.yml in --out',
  options: [
    REPOSITORY_OPTIONS[0]!,
    { name: 'out', type: 'string', valueName: 'DIR', defaultText: `${BUILDSPEC_DIR}/ in the repository (in the current folder outside one)`, description: 'Folder for the buildspecs.' },
    { ...JSON_OPTION, description: 'Print the paths written as JSON ({"files": [...]}).' },
  ],
  examples: ['lambda-cd generate buildspecs', 'lambda-cd generate buildspecs --out ci/'],
  async run({ options }) {
    const { runGenerateBuildspecs } = await import('../../runners/generate.js');
    const outDir = typeof options.out === 'string' ? path.resolve(options.out) : path.join(optionalRepositoryRoot(options) ?? process.cwd(), BUILDSPEC_DIR);
    const result = await runGenerateBuildspecs({ outDir, root: optionalRepositoryRoot(options) });
    if (options.json) printJson({ files: result.files.map((file) => path.resolve(file)) });
    else for (const file of result.files) process.stdout.write(`${file}\n`);
    return 0;
  },
};
