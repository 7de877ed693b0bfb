import path from 'node:path';
import { REPOSITORY_OPTIONS } from '../args.js';
import { PACKAGE_MANIFEST_FILE } from '../../generator/constants.js';
import type { CommandSpec } from '../command.js';
import { openRepository, requireStage } from '../repository.js';
import { AWS_OPTIONS, CACHE_DIR_OPTION, FIND_LINKS_OPTION, INDEX_URL_OPTION, JOBS_OPTION, JSON_SUMMARY_OPTION, PYTHON_OPTION, STACK_OPTION, TIMEOUT_OPTION, applyAwsOptions, testRunOptions } from './shared-options.js';

export const command: CommandSpec = {
  name: 'integration-test',
  summary: "Find the deployed function's ARN from the stack's exports and run the integration tests against it.",
  reads: 'config/config.yaml (Integrationtests or TestFolder), the test folder and its requirements.txt, dist/function.zip.manifest.json when present; CloudFormation exports and outputs; Lambda (the function and its alias)',
  writes: 'a JUnit XML report (.lambda-cd/reports/integration-tests.xml); installed test requirements under --cache-dir',
  options: [
    ...REPOSITORY_OPTIONS,
    STACK_OPTION,
    { name: 'stage', type: 'string', valueName: 'STAGE', env: 'LAMBDA_CD_STAGE', required: true, description: 'The stage whose function is tested.' },
    { name: 'function-stack', type: 'string', valueName: 'NAME', env: 'LAMBDA_CD_FUNCTION_STACK', description: "The deployed function stack's name: read its outputs with one DescribeStacks call instead of listing exports." },
    { name: 'invoke', type: 'list', valueName: 'EVENT.json', description: 'Invoke the function with this event first; a function error fails the run.' },
    { name: 'wait', type: 'number', valueName: 'SECONDS', min: 0, default: 300, description: 'How long to wait for a Pending or updating function to become ready.' },
    PYTHON_OPTION,
    JOBS_OPTION,
    TIMEOUT_OPTION,
    { name: 'report', type: 'string', valueName: 'FILE', defaultText: '.lambda-cd/reports/integration-tests.xml in the repository', description: 'JUnit XML report path (the generated buildspec reads the default).' },
    CACHE_DIR_OPTION,
    INDEX_URL_OPTION,
    FIND_LINKS_OPTION,
    ...AWS_OPTIONS,
    JSON_SUMMARY_OPTION,
  ],
  examples: ['lambda-cd integration-test --stack MyPipeline --stage Gamma', 'AWS_ENDPOINT_URL=http://127.0.0.1:5000 lambda-cd integration-test --stack MyPipeline --stage Gamma --invoke events/ping.json'],
  notes: [
    'Each test file runs as `python3 FILE FUNCTION_ARN`; the environment also holds FUNCTION_ARN, FUNCTION_ALIAS_ARN and FUNCTION_VERSION (the stage alias and the version it serves), FUNCTION_NAME, STAGE, STACK_NAME, AWS_REGION and the stack outputs. --invoke invokes the alias.',
    'Before any test, the alias must serve the version the stack\'s last deploy published (output FunctionVersion), with all its traffic, and, when dist/function.zip.manifest.json is there, that version must be this build\'s zip (output ZipSha256); otherwise exit 3: nothing is tested against older code. Stacks whose template publishes no versions (2018) are tested through FUNCTION_ARN, with a warning.',
    'Old-style tests read the ARN from sys.argv[1]; Runner pytest/unittest tests read FUNCTION_ARN. Each --invoke counts as one test in the summary and the JUnit report.',
    'No Integrationtests/TestFolder (or a folder with no *.py files) and no --invoke runs nothing, calls no AWS API and passes.',
    'Exit 1 when a test or an --invoke failed; 2 for configuration errors; 3 when the export, the stack or the function is missing, AWS is unreachable, or pip cannot reach the package index.',
    'AWS region and credentials come from the usual AWS environment and profiles; AWS_ENDPOINT_URL points the clients at another endpoint.',
  ],
  async run({ options }) {
    const repository = openRepository(options);
    requireStage('integration-test', repository, options.stage as string);
    await applyAwsOptions('integration-test', options);
    const { runIntegrationTest } = await import('../../runners/integration-test.js');
    const { formatSummary, suiteJson } = await import('../../lib/test-execution.js');
    const json = options.json === true;
    const result = await runIntegrationTest({
      repository,
      stack: options.stack as string,
      stage: options.stage as string,
      functionStack: options['function-stack'] as string | undefined,
      invokeEvents: (options.invoke as string[] | undefined) ?? [],
      waitSeconds: options.wait as number,
      ...testRunOptions(options, repository.root, 'integration-tests'),
      blocks: json ? process.stderr : process.stdout,
      manifestFile: path.join(repository.root, PACKAGE_MANIFEST_FILE),
    });
    if (json) {
      process.stderr.write(formatSummary(result));
      process.stdout.write(suiteJson(result, { command: 'integration-test', stack: options.stack, stage: options.stage, functionArn: result.functionArn ?? null }));
    } else process.stdout.write(formatSummary(result));
    const github = await import('../../lib/github.js');
    github.githubOutputs({ 'function-arn': result.functionArn, 'alias-arn': result.aliasArn, 'function-version': result.functionVersion });
    github.githubTestSummary(`integration-test ${options.stage as string}`, result);
    return result.exitCode;
  },
};
