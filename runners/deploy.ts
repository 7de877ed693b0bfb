/**
 * `lambda-cd deploy`: puts a stage's template (create-cf) with the zip publish uploaded onto the
 * stage's stack `<Stack>Functions<Stage>`, the stack the generated CodePipeline deploys, from any
 * CI or a laptop.
 *
 * A new stack is made with CreateStack, an existing one changes through a change set shown
 * resource by resource before it runs. CreateStack for a new stack is what CodePipeline's deploy
 * action does too, and unlike executing a CREATE change set it records outputs and exports on
 * every CloudFormation endpoint (moto's change sets record none; see README).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { CloudFormationClient, Stack, StackEvent } from '@aws-sdk/client-cloudformation';
import { cloudFormationClient, explainAwsError, logsClient } from '../lib/aws.js';
import { PROD_STAGE, stageSettings, type RepositoryConfig } from '../lib/contract.js';
import { packageState, readStageTemplate, type CodeLocation, type StageTemplate } from '../lib/deploy-inputs.js';
import { ConfigError, EnvironmentError, UsageError } from '../lib/errors.js';
import { displayPath, progress } from '../lib/output.js';
import {
  createChangeSet, createStack, deleteChangeSet, deleteStack, describeFailure, describeStack, executeChangeSet, firstFailure, inProgress, isUpdatable,
  lastOperationEvents, seenEvents, setTerminationProtection, stackOutputs, succeeded, waitForStack, type ResourceChange, type StackRequest,
} from '../lib/stack-deploy.js';
import { didYouMean } from '../lib/suggest.js';
import { STAGE_TAG, templateNames } from '../lib/template.js';
import { checkStack } from './create-cf.js';
import { runPublish } from './publish.js';

export interface DeployOptions {
  repository: RepositoryConfig;
  /** The pipeline's stack name (part of the export Name+Stack+Stage). */
  stack: string;
  stage: string;
  /** The stage's stack; default <stack>Functions<Stage>. */
  functionStack?: string;
  /** Default: dist/stack<Stage>.json (or .yaml) in the repository. */
  templateFile?: string;
  manifestFile: string;
  zipFile: string;
  codeLocationFile: string;
  /** Where to publish when the code location is missing or stale. */
  bucket?: string;
  prefix: string;
  /** False: stop after showing the change set (--no-execute). */
  execute: boolean;
  waitSeconds: number;
  /** The role CloudFormation acts as. */
  roleArn?: string;
}

export type DeployOperation = 'create' | 'update' | 'none' | 'change-set' | 'plan';

export interface DeployResult {
  stack: string;
  stackId?: string;
  stage: string;
  /** The stack's status at the end (REVIEW_IN_PROGRESS for a new stack's change set left for review). */
  status: string;
  /** create, update, none (nothing to change), change-set (--no-execute), plan (--no-execute on a stack deploy would re-create). */
  operation: DeployOperation;
  changes: ResourceChange[];
  changeSetId?: string;
  codeLocation: CodeLocation;
  /** True when deploy published the zip first. */
  published: boolean;
  zipSha256: string;
  zipSize?: number;
  outputs: Record<string, string>;
  /** The value of the export Name+Stack+Stage (what integration-test reads). */
  functionArn?: string;
}

const STEP = 'deploy';
export const PIPELINE_TAG = 'lambda-cd:pipeline';
const STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;

