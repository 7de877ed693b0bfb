/**
 * What the GitHub Actions workflow, the GitLab CI file and the bootstrap template they need share:
 * the repository's stages, the pipeline's name, the variables a CI project must set (from the
 * bootstrap stack's outputs), and the checks of the values a user gives on the command line.
 * Generated files are data written through the YAML writer; a value never becomes part of an
 * expression or a script.
 */
import { PROD_STAGE } from '../lib/contract.js';
import { UsageError } from '../lib/errors.js';
import { ENV } from './constants.js';

export type CiKind = 'github' | 'gitlab';

export interface CiSpec {
  /** The pipeline's name (--stack): the stage stacks are <stack>Functions<Stage>. */
  stack: string;
  /** The function's Name (config/config.yaml). */
  functionName: string;
  /** Pre-production stages in order (PROD follows). */
  stages: string[];
  /** The branch that deploys. */
  branch: string;
  /** python3.12 -> "3.12": the interpreter the tests run with. */
  pythonVersion: string;
  /** nodejs24.x -> "24": the Node.js the tests of a Node.js function run on (undefined for Python). */
  nodeVersion?: string;
  /** The lambda-cd release the jobs install or run. */
  version: string;
}

export const allStages = (spec: Pick<CiSpec, 'stages'>) => [...spec.stages, PROD_STAGE];

/** CI variables the user sets once, from the bootstrap stack's outputs. */
export const CI_VARIABLES = {
  region: 'AWS_REGION',
  deployRole: 'LAMBDA_CD_ROLE_ARN',
  bucket: ENV.artifactBucket,
  cloudFormationRole: 'LAMBDA_CD_CLOUDFORMATION_ROLE_ARN',
} as const;

/** The audience both CI systems put in their OIDC tokens and the OIDC providers accept. */
export const OIDC_AUDIENCE = 'sts.amazonaws.com';
export const GITHUB_OIDC_HOST = 'token.actions.githubusercontent.com';

/** The files the build job hands to the deploy jobs (as in the CodeBuild build artifact). */
export const BUILD_OUTPUTS = (spec: Pick<CiSpec, 'stages'>) => [...allStages(spec).map((stage) => `dist/stack${stage}.json`), 'dist/code-location.json', 'dist/function.zip.manifest.json'];

const BRANCH_PATTERN = /^(?!-)(?!.*\.\.)(?!.*\/\/)[A-Za-z0-9._/-]+(?<![./])$/;
const GITHUB_REPOSITORY = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;
const GITLAB_PROJECT = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)+$/;
const HTTPS_HOST = /^https:\/\/([a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+)(:\d{1,5})?\/?$/;

export function checkBranch(command: string, branch: string): void {
  if (!BRANCH_PATTERN.test(branch)) throw new UsageError(`${command}: --branch expects a branch name (letters, digits, '.', '_', '-', '/'), found ${JSON.stringify(branch)}`);
}

export function checkRepository(command: string, ci: CiKind, repository: string): void {
  const [pattern, expected] = ci === 'github' ? [GITHUB_REPOSITORY, 'OWNER/REPO'] : [GITLAB_PROJECT, 'GROUP/PROJECT (subgroups allowed)'];
  if (!pattern.test(repository)) throw new UsageError(`${command}: --repository expects ${expected}, found ${JSON.stringify(repository)}`);
}

/** https://gitlab.example.com -> gitlab.example.com (the token's issuer host). */
export function gitlabHost(command: string, url: string): string {
  const match = HTTPS_HOST.exec(url);
  if (!match) throw new UsageError(`${command}: --gitlab-url expects https://HOST of your GitLab, found ${JSON.stringify(url)}`);
  return `${match[1]}${match[5] ?? ''}`;
}
