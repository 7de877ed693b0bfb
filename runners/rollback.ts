/**
 * `lambda-cd rollback`: points a stage's alias back at the version it served before the stage's
 * last deploy, as the stage's stack records it (lib/function-versions.ts), and says from which
 * version to which. The pipelines run it when a stage's integration tests fail; by hand it is
 * one command, or `--to-version N` for any version the function has.
 *
 * The stack is left as it is: its template still names the newer version, so deploying the same
 * build again changes nothing (CloudFormation compares templates, not the alias), and the next
 * build publishes a version and moves the alias on.
 */
import { cloudFormationClient, lambdaClient } from '../lib/aws.js';
import { EnvironmentError, UsageError } from '../lib/errors.js';
import { progress, warn } from '../lib/output.js';
import {
  describeShift, moveAlias, previousVersion, readAlias, recordRolledBack, releasedOutputs, rolledBackVersions, stackOperations, versionDescription,
} from '../lib/function-versions.js';
import { excerpt, safeName } from '../lib/redact.js';
import { describeStack, inProgress, stackOutputs } from '../lib/stack-deploy.js';

export interface RollbackOptions {
  /** The pipeline's stack name. */
  stack: string;
  stage: string;
  /** The stage's stack; default <stack>Functions<Stage>. */
  functionStack?: string;
  /** Move to this version instead of the recorded previous one. */
  toVersion?: string;
  /** Only when the CI job has failed so far (CodeBuild's CODEBUILD_BUILD_SUCCEEDING=0, GitLab's CI_JOB_STATUS=failed). */
  onlyAfterFailure: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface RollbackResult {
  stack: string;
  stage: string;
  /** moved; none (the alias already serves the target); skipped (--only-after-failure and the job had not failed). */
  operation: 'moved' | 'none' | 'skipped';
  aliasArn?: string;
  from?: string;
  to?: string;
}

const STEP = 'rollback';
const STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;
const STAGE_NAME = /^[A-Za-z0-9]+$/;

export async function runRollback(options: RollbackOptions): Promise<RollbackResult> {
  const env = options.env ?? process.env;
  if (!STACK_NAME.test(options.stack)) throw new UsageError(`rollback: --stack expects the pipeline's CloudFormation stack name (a letter, then letters, digits or '-'), found ${JSON.stringify(options.stack)}`);
  if (!STAGE_NAME.test(options.stage)) throw new UsageError(`rollback: --stage expects a stage name (letters and digits), found ${JSON.stringify(options.stage)}`);
  if (options.toVersion !== undefined && !/^[1-9]\d*$/.test(options.toVersion)) throw new UsageError(`rollback: --to-version expects a version number (1, 2, ...), found ${JSON.stringify(options.toVersion)}`);
  const stackName = options.functionStack ?? `${options.stack}Functions${options.stage}`;
  if (!STACK_NAME.test(stackName)) throw new UsageError(`rollback: --function-stack expects a CloudFormation stack name, found ${JSON.stringify(stackName)}`);
  const base = { stack: stackName, stage: options.stage };
  if (options.onlyAfterFailure && !jobFailed(env)) {
    progress(STEP, `${stackName}: the job has not failed: nothing to roll back`);
    return { ...base, operation: 'skipped' };
  }

  const cloudFormation = await cloudFormationClient();
  const lambda = await lambdaClient();
  try {
    const stack = await describeStack(cloudFormation, stackName);
    if (!stack) throw new EnvironmentError(`rollback: stack ${stackName} does not exist in ${await cloudFormation.config.region()}: nothing to roll back (are --stack, --stage and the region right?)`);
    const status = stack.StackStatus ?? 'UNKNOWN';
    if (inProgress(status)) throw new EnvironmentError(`rollback: ${stackName} is ${status}: a deploy is running; wait until it ends (a failed deploy rolls the alias back by itself)`);
    const released = releasedOutputs(stackOutputs(stack), `stack ${stackName}`);
    if (!released) {
      throw new EnvironmentError(`rollback: ${stackName} publishes no versions (no output AliasArn: a template from the 2018 system or an older lambda-cd): there is no earlier version to go back to; deploy a build with lambda-cd's template first`);
    }
    const alias = await readAlias(lambda, released.aliasArn);
    if (alias.shifting) {
      throw new EnvironmentError(
        `rollback: the alias ${alias.name} is shifting traffic (${describeShift(alias)}): a CodeDeploy deployment is in progress, and rolls back by itself on its alarms; ` +
          'stop it in CodeDeploy (aws deploy stop-deployment --auto-rollback-enabled) rather than moving the alias under it',
      );
    }
    const rolledBack = await rolledBackVersions(lambda, alias.functionArn).catch((error: Error) => {
      warn(`rollback: cannot read the tags of ${alias.functionArn} (${excerpt(error.message, { maxChars: 200 })}): versions rolled back from before are not skipped`);
      return new Set<string>();
    });
    const target = options.toVersion ?? previousVersion(await stackOperations(cloudFormation, stack.StackId!), released.version, rolledBack);
    if (target === undefined) {
      throw new EnvironmentError(`rollback: ${stackName} records no version before version ${released.version} (it published it first, or its events no longer reach back): nothing to roll back to; give --to-version N for another version`);
    }
    if (alias.version === target) {
      progress(STEP, `${options.stage}: the alias ${alias.name} already serves version ${target}: nothing to do`);
      return { ...base, operation: 'none', aliasArn: alias.aliasArn, from: alias.version, to: target };
    }
    if (options.toVersion === undefined && alias.version !== released.version) {
      throw new EnvironmentError(
        `rollback: the alias ${alias.name} serves version ${alias.version}, not version ${released.version}, which ${stackName} last published: it was moved outside the stack; ` +
          `not moving it (give --to-version ${target} to move it to version ${target} anyway)`,
      );
    }
    const [fromText, toText] = await Promise.all([alias.version, target].map((version) => versionDescription(lambda, alias.functionArn, version)));
    if (toText === undefined) throw new EnvironmentError(`rollback: ${alias.functionArn} has no version ${target}${options.toVersion ? ' (--to-version)' : ' (deleted outside the stack?)'}`);
    await moveAlias(lambda, alias, target);
    if (Number(target) < Number(alias.version)) {
      await recordRolledBack(lambda, alias.functionArn, rolledBack, alias.version).catch((error: Error) => {
        warn(`rollback: could not tag ${alias.functionArn} with ${alias.version} as rolled back (${excerpt(error.message, { maxChars: 200 })}): a later rollback may return to it`);
      });
    }
    progress(STEP, `${options.stage}: moved the alias ${alias.name} from version ${alias.version}${zipOf(fromText)} to version ${target}${zipOf(toText)}`);
    return { ...base, operation: 'moved', aliasArn: alias.aliasArn, from: alias.version, to: target };
  } finally {
    cloudFormation.destroy();
    lambda.destroy();
  }
}

/** CodeBuild sets CODEBUILD_BUILD_SUCCEEDING in post_build; GitLab CI_JOB_STATUS in after_script. */
function jobFailed(env: NodeJS.ProcessEnv): boolean {
  if (env.CODEBUILD_BUILD_SUCCEEDING !== undefined) return env.CODEBUILD_BUILD_SUCCEEDING === '0';
  if (env.CI_JOB_STATUS !== undefined) return env.CI_JOB_STATUS === 'failed';
  throw new UsageError('rollback: --only-after-failure needs CODEBUILD_BUILD_SUCCEEDING (CodeBuild post_build) or CI_JOB_STATUS (GitLab after_script) to tell whether the job failed; neither is set');
}

/** ` (zip 0123456789ab)` from lambda-cd's version description, or ''. */
function zipOf(description: string | undefined): string {
  const zip = /zip ([0-9a-f]{12})/.exec(description ?? '')?.[1];
  return zip ? ` (zip ${zip})` : description ? ` (${safeName(description, 80)})` : '';
}