export async function runDeploy(options: DeployOptions): Promise<DeployResult> {
  const { repository, stage } = options;
  // Everything local is checked before the first AWS call.
  if (!repository.stages.includes(stage)) {
    throw new UsageError(`deploy: --stage expects one of the repository's stages ${repository.stages.join(', ')} (the folders in config/), found ${JSON.stringify(stage)}${didYouMean(stage, repository.stages)}`);
  }
  checkStack(repository, options.stack, 'deploy');
  const stackName = options.functionStack ?? `${options.stack}Functions${stage}`;
  if (!STACK_NAME.test(stackName)) throw new UsageError(`deploy: --function-stack expects a CloudFormation stack name (a letter, then letters, digits or '-', at most 128), found ${JSON.stringify(stackName)}`);
  const names = templateNames(repository.name, options.stack, stage);
  const template = readStageTemplate(options.templateFile ?? defaultTemplate(repository.root, stage), names.exportName, `lambda-cd create-cf --stack ${options.stack}`);
  for (const parameter of template.parameters) {
    if (parameter !== 'S3Storage' && parameter !== 'S3Key') throw new ConfigError(`deploy: ${displayPath(template.file)}: Parameters: ${parameter}: not a parameter create-cf writes (S3Storage, S3Key); run \`lambda-cd create-cf\` again`);
  }
  const pkg = await packageState({ manifest: options.manifestFile, zip: options.zipFile, codeLocation: options.codeLocationFile }, options.bucket);

  let location = pkg.location;
  if (!location) {
    if (options.bucket === undefined) {
      throw new ConfigError(`deploy: ${pkg.staleReason}; give --bucket (or set LAMBDA_CD_ARTIFACT_BUCKET) to publish the zip first, or run \`lambda-cd publish\``);
    }
    if (!pkg.zipExists) throw new ConfigError(`deploy: ${pkg.staleReason}, and ${displayPath(options.zipFile)} is not there to publish; run \`lambda-cd package\` first`);
    progress(STEP, `${pkg.staleReason}: publishing the zip first`);
    const published = await runPublish({ repository, zipFile: options.zipFile, bucket: options.bucket, prefix: options.prefix, configFile: options.codeLocationFile });
    location = { bucket: published.bucket, key: published.key };
  }

  const request: StackRequest = {
    stackName,
    templateBody: template.body,
    parameters: { S3Storage: location.bucket, S3Key: location.key },
    capabilities: template.capabilities,
    tags: { ...stageSettings(repository, stage).tags, [STAGE_TAG]: stage, [PIPELINE_TAG]: options.stack },
    roleArn: options.roleArn,
  };
  const base = { stack: stackName, stage, codeLocation: location, published: !pkg.location, zipSha256: pkg.sha256, zipSize: pkg.zipSize };
  const context: Context = { client: await cloudFormationClient(), options, template, request, exportName: names.exportName, base };
  try {
    const existing = await usableStack(context, await describeStack(context.client, stackName));
    return existing === undefined ? await create(context) : existing === 'plan' ? plannedRecreate(context) : await update(context, existing);
  } finally {
    context.client.destroy();
  }
}

interface Context {
  client: CloudFormationClient;
  options: DeployOptions;
  template: StageTemplate;
  request: StackRequest;
  exportName: string;
  base: Pick<DeployResult, 'stack' | 'stage' | 'codeLocation' | 'published' | 'zipSha256' | 'zipSize'>;
}

function defaultTemplate(root: string, stage: string): string {
  const json = path.join(root, 'dist', `stack${stage}.json`);
  const yaml = path.join(root, 'dist', `stack${stage}.yaml`);
  return !existsSync(json) && existsSync(yaml) ? yaml : json;
}

/**
 * The stack if it can be updated; undefined when there is none (any more: a stack a failed first
 * create left in ROLLBACK_COMPLETE, or one that never got past review, is deleted here); 'plan'
 * for such a stack under --no-execute, which deletes nothing. States CloudFormation cannot update
 * are exit 3 with what to do.
 */
