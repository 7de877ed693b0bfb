/**
 * CloudFormation stack operations, for `deploy` and for whatever else reads or moves a function
 * stack (a rollback, version outputs): describe a stack, change sets (create, wait, list,
 * execute, delete), create and delete stacks, wait for an operation while showing its events,
 * the first failure among them, outputs. Clients come from lib/aws.ts; AWS's own texts (event
 * reasons, status reasons) are foreign text and pass through lib/redact.ts before any message.
 */
import type { Capability, CloudFormationClient, Output, Stack, StackEvent } from '@aws-sdk/client-cloudformation';
import { explainAwsError } from './aws.js';
import { EnvironmentError } from './errors.js';
import { progress } from './output.js';
import { excerpt, safeName } from './redact.js';

export interface StackRequest {
  stackName: string;
  templateBody: string;
  parameters: Record<string, string>;
  capabilities: Capability[];
  tags: Record<string, string>;
  /** The role CloudFormation acts as (the pipeline's deploy role); absent: the caller's rights. */
  roleArn?: string;
}

/** One line of a change set: what happens to one resource. */
export interface ResourceChange {
  /** Add, Modify, Remove, Replace (a Modify that replaces), Import, Dynamic. */
  action: string;
  logicalId: string;
  type: string;
  /** For Modify: CloudFormation's True, False or Conditional. */
  replacement?: string;
}

export interface ChangeSetResult {
  id: string;
  stackId: string;
  /** False when CloudFormation found nothing to change (the change set is deleted again). */
  hasChanges: boolean;
  changes: ResourceChange[];
}

/** Statuses from which a stack can be updated. */
const UPDATABLE = new Set(['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE', 'IMPORT_COMPLETE', 'IMPORT_ROLLBACK_COMPLETE']);
/** Statuses an operation ends in successfully. */
const SUCCEEDED = new Set(['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'DELETE_COMPLETE', 'IMPORT_COMPLETE']);
/** CloudFormation's wording when a change set or update would change nothing. */
const NO_CHANGES = /didn't contain changes|No updates are to be performed/i;

export const isUpdatable = (status: string) => UPDATABLE.has(status);
export const succeeded = (status: string) => SUCCEEDED.has(status);
/** Still moving: a later call would find another status. REVIEW_IN_PROGRESS waits for a person, not for CloudFormation. */
export const inProgress = (status: string) => status.endsWith('_IN_PROGRESS') && status !== 'REVIEW_IN_PROGRESS';

async function sdk() {
  return import('@aws-sdk/client-cloudformation');
}

async function call<T>(action: string, request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    throw explainAwsError(error, action);
  }
}

const parameterList = (parameters: Record<string, string>) => Object.entries(parameters).map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue }));
const tagList = (tags: Record<string, string>) => Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));

/** The stack, or undefined when no stack of that name exists (deleted stacks only by id). */
export async function describeStack(client: CloudFormationClient, nameOrId: string): Promise<Stack | undefined> {
  const { DescribeStacksCommand } = await sdk();
  try {
    const response = await client.send(new DescribeStacksCommand({ StackName: nameOrId }));
    return response.Stacks?.[0];
  } catch (error) {
    if ((error as { name?: string }).name === 'ValidationError' && /does not exist/i.test((error as Error).message ?? '')) return undefined;
    throw explainAwsError(error, `DescribeStacks ${nameOrId}`);
  }
}

export async function requireStack(client: CloudFormationClient, nameOrId: string): Promise<Stack> {
  const stack = await describeStack(client, nameOrId);
  if (!stack) throw new EnvironmentError(`CloudFormation stack ${nameOrId} does not exist (any more)`);
  return stack;
}

/** OutputKey -> OutputValue. */
export function stackOutputs(stack: Stack): Record<string, string> {
  return Object.fromEntries((stack.Outputs ?? []).filter((o: Output) => o.OutputKey && o.OutputValue !== undefined).map((o) => [o.OutputKey!, o.OutputValue!]));
}

