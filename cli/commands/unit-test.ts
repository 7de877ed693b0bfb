import { REPOSITORY_OPTIONS } from '../args.js';
import type { CommandSpec } from '../command.js';
import { openRepository } from '../repository.js';
import { CACHE_DIR_OPTION, FIND_LINKS_OPTION, INDEX_URL_OPTION, JOBS_OPTION, JSON_SUMMARY_OPTION, PYTHON_OPTION, TIMEOUT_OPTION, testRunOptions } from './shared-options.js';

export const command: CommandSpec = {
  name: 'unit-test',
  summary: "Run the function's unit tests (config.yaml Unittests) after installing their requirements.",
  reads: 'config/config.yaml (Unittests), the test folder and its requirements.txt, requirements.txt, src/',
  writes: 'a JUnit XML report (.lambda-cd/reports/unit-tests.xml); installed test requirements under --cache-dir',
  options: [
    ...REPOSITORY_OPTIONS,
    PYTHON_OPTION,
    JOBS_OPTION,
    TIMEOUT_OPTION,
    { name: 'report', type: 'string', valueName: 'FILE', defaultText: '.lambda-cd/reports/unit-tests.xml in the repository', description: 'JUnit XML report path (the generated buildspec reads the default).' },
    CACHE_DIR_OPTION,
    INDEX_URL_OPTION,
    FIND_LINKS_OPTION,
    JSON_SUMMARY_OPTION,
  ],
  examples: ['lambda-cd unit-test', 'lambda-cd unit-test --path examples/hello-python --jobs 4 --timeout 60', 'lambda-cd unit-test --json > unit-tests.json'],
  notes: [
    'Each test file runs as `python3 FILE` from the repository root with src/ and the installed requirements on PYTHONPATH; a non-zero exit is a failure.',
    'Without Unittests.Files every *.py file of the folder runs, sorted by name. Unittests.Runner: pytest or unittest runs that framework instead (pytest reports each test in the JUnit file).',
    "requirements.txt and the test folder's requirements.txt install in separate pip runs, the function's first on PYTHONPATH; boto3 and botocore come as the function's Runtime carries them unless your requirements name them.",
    'No Unittests (or a folder with no *.py files) runs nothing and passes: "no unit tests configured: nothing to run".',
    'Node.js functions (Runtime nodejs22.x, nodejs24.x): package-lock.json is installed with npm ci (dev dependencies included) into the cache, and each *.js, *.mjs or *.cjs file runs with `node --test FILE` (Runner: script runs `node FILE`, Runner: npm the package\'s test script).',
    'Exit 1 when a test failed or timed out; 2 when the configuration names a file or folder that does not exist, or a requirement no index offers; 3 when pip or the package index cannot be reached.',
  ],
  async run({ options }) {
    const repository = openRepository(options);
    const { runUnitTest } = await import('../../runners/unit-test.js');
    const { formatSummary, suiteJson } = await import('../../lib/test-execution.js');
    const json = options.json === true;
    const result = await runUnitTest({
      repository,
      ...testRunOptions(options, repository.root, 'unit-tests'),
      blocks: json ? process.stderr : process.stdout,
    });
    if (json) {
      process.stderr.write(formatSummary(result));
      process.stdout.write(suiteJson(result, { command: 'unit-test', runtime: repository.runtime }));
    } else process.stdout.write(formatSummary(result));
    (await import('../../lib/github.js')).githubTestSummary('unit-test', result);
    return result.exitCode;
  },
};
