/**
 * `generate github-actions`, `generate gitlab-ci` and `generate ci-bootstrap`: the files another
 * CI system needs, made for one repository (its stages, Name and Runtime from config/) and one
 * pipeline name (--stack), each written atomically.
 */
import { writeFileAtomic } from '../lib/atomic.js';
import { PROD_STAGE, type RepositoryConfig } from '../lib/contract.js';
import { ConfigError } from '../lib/errors.js';
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
  const functionActions = await stageActions(options);
  progress('generate', `the function roles' boundary allows lambda-cd's own grants${functionActions.length ? ` and ${functionActions.length} actions of the stage iam files` : ''}`);
  return write(options.outFile, renderBootstrap({ ...spec, ci: options.ci, repository: options.repositoryId, gitlabHost: host, functionActions }));
}

/**
 * The Allow actions of every stage's iam file (as create-cf reads them, iam.py included), for
 * the boundary. A boundary that allows "*" bounds nothing, so such a grant is refused; managed
 * policies' actions are unknown here, so they are named in a warning.
 */
async function stageActions(options: BootstrapOptions): Promise<string[]> {
  const { repository } = options;
  const stages = repository.stages;
  const pythonPath = await stagePythonTools({ config: repository, stages, python: options.python, cacheDir: options.cacheDir, pip: options.pip, step: 'generate' });
  const actions = new Set<string>();
  for (const stage of stages) {
    const iam = await readStageIam(repository, stage, templateNames(repository.name, options.stack, stage).roleId, { python: options.python, pythonPath });
    if (!iam.source) continue;
    for (const policy of (iam.properties.Policies as { PolicyDocument: { Statement: unknown } }[] | undefined) ?? []) {
      for (const statement of [policy.PolicyDocument.Statement].flat() as Record<string, unknown>[]) {
        if (statement?.Effect !== 'Allow' || statement.Action === undefined) continue;
        for (const action of [statement.Action].flat()) {
          if (typeof action !== 'string') continue;
          if (action === '*') throw new ConfigError(`${iam.source}: grants Action "*": the functions' permissions boundary cannot allow every action (it would bound nothing); list the actions the function needs`);
          if (action.endsWith(':*')) warn(`${iam.source}: ${action} goes into the permissions boundary as it is: every action of that service; list the actions the function needs instead`);
          actions.add(action);
        }
      }
    }
    if (Array.isArray(iam.properties.ManagedPolicyArns) && iam.properties.ManagedPolicyArns.length > 0) {
      warn(`${iam.source}: ManagedPolicyArns: the boundary allows only the actions listed in iam files; what those managed policies grant beyond them is cut by the boundary (list the actions the function uses under Statements)`);
    }
  }
  return [...actions].sort();
}