/**
 * A change set for `request`: waits until CloudFormation has computed it and lists its changes
 * (every page). When there is nothing to change, the change set is deleted and hasChanges is false.
 */
export async function createChangeSet(client: CloudFormationClient, request: StackRequest, options: { type: 'CREATE' | 'UPDATE'; name: string; description: string; waitSeconds: number }): Promise<ChangeSetResult> {
  const { CreateChangeSetCommand } = await sdk();
  let created: { Id?: string; StackId?: string };
  try {
    created = await client.send(new CreateChangeSetCommand({
      StackName: request.stackName,
      ChangeSetName: options.name,
      ChangeSetType: options.type,
      Description: options.description,
      TemplateBody: request.templateBody,
      Parameters: parameterList(request.parameters),
      Capabilities: request.capabilities,
      Tags: tagList(request.tags),
      RoleARN: request.roleArn,
    }));
  } catch (error) {
    // Some endpoints refuse an empty update at once instead of failing the change set.
    if (NO_CHANGES.test((error as Error).message ?? '')) return { id: '', stackId: '', hasChanges: false, changes: [] };
    throw explainAwsError(error, `CreateChangeSet ${request.stackName}`);
  }
  const id = created.Id!;
  const state = await waitForChangeSet(client, id, request.stackName, options.waitSeconds);
  if (state.status === 'FAILED') {
    if (NO_CHANGES.test(state.reason)) {
      await deleteChangeSet(client, id);
      return { id, stackId: created.StackId ?? '', hasChanges: false, changes: [] };
    }
    throw new EnvironmentError(`CloudFormation could not make a change set for ${request.stackName}: ${excerpt(state.reason, { maxChars: 600 })}`);
  }
  return { id, stackId: created.StackId ?? '', hasChanges: true, changes: await listChanges(client, id) };
}

async function waitForChangeSet(client: CloudFormationClient, id: string, stackName: string, waitSeconds: number): Promise<{ status: string; reason: string }> {
  const { DescribeChangeSetCommand } = await sdk();
  const start = Date.now();
  let lastLine = start;
  for (let attempt = 0; ; attempt++) {
    const response = await call(`DescribeChangeSet ${stackName}`, () => client.send(new DescribeChangeSetCommand({ ChangeSetName: id })));
    const status = response.Status ?? 'UNKNOWN';
    if (status === 'CREATE_COMPLETE' || status === 'FAILED') return { status, reason: response.StatusReason ?? '' };
    const waited = Math.round((Date.now() - start) / 1000);
    if (waited >= waitSeconds) {
      throw new EnvironmentError(`the change set for ${stackName} is still ${status} after ${waited} s (--wait ${waitSeconds}); try again later or raise --wait`);
    }
    if (Date.now() - lastLine >= 10_000) {
      progress('deploy', `${stackName}: CloudFormation is computing the change set (${status}, ${waited} s)`);
      lastLine = Date.now();
    }
    await sleep(pollDelayMs(attempt));
  }
}

async function listChanges(client: CloudFormationClient, id: string): Promise<ResourceChange[]> {
  const { DescribeChangeSetCommand } = await sdk();
  const changes: ResourceChange[] = [];
  let token: string | undefined;
  do {
    const page = await call('DescribeChangeSet', () => client.send(new DescribeChangeSetCommand({ ChangeSetName: id, NextToken: token })));
    for (const change of page.Changes ?? []) {
      const resource = change.ResourceChange;
      if (!resource?.LogicalResourceId) continue;
      const replaces = resource.Action === 'Modify' && resource.Replacement === 'True';
      changes.push({
        action: replaces ? 'Replace' : resource.Action ?? 'Modify',
        logicalId: resource.LogicalResourceId,
        type: resource.ResourceType ?? '?',
        ...(resource.Action === 'Modify' && resource.Replacement ? { replacement: resource.Replacement } : {}),
      });
    }
    token = page.NextToken;
  } while (token);
  return changes;
}