async function usableStack(context: Context, stack: Stack | undefined): Promise<Stack | 'plan' | undefined> {
  if (!stack) return undefined;
  const { client, request } = context;
  const name = request.stackName;
  const status = stack.StackStatus ?? 'UNKNOWN';
  if (isUpdatable(status)) {
    if (status === 'UPDATE_ROLLBACK_COMPLETE') progress(STEP, `${name}: its last update failed and was rolled back (UPDATE_ROLLBACK_COMPLETE); updating it`);
    return stack;
  }
  if (status === 'ROLLBACK_COMPLETE' || status === 'REVIEW_IN_PROGRESS') {
    const why = status === 'ROLLBACK_COMPLETE'
      ? `its first create failed${await failureText(client, stack.StackId!)} and was rolled back (ROLLBACK_COMPLETE); CloudFormation cannot update such a stack`
      : 'it was never created (REVIEW_IN_PROGRESS: it holds only change sets awaiting review, e.g. from deploy --no-execute)';
    if (!context.options.execute && status === 'ROLLBACK_COMPLETE') {
      progress(STEP, `${name}: ${why}; deploy without --no-execute deletes it and creates it again`);
      return 'plan';
    }
    progress(STEP, `${name}: ${why}: deleting it and creating it again`);
    if (stack.EnableTerminationProtection) {
      progress(STEP, `${name}: turning termination protection off to delete the failed stack (it holds no resources)`);
      await setTerminationProtection(client, stack.StackId!, false);
    }
    const seen = await seenEvents(client, stack.StackId!);
    await deleteStack(client, stack.StackId!, request.roleArn);
    const deleted = await waitForStack(client, stack.StackId!, { waitSeconds: context.options.waitSeconds, step: STEP, seen, label: 'deploy' });
    if (deleted.stack.StackStatus !== 'DELETE_COMPLETE') {
      const failure = firstFailure(deleted.events);
      throw new EnvironmentError(`deploy: could not delete ${name} to create it again: ${failure ? describeFailure(failure) : deleted.stack.StackStatus}; delete it by hand (aws cloudformation delete-stack --stack-name ${name}) and deploy again`);
    }
    return undefined;
  }
  const detail = await failureText(client, stack.StackId!);
  if (inProgress(status)) {
    throw new EnvironmentError(`deploy: ${name} is ${status}: another operation is running on it (another deploy, or the pipeline); wait until it ends (aws cloudformation describe-stacks --stack-name ${name}) and deploy again`);
  }
  const advice: Record<string, string> = {
    UPDATE_ROLLBACK_FAILED: `an update failed${detail} and so did its rollback; CloudFormation updates it only after the rollback ends: fix the cause, run aws cloudformation continue-update-rollback --stack-name ${name} (--resources-to-skip for resources that cannot go back), then deploy again`,
    IMPORT_ROLLBACK_FAILED: `an import failed${detail} and so did its rollback; run aws cloudformation continue-update-rollback --stack-name ${name}, then deploy again`,
    ROLLBACK_FAILED: `its first create failed${detail} and so did the rollback; delete it (aws cloudformation delete-stack --stack-name ${name}, --retain-resources for what cannot be deleted) and deploy again`,
    DELETE_FAILED: `an earlier delete failed${detail}; delete it (aws cloudformation delete-stack --stack-name ${name}, --retain-resources for what cannot be deleted) and deploy again`,
  };
  throw new EnvironmentError(`deploy: ${name} is ${status}: ${advice[status] ?? 'CloudFormation cannot update a stack in that state; see its events in the console'}`);
}

/** ` (HelloPythonLogGroup (AWS::Logs::LogGroup) CREATE_FAILED: reason)` from the stack's last operation, or ''. */
async function failureText(client: CloudFormationClient, stackId: string): Promise<string> {
  const failure = firstFailure(await lastOperationEvents(client, stackId));
  return failure ? ` (${describeFailure(failure)})` : '';
}

function planLines(template: StageTemplate): ResourceChange[] {
  return Object.entries(template.resources).map(([logicalId, type]) => ({ action: 'Add', logicalId, type }));
}

export function formatChange(change: ResourceChange): string {
  const replacement = change.replacement === 'Conditional' ? ' (may be replaced)' : '';
  return `${change.action.padEnd(7)} ${change.logicalId} ${change.type}${replacement}`;
}

function showChanges(stackName: string, changes: ResourceChange[]): void {
  if (changes.length === 0) progress(STEP, `${stackName}: no resource changes (parameters, outputs or tags change only)`);
  for (const change of changes) progress(STEP, formatChange(change));
}

