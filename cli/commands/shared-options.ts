import path from 'node:path';
import { usableCpus } from '../../lib/cpus.js';
import type { PipOptions } from '../../lib/python.js';
import type { OptionSpec, ParsedOptions } from '../args.js';
import { outputPath } from '../repository.js';

/** Options shared by the commands that install Python packages or run Python. */
export const PYTHON_OPTION: OptionSpec = {
  name: 'python', type: 'string', valueName: 'PATH', default: 'python3', env: 'LAMBDA_CD_PYTHON',
  description: 'Python interpreter that runs tests and pip.',
};
export const INDEX_URL_OPTION: OptionSpec = {
  name: 'index-url', type: 'string', valueName: 'URL', defaultText: "pip's configuration",
  description: 'Package index for pip (PIP_INDEX_URL and pip.conf are honoured too).',
};
export const FIND_LINKS_OPTION: OptionSpec = {
  name: 'find-links', type: 'list', valueName: 'DIR|URL',
  description: 'Extra wheel location for pip (PIP_FIND_LINKS is honoured too).',
};
export const CACHE_DIR_OPTION: OptionSpec = {
  name: 'cache-dir', type: 'string', valueName: 'DIR', env: 'LAMBDA_CD_CACHE_DIR', defaultText: '.lambda-cd/cache in the repository',
  description: 'Where installed requirements are kept between runs (list it in the buildspec cache.paths).',
};
export const STACK_OPTION: OptionSpec = {
  name: 'stack', type: 'string', valueName: 'NAME', env: 'LAMBDA_CD_STACK', required: true,
  description: 'The pipeline stack name; part of the alias and export names (Name+Stack+Stage).',
};
export const JOBS_OPTION: OptionSpec = {
  name: 'jobs', type: 'number', valueName: 'N', min: 1, defaultText: 'CPUs available (the container\'s CPU quota where one is set)',
  description: 'Test files run at once.',
};
export const TIMEOUT_OPTION: OptionSpec = {
  name: 'timeout', type: 'number', valueName: 'SECONDS', min: 1, default: 300,
  description: 'A test file running longer is stopped with its process tree and counted as failed.',
};

/** --json for a command whose result is a set of paths or values: stdout holds only the JSON, progress stays on stderr. */
export const JSON_OPTION: OptionSpec = { name: 'json', type: 'boolean', description: 'Print the result as JSON on stdout (progress and notes stay on stderr).' };

export const JSON_SUMMARY_OPTION: OptionSpec = {
  name: 'json', type: 'boolean',
  description: "Print the result as JSON on stdout (each file's status and duration, and pytest's own cases); test output goes to stderr.",
};

/** --index-url and --find-links as the runners take them. */
export function pipOptions(options: ParsedOptions): PipOptions {
  // pip runs in the repository: a folder given relative to where the user stands must stay that folder.
  const local = (location: string) => (/^[a-z][a-z0-9+.-]*:/i.test(location) ? location : path.resolve(location));
  const indexUrl = options['index-url'] as string | undefined;
  return { indexUrl: indexUrl === undefined ? undefined : local(indexUrl), findLinks: ((options['find-links'] as string[] | undefined) ?? []).map(local) };
}

/**
 * --python: a bare name (`python3.12`) is looked up on PATH; a path (`.venv/bin/python`) is
 * relative to where the user stands, although tests and pip run in the repository.
 */
export function pythonOption(options: ParsedOptions): string {
  const python = options.python as string;
  return python.includes('/') ? path.resolve(python) : python;
}

/** --cache-dir, defaulting to the repository's ignored build folder. */
export function cacheDir(options: ParsedOptions, root: string): string {
  return outputPath(options, 'cache-dir', root, '.lambda-cd/cache');
}

/** What unit-test and integration-test both take: interpreter, parallelism, timeout, report, cache, pip. */
export function testRunOptions(options: ParsedOptions, root: string, report: string) {
  return {
    python: pythonOption(options),
    jobs: (options.jobs as number | undefined) ?? usableCpus(),
    timeoutSeconds: options.timeout as number,
    reportPath: outputPath(options, 'report', root, `.lambda-cd/reports/${report}.xml`),
    cacheDir: cacheDir(options, root),
    pip: pipOptions(options),
  };
}

/** --region and --profile as the AWS CLI has them; every command that calls AWS takes both. */
export const AWS_OPTIONS: OptionSpec[] = [
  { name: 'region', type: 'string', valueName: 'REGION', defaultText: 'AWS_REGION, AWS_DEFAULT_REGION or the profile\'s region', description: 'The AWS region (wins over the environment, as in the AWS CLI).' },
  { name: 'profile', type: 'string', valueName: 'NAME', defaultText: 'AWS_PROFILE, else the environment\'s credentials', description: 'A profile from ~/.aws/config (wins over AWS_PROFILE and access keys in the environment).' },
];

/** Applies --region/--profile (and a CI job's OIDC token) before the command creates a client. */
export async function applyAwsOptions(command: string, options: ParsedOptions): Promise<void> {
  const { useAwsSettings } = await import('../../lib/aws.js');
  useAwsSettings({ region: options.region as string | undefined, profile: options.profile as string | undefined }, command);
}

export const BRANCH_OPTION: OptionSpec = {
  name: 'branch', type: 'string', valueName: 'NAME', default: 'main',
  description: 'The branch that deploys (pushes to other branches and merge requests run the unit tests only).',
};
