/**
 * `generate github-actions`, `generate gitlab-ci` and `generate ci-bootstrap`: the files another
 * CI system needs, made for one repository (its stages, Name and Runtime from config/) and one
 * pipeline name (--stack), each written atomically.
 */
import { writeFileAtomic } from '../lib/atomic.js';
import { PROD_STAGE, type RepositoryConfig } from '../lib/contract.js';
import { actionsBeyondBoundary, EXTRA_ACTIONS_PARAMETER } from '../lib/function-boundary.js';
import { displayPath, progress, warn } from '../lib/output.js';
import type { PipOptions } from '../lib/python.js';
import { NODE_RUNTIMES, RUNTIMES } from '../lib/runtimes.js';
import { readStageIam } from '../lib/stage-iam.js';
import { stagePythonTools } from '../languages/python/stage-python-tools.js';
import { templateNames } from '../lib/template.js';
import { version } from '../lib/version.js';
import { renderBootstrap } from '../generator/ci-bootstrap.js';
import { checkBranch, checkRepository, gitlabHost, type CiKind, type CiSpec } from '../generator/ci-common.js';
import { renderWorkflow } from '../generator/github-actions.js';
import { renderGitlabCi } from '../generator/gitlab-ci.js';
import { checkStack } from './create-cf.js';

export interface CiFileOptions {
  repository: RepositoryConfig;
  stack: string;
  branch: string;
  outFile: string;
}

function ciSpec(command: string, options: CiFileOptions): CiSpec {
  checkStack(options.repository, options.stack, command);
  checkBranch(command, options.branch);
  const { repository } = options;
  return {
    stack: options.stack,
    functionName: repository.name,
    stages: repository.stages.filter((stage) => stage !== PROD_STAGE),
    branch: options.branch,
    pythonVersion: RUNTIMES[repository.runtime]?.pythonVersion ?? '3.12',
    nodeVersion: NODE_RUNTIMES[repository.runtime]?.nodeVersion,
    version: version(),
  };
}

async function write(file: string, text: string): Promise<{ file: string }> {
  await writeFileAtomic(file, text);
  return { file: displayPath(file) };
}

export async function runGenerateGithubActions(options: CiFileOptions): Promise<{ file: string }> {
  return write(options.outFile, renderWorkflow(ciSpec('generate github-actions', options)));
}

export async function runGenerateGitlabCi(options: CiFileOptions & { image: string }): Promise<{ file: string }> {
  return write(options.outFile, renderGitlabCi({ ...ciSpec('generate gitlab-ci', options), image: options.image }));
}

export interface BootstrapOptions extends CiFileOptions {
  ci: CiKind;
  repositoryId?: string;
  gitlabUrl: string;
  python: string;
  cacheDir: string;
  pip: PipOptions;
}

export async function runGenerateCiBootstrap(options: BootstrapOptions): Promise<{ file: string }> {
  const command = 'generate ci-bootstrap';
  const spec = ciSpec(command, options);
  if (options.repositoryId !== undefined) checkRepository(command, options.ci, options.repositoryId);
  const host = gitlabHost(command, options.gitlabUrl);
  const extraActions = boundaryExtras(await stageActions(options));
  return write(options.outFile, renderBootstrap({ ...spec, ci: options.ci, repository: options.repositoryId, gitlabHost: host, extraActions }));
}

/**
 * What the stage iam files grant beyond the boundary's lists (lib/function-boundary.ts, the same
 * boundary the CodePipeline template creates) becomes the default of FunctionBoundaryExtraActions,
 * in plain sight in the template for whoever deploys it. Wildcard grants are not copied into it: the
 * boundary lets through only the listed actions they match.
 */
function boundaryExtras(granted: { source: string; action: string }[]): string[] {
  const { beyond, patterns } = actionsBeyondBoundary(granted.map(({ action }) => action));
  for (const pattern of patterns) {
    const sources = [...new Set(granted.filter(({ action }) => action === pattern).map(({ source }) => source))].join(', ');
    warn(`${sources}: ${pattern}: the functions' permissions boundary lets through only the actions of its list this matches; name the others in ${EXTRA_ACTIONS_PARAMETER} when deploying the bootstrap`);
  }
  progress('generate', beyond.length
    ? `the boundary allows lambda-cd's list and, through ${EXTRA_ACTIONS_PARAMETER}'s default, ${beyond.join(', ')} (granted by the stage iam files)`
    : patterns.length ? "the boundary allows lambda-cd's list" : "the boundary allows lambda-cd's list, which covers every action the stage iam files grant");
  return beyond;
}

/**
 * The Allow actions of every stage's iam file (as create-cf reads them, iam.py included, and with
 * its wildcard rule), for the boundary; managed policies' actions are unknown here, so they are
 * named in a warning.
 */
async function stageActions(options: BootstrapOptions): Promise<{ source: string; action: string }[]> {
  const { repository } = options;
  const stages = repository.stages;
  const pythonPath = await stagePythonTools({ config: repository, stages, python: options.python, cacheDir: options.cacheDir, pip: options.pip, step: 'generate' });
  const actions: { source: string; action: string }[] = [];
  for (const stage of stages) {
    const iam = await readStageIam(repository, stage, templateNames(repository.name, options.stack, stage).roleId, { python: options.python, pythonPath });
    if (!iam.source) continue;
    for (const policy of (iam.properties.Policies as { PolicyDocument: { Statement: unknown } }[] | undefined) ?? []) {
      for (const statement of [policy.PolicyDocument.Statement].flat() as Record<string, unknown>[]) {
        if (statement?.Effect !== 'Allow' || statement.Action === undefined) continue;
        for (const action of [statement.Action].flat()) {
          if (typeof action !== 'string') continue;
          actions.push({ source: iam.source, action });
        }
      }
    }
    if (Array.isArray(iam.properties.ManagedPolicyArns) && iam.properties.ManagedPolicyArns.length > 0) {
      warn(`${iam.source}: ManagedPolicyArns: what those managed policies grant beyond the boundary's list and the actions of the iam files is cut by the boundary (list the actions the function uses under Statements)`);
    }
  }
  return actions;
}