function plannedRecreate(context: Context): DeployResult {
  const changes = planLines(context.template);
  showChanges(context.request.stackName, changes);
  return { ...context.base, status: 'ROLLBACK_COMPLETE', operation: 'plan', changes, outputs: {} };
}

async function create(context: Context): Promise<DeployResult> {
  const { client, request, options, template } = context;
  await checkLogGroupsFree(context, Object.keys(template.namedLogGroups));
  if (!options.execute) {
    progress(STEP, `${request.stackName} does not exist: a change set that creates it`);
    const changeSet = await createChangeSet(client, request, { type: 'CREATE', name: changeSetName(), description: description(context), waitSeconds: options.waitSeconds });
    showChanges(request.stackName, changeSet.changes);
    leftForReview(request.stackName, changeSet.id);
    return { ...context.base, stackId: changeSet.stackId, status: 'REVIEW_IN_PROGRESS', operation: 'change-set', changes: changeSet.changes, changeSetId: changeSet.id, outputs: {} };
  }
  const changes = planLines(template);
  progress(STEP, `creating ${request.stackName} (${changes.length} resources)`);
  showChanges(request.stackName, changes);
  let stackId: string;
  try {
    stackId = await createStack(client, request, { terminationProtection: context.base.stage === PROD_STAGE });
  } catch (error) {
    // AWS refuses a create before making anything; an emulator may leave a stack behind: say in what state.
    const left = await describeStack(client, request.stackName).catch(() => undefined);
    if (!left || !(error instanceof EnvironmentError)) throw error;
    throw new EnvironmentError(`${error.message}; the stack was left ${left.StackStatus}`);
  }
  const waited = await waitForStack(client, stackId, { waitSeconds: options.waitSeconds, step: STEP, seen: new Set(), label: 'deploy' });
  return finish(context, waited.stack, waited.events, 'create', changes);
}

async function update(context: Context, stack: Stack): Promise<DeployResult> {
  const { client, request, options } = context;
  const changeSet = await createChangeSet(client, request, { type: 'UPDATE', name: changeSetName(), description: description(context), waitSeconds: options.waitSeconds });
  if (!changeSet.hasChanges) {
    progress(STEP, `${request.stackName}: no changes (${stack.StackStatus})`);
    return { ...context.base, stackId: stack.StackId, status: stack.StackStatus ?? 'UNKNOWN', operation: 'none', changes: [], outputs: stackOutputs(stack), functionArn: exportedValue(stack, context.exportName) };
  }
  showChanges(request.stackName, changeSet.changes);
  const added = changeSet.changes.filter((change) => change.action === 'Add').map((change) => change.logicalId);
  await checkLogGroupsFree(context, added.filter((id) => id in context.template.namedLogGroups), changeSet.id);
  if (!options.execute) {
    leftForReview(request.stackName, changeSet.id);
    return { ...context.base, stackId: stack.StackId, status: stack.StackStatus ?? 'UNKNOWN', operation: 'change-set', changes: changeSet.changes, changeSetId: changeSet.id, outputs: stackOutputs(stack) };
  }
  if (context.base.stage === PROD_STAGE && !stack.EnableTerminationProtection) {
    progress(STEP, `${request.stackName}: turning termination protection on (PROD stacks keep it)`);
    await setTerminationProtection(client, stack.StackId!, true);
  }
  const seen = await seenEvents(client, stack.StackId!);
  progress(STEP, `updating ${request.stackName} (${changeSet.changes.length} resource changes)`);
  await executeChangeSet(client, changeSet.id, request.stackName);
  const waited = await waitForStack(client, stack.StackId!, { waitSeconds: options.waitSeconds, step: STEP, seen, label: 'deploy' });
  return finish(context, waited.stack, waited.events, 'update', changeSet.changes);
}

function leftForReview(stackName: string, id: string): void {
  progress(STEP, `${stackName}: change set left for review (--no-execute); run it with aws cloudformation execute-change-set --change-set-name ${id}, or run deploy again without --no-execute`);
}