export async function executeChangeSet(client: CloudFormationClient, id: string, stackName: string): Promise<void> {
  const { ExecuteChangeSetCommand } = await sdk();
  await call(`ExecuteChangeSet ${stackName}`, () => client.send(new ExecuteChangeSetCommand({ ChangeSetName: id })));
}

export async function deleteChangeSet(client: CloudFormationClient, id: string): Promise<void> {
  const { DeleteChangeSetCommand } = await sdk();
  await call('DeleteChangeSet', () => client.send(new DeleteChangeSetCommand({ ChangeSetName: id })));
}

/** CreateStack (what CodePipeline's deploy action calls for a new stack); returns the stack id. */
export async function createStack(client: CloudFormationClient, request: StackRequest, options: { terminationProtection: boolean }): Promise<string> {
  const { CreateStackCommand } = await sdk();
  const response = await call(`CreateStack ${request.stackName}`, () => client.send(new CreateStackCommand({
    StackName: request.stackName,
    TemplateBody: request.templateBody,
    Parameters: parameterList(request.parameters),
    Capabilities: request.capabilities,
    Tags: tagList(request.tags),
    RoleARN: request.roleArn,
    EnableTerminationProtection: options.terminationProtection,
    // The default, stated: a failed create keeps its events to read (ROLLBACK_COMPLETE); deploy deletes it next time.
    OnFailure: 'ROLLBACK',
  })));
  return response.StackId!;
}

export async function deleteStack(client: CloudFormationClient, stackId: string, roleArn?: string): Promise<void> {
  const { DeleteStackCommand } = await sdk();
  await call(`DeleteStack ${stackId}`, () => client.send(new DeleteStackCommand({ StackName: stackId, RoleARN: roleArn })));
}

export async function setTerminationProtection(client: CloudFormationClient, stackId: string, enabled: boolean): Promise<void> {
  const { UpdateTerminationProtectionCommand } = await sdk();
  await call(`UpdateTerminationProtection ${stackId}`, () => client.send(new UpdateTerminationProtectionCommand({ StackName: stackId, EnableTerminationProtection: enabled })));
}

/** The ids of the stack's events so far: what an operation started now will not print again. */
export async function seenEvents(client: CloudFormationClient, stackId: string): Promise<Set<string>> {
  const { DescribeStackEventsCommand } = await sdk();
  // The newest page suffices: new events come before it.
  const page = await call(`DescribeStackEvents ${stackId}`, () => client.send(new DescribeStackEventsCommand({ StackName: stackId })));
  return new Set((page.StackEvents ?? []).map((event) => event.EventId!).filter(Boolean));
}

/** Events not in `seen`, oldest first (pages are read until a seen event appears); adds them to `seen`. */
async function newEvents(client: CloudFormationClient, stackId: string, seen: Set<string>): Promise<StackEvent[]> {
  const { DescribeStackEventsCommand } = await sdk();
  const fresh: StackEvent[] = [];
  let token: string | undefined;
  outer: do {
    const page = await call(`DescribeStackEvents ${stackId}`, () => client.send(new DescribeStackEventsCommand({ StackName: stackId, NextToken: token })));
    for (const event of page.StackEvents ?? []) {
      if (!event.EventId || seen.has(event.EventId)) break outer;
      fresh.push(event);
    }
    token = page.NextToken;
  } while (token);
  for (const event of fresh) seen.add(event.EventId!);
  return fresh.reverse();
}

/** `HelloPython AWS::Lambda::Function CREATE_FAILED: reason`, the way a build log shows an event. */
export function formatEvent(event: StackEvent): string {
  const time = event.Timestamp ? new Date(event.Timestamp).toISOString().slice(11, 19) : '--:--:--';
  const reason = event.ResourceStatusReason ? `: ${excerpt(event.ResourceStatusReason, { maxChars: 400 })}` : '';
  return `${time} ${safeName(event.LogicalResourceId ?? '?')} ${safeName(event.ResourceType ?? '?')} ${event.ResourceStatus ?? '?'}${reason}`;
}

