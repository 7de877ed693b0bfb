import type { CommandSpec } from '../command.js';

export const command: CommandSpec = {
  name: 'generate buildspecs',
  summary: 'Write the CodeBuild buildspecs (unit tests, build, integration tests) that call the runners.',
  reads: 'lambda-cd.yaml at --path when there is one (a multi-function repository: the build steps become batch builds, one build per function)',
  writes: 'buildspec-unittests.yml, buildspec-build.yml, buildspec-integrationtests.yml in --out',
  options: [
    { name: 'out', type: 'string', valueName: 'DIR', default: 'buildspecs', description: 'Folder for the buildspecs.' },
    { name: 'path', type: 'string', valueName: 'DIR', default: '.', env: 'LAMBDA_CD_PATH', description: 'The repository (its lambda-cd.yaml, when it has one, lists the functions).' },
  ],
  examples: ['lambda-cd generate buildspecs', 'lambda-cd generate buildspecs --out ci/'],
  async run({ options }) {
    const { runGenerateBuildspecs } = await import('../../runners/generate.js');
    const result = await runGenerateBuildspecs({ outDir: options.out as string, root: options.path as string });
    for (const file of result.files) process.stdout.write(`${file}\n`);
    return 0;
  },
};