/** Change set names: a letter, then letters, digits and '-'; unique per run. */
function changeSetName(): string {
  return `lambda-cd-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
}

function description(context: Context): string {
  return `lambda-cd deploy ${context.base.stage}: zip ${context.base.zipSha256.slice(0, 12)}`;
}

async function finish(context: Context, stack: Stack, events: StackEvent[], operation: DeployOperation, changes: ResourceChange[]): Promise<DeployResult> {
  const name = context.request.stackName;
  const status = stack.StackStatus ?? 'UNKNOWN';
  if (!succeeded(status)) {
    const failure = firstFailure(events);
    const ended: Record<string, string> = {
      ROLLBACK_COMPLETE: 'the create was rolled back (ROLLBACK_COMPLETE); the next deploy deletes the stack and creates it again',
      UPDATE_ROLLBACK_COMPLETE: 'the update was rolled back (UPDATE_ROLLBACK_COMPLETE): the stack runs what it ran before',
      UPDATE_ROLLBACK_FAILED: `the rollback failed too (UPDATE_ROLLBACK_FAILED): fix the cause, run aws cloudformation continue-update-rollback --stack-name ${name}, then deploy again`,
      ROLLBACK_FAILED: `the rollback failed too (ROLLBACK_FAILED): delete the stack (aws cloudformation delete-stack --stack-name ${name}) and deploy again`,
    };
    throw new EnvironmentError(`deploy: ${name}: ${failure ? describeFailure(failure) : `${operation} failed`}; ${ended[status] ?? `the stack ended ${status}`}`);
  }
  const outputs = stackOutputs(stack);
  if (context.template.outputs.length > 0 && Object.keys(outputs).length === 0) {
    throw new EnvironmentError(
      `deploy: ${name} is ${status} but has none of the outputs its template declares (${context.template.outputs.join(', ')}), so the export ${context.exportName} integration-test reads is missing; ` +
        'an endpoint that records no outputs for change sets (moto) leaves stacks made by a change set so: delete the stack and deploy again (deploy creates new stacks with CreateStack)',
    );
  }
  progress(STEP, `${name}: ${status}`);
  return { ...context.base, stackId: stack.StackId, status, operation, changes, outputs, functionArn: exportedValue(stack, context.exportName) };
}

function exportedValue(stack: Stack, exportName: string): string | undefined {
  return stack.Outputs?.find((output) => output.ExportName === exportName)?.OutputValue;
}

/**
 * A log group the template names and the stack does not own yet must not exist: creating it would
 * fail ("already exists"), typically because Lambda made /aws/lambda/<function> before lambda-cd
 * managed logs (the 2018 system). Checked before anything is created. Without the right to
 * list log groups, the check is skipped.
 */
async function checkLogGroupsFree(context: Context, logicalIds: string[], changeSetId?: string): Promise<void> {
  if (logicalIds.length === 0) return;
  const client = await logsClient();
  const { DescribeLogGroupsCommand } = await import('@aws-sdk/client-cloudwatch-logs');
  try {
    for (const id of logicalIds) {
      const name = context.template.namedLogGroups[id]!;
      let found: boolean;
      try {
        const response = await client.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: name }));
        found = (response.logGroups ?? []).some((group) => group.logGroupName === name);
      } catch (error) {
        if (/AccessDenied|not authorized/i.test(`${(error as Error).name} ${(error as Error).message}`)) {
          progress(STEP, `cannot list log groups (no logs:DescribeLogGroups): not checking that ${name} is free`);
          return;
        }
        throw explainAwsError(error, `DescribeLogGroups ${name}`);
      }
      if (!found) continue;
      if (changeSetId) await deleteChangeSet(context.client, changeSetId);
      throw new EnvironmentError(
        `deploy: ${context.request.stackName}: ${id} (AWS::Logs::LogGroup) cannot be created: the log group ${name} already exists outside this stack ` +
          `(Lambda makes it when a function logs before a stack manages its logs, as under the 2018 system); delete it (aws logs delete-log-group --log-group-name ${name}) or import it into the stack, then deploy again`,
      );
    }
  } finally {
    client.destroy();
  }
}