export interface WaitResult {
  stack: Stack;
  /** The events of this operation, oldest first. */
  events: StackEvent[];
}

/**
 * Waits until the stack's status stops moving, printing each new event as it arrives and a
 * line at least every 10 s. More than `waitSeconds` is exit 3 (CloudFormation carries on).
 */
export async function waitForStack(client: CloudFormationClient, stackId: string, options: { waitSeconds: number; step: string; seen: Set<string>; label: string }): Promise<WaitResult> {
  const start = Date.now();
  let lastLine = start;
  const events: StackEvent[] = [];
  for (let attempt = 0; ; attempt++) {
    const stack = await requireStack(client, stackId);
    const fresh = await newEvents(client, stackId, options.seen);
    for (const event of fresh) progress(options.step, formatEvent(event));
    events.push(...fresh);
    if (fresh.length > 0) lastLine = Date.now();
    const status = stack.StackStatus ?? 'UNKNOWN';
    if (!inProgress(status)) return { stack, events };
    const waited = Math.round((Date.now() - start) / 1000);
    if (waited >= options.waitSeconds) {
      throw new EnvironmentError(
        `${options.label}: stack ${stack.StackName} is still ${status} after ${waited} s (--wait ${options.waitSeconds}); CloudFormation carries on: ` +
          `follow it with aws cloudformation describe-stack-events --stack-name ${stack.StackName}, then run lambda-cd deploy again`,
      );
    }
    if (Date.now() - lastLine >= 10_000) {
      progress(options.step, `${stack.StackName}: ${status} (${waited} s)`);
      lastLine = Date.now();
    }
    await sleep(Math.min(pollDelayMs(attempt), Math.max(0, options.waitSeconds * 1000 - (Date.now() - start)) + 10));
  }
}

/**
 * The event that started a failure: the first resource event with a *_FAILED status whose reason
 * is not CloudFormation cancelling the rest ("Resource creation cancelled").
 */
export function firstFailure(events: StackEvent[]): StackEvent | undefined {
  const failed = events.filter((event) => event.ResourceStatus?.endsWith('_FAILED') && event.ResourceType !== 'AWS::CloudFormation::Stack');
  return failed.find((event) => !/cancell?ed/i.test(event.ResourceStatusReason ?? '')) ?? failed[0] ?? events.find((event) => event.ResourceStatus?.endsWith('_FAILED'));
}

/** `HelloPythonLogGroup (AWS::Logs::LogGroup) CREATE_FAILED: reason`. */
export function describeFailure(event: StackEvent): string {
  const reason = event.ResourceStatusReason ? `: ${excerpt(event.ResourceStatusReason, { maxChars: 500 })}` : '';
  return `${safeName(event.LogicalResourceId ?? '?')} (${safeName(event.ResourceType ?? '?')}) ${event.ResourceStatus}${reason}`;
}

/**
 * The events of the stack's latest operation, oldest first: newest pages are read back to the
 * stack's own "User Initiated" start event (at most 10 pages), to explain how it ended.
 */
export async function lastOperationEvents(client: CloudFormationClient, stackId: string): Promise<StackEvent[]> {
  const { DescribeStackEventsCommand } = await sdk();
  const events: StackEvent[] = [];
  let token: string | undefined;
  outer: for (let page = 0; page < 10; page++) {
    const response = await call(`DescribeStackEvents ${stackId}`, () => client.send(new DescribeStackEventsCommand({ StackName: stackId, NextToken: token })));
    for (const event of response.StackEvents ?? []) {
      events.push(event);
      if (event.ResourceType === 'AWS::CloudFormation::Stack' && event.ResourceStatus?.endsWith('_IN_PROGRESS') && /User Initiated/i.test(event.ResourceStatusReason ?? '')) break outer;
    }
    token = response.NextToken;
    if (!token) break;
  }
  return events.reverse();
}

const pollDelayMs = (attempt: number) => Math.min(1000 * 2 ** attempt, 5000);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
