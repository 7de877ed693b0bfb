/**
 * The released version of a stage, as AWS has it: the alias the stage's stack exports (output
 * AliasArn) and the version it serves, the version the stack's last deploy published (output
 * FunctionVersion), and the stack's history of versions, read from its events: each successful
 * update that publishes a version shows the new one created and the one it replaced retained
 * (DELETE_SKIPPED, DeletionPolicy Retain). `integration-test` checks that the alias serves this
 * build's version; `rollback` moves the alias back along that history.
 */
import { existsSync } from 'node:fs';
import type { CloudFormationClient, StackEvent } from '@aws-sdk/client-cloudformation';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { explainAwsError, lambdaClient } from './aws.js';
import { readManifest } from './deploy-inputs.js';
import { EnvironmentError } from './errors.js';
import { displayPath, progress, warn } from './output.js';
import { RELEASE_OUTPUTS } from './release-template.js';
import { safeName } from './redact.js';

/** Versions lambda-cd rollback moved the alias away from, on the function (space-separated numbers). */
export const ROLLED_BACK_TAG = 'lambda-cd:rolled-back';
/** Tag values hold at most 256 characters: the newest versions are kept. */
const MAX_ROLLED_BACK = 30;
/** How far back the stack's events are read (100 events a page). */
const MAX_EVENT_PAGES = 20;
const ALIAS_ARN = /^(arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+):([A-Za-z0-9_-]+)$/;

async function call<T>(action: string, request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    throw explainAwsError(error, action);
  }
}

export interface AliasState {
  aliasArn: string;
  functionArn: string;
  name: string;
  /** The version that gets the traffic (all of it unless `shifting`). */
  version: string;
  /** A deployment in progress: this share of the traffic already goes to another version. */
  shifting?: { version: string; weight: number };
}

export function parseAliasArn(aliasArn: string): { functionArn: string; name: string } {
  const match = ALIAS_ARN.exec(aliasArn);
  if (!match) throw new EnvironmentError(`the stack's output ${RELEASE_OUTPUTS.aliasArn} is not a Lambda alias ARN: ${safeName(aliasArn)}`);
  return { functionArn: match[1]!, name: match[2]! };
}

export async function readAlias(client: LambdaClient, aliasArn: string): Promise<AliasState> {
  const { GetAliasCommand } = await import('@aws-sdk/client-lambda');
  const { functionArn, name } = parseAliasArn(aliasArn);
  let response;
  try {
    response = await client.send(new GetAliasCommand({ FunctionName: functionArn, Name: name }));
  } catch (error) {
    if ((error as { name?: string }).name === 'ResourceNotFoundException') {
      throw new EnvironmentError(`Lambda has no alias ${name} of ${functionArn}, which the stack names (${RELEASE_OUTPUTS.aliasArn}): deleted outside the stack, or another account or region?`);
    }
    throw explainAwsError(error, `GetAlias ${aliasArn}`);
  }
  const weights = Object.entries(response.RoutingConfig?.AdditionalVersionWeights ?? {}).filter(([, weight]) => weight > 0);
  return {
    aliasArn,
    functionArn,
    name,
    version: response.FunctionVersion ?? '?',
    ...(weights.length > 0 ? { shifting: { version: weights[0]![0], weight: weights[0]![1] } } : {}),
  };
}

export const describeShift = (alias: AliasState) => (alias.shifting ? `${Math.round(alias.shifting.weight * 100)}% of its traffic already goes to version ${alias.shifting.version}` : '');

/** What the stack says was released: its alias, the version its last deploy published, the zip of that version. */
export interface ReleasedOutputs {
  aliasArn: string;
  version: string;
  zipSha256?: string;
}

/** The release outputs of a stack, or undefined for a stack from a template that publishes no versions (2018, or lambda-cd before it). */
export function releasedOutputs(outputs: Record<string, string>, stackLabel: string): ReleasedOutputs | undefined {
  const aliasArn = outputs[RELEASE_OUTPUTS.aliasArn];
  if (aliasArn === undefined) return undefined;
  const version = outputs[RELEASE_OUTPUTS.version];
  if (version === undefined || !/^\d+$/.test(version)) {
    throw new EnvironmentError(`${stackLabel} has the output ${RELEASE_OUTPUTS.aliasArn} but ${version === undefined ? `no ${RELEASE_OUTPUTS.version}` : `${RELEASE_OUTPUTS.version} ${safeName(version)}, not a version number`}; deploy it again with lambda-cd's template`);
  }
  return { aliasArn, version, zipSha256: outputs[RELEASE_OUTPUTS.zipSha256] };
}

/**
 * Refuses (exit 3) unless the alias serves, with all its traffic, the version the stack's last
 * deploy published, and (when `buildSha256` is known) that version is this build's zip: tests
 * must never pass against older code.
 */
export async function verifyAliasServesBuild(released: ReleasedOutputs, stackLabel: string, build?: { sha256: string; source: string }): Promise<AliasState> {
  if (build && released.zipSha256 !== undefined && released.zipSha256 !== build.sha256) {
    throw new EnvironmentError(
      `${stackLabel} runs the zip ${released.zipSha256.slice(0, 12)}... (version ${released.version}), not this build's ${build.sha256.slice(0, 12)}... (${build.source}): ` +
        'deploy this build first (lambda-cd deploy), or the tests would run against other code',
    );
  }
  const client = await lambdaClient();
  try {
    const alias = await readAlias(client, released.aliasArn);
    if (alias.shifting) {
      throw new EnvironmentError(`the alias ${alias.name} still serves version ${alias.version}: ${describeShift(alias)} (a CodeDeploy deployment is in progress); run the tests once it has ended`);
    }
    if (alias.version !== released.version) {
      throw new EnvironmentError(
        `the alias ${alias.name} serves version ${alias.version}, not version ${released.version}, which the last deploy of ${stackLabel} published ` +
          '(CodeDeploy rolled it back, lambda-cd rollback moved it, or it was moved by hand): the tests would run against other code; deploy again',
      );
    }
    return alias;
  } finally {
    client.destroy();
  }
}

/** One stack operation (a create or an update), from its events. */
export interface StackOperation {
  /** The status it ended in (CREATE_COMPLETE, UPDATE_COMPLETE, UPDATE_ROLLBACK_COMPLETE, ...), or the latest one while it runs. */
  status: string;
  /** Versions it published (AWS::Lambda::Version CREATE_COMPLETE). */
  created: string[];
  /** Versions it took out of the stack and kept (AWS::Lambda::Version DELETE_SKIPPED). */
  retained: string[];
}

const OPERATION_STARTS = new Set(['CREATE_IN_PROGRESS', 'UPDATE_IN_PROGRESS', 'IMPORT_IN_PROGRESS']);
const SUCCESSFUL = new Set(['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'IMPORT_COMPLETE']);
const versionOf = (physicalId: string | undefined) => /:(\d+)$/.exec(physicalId ?? '')?.[1];

/** The stack's operations, newest first, as far back as MAX_EVENT_PAGES of events reach. */
export async function stackOperations(client: CloudFormationClient, stackId: string): Promise<StackOperation[]> {
  const { DescribeStackEventsCommand } = await import('@aws-sdk/client-cloudformation');
  const events: StackEvent[] = [];
  let token: string | undefined;
  for (let page = 0; page < MAX_EVENT_PAGES; page++) {
    const response = await call(`DescribeStackEvents ${stackId}`, () => client.send(new DescribeStackEventsCommand({ StackName: stackId, NextToken: token })));
    events.push(...(response.StackEvents ?? []));
    token = response.NextToken;
    if (!token) break;
  }
  return groupOperations(events);
}

/** Events newest first -> operations newest first (an operation starts with the stack's own *_IN_PROGRESS event). */
export function groupOperations(events: StackEvent[]): StackOperation[] {
  const operations: StackOperation[] = [];
  let current: StackOperation | undefined;
  for (const event of events) {
    const stackEvent = event.ResourceType === 'AWS::CloudFormation::Stack';
    const status = event.ResourceStatus ?? '';
    current ??= { status: stackEvent ? status : '', created: [], retained: [] };
    if (stackEvent && current.status === '') current.status = status;
    if (event.ResourceType === 'AWS::Lambda::Version') {
      const version = versionOf(event.PhysicalResourceId);
      if (version && status === 'CREATE_COMPLETE') current.created.push(version);
      if (version && status === 'DELETE_SKIPPED') current.retained.push(version);
    }
    if (stackEvent && OPERATION_STARTS.has(status)) {
      operations.push(current);
      current = undefined;
    }
  }
  if (current) operations.push(current);
  return operations;
}

/**
 * The version the alias served before `current` was released: the one the successful operation
 * that published `current` replaced. A version lambda-cd rollback already moved away from is
 * skipped, going back to the one before it. Undefined when `current` was the stack's first.
 */
export function previousVersion(operations: StackOperation[], current: string, rolledBack: Set<string>): string | undefined {
  let wanted = current;
  for (const operation of operations) {
    if (!SUCCESSFUL.has(operation.status) || !operation.created.includes(wanted)) continue;
    const replaced = operation.retained.filter((version) => version !== wanted).sort((a, b) => Number(b) - Number(a))[0];
    if (replaced === undefined) return undefined;
    if (!rolledBack.has(replaced)) return replaced;
    wanted = replaced;
  }
  return undefined;
}

export async function rolledBackVersions(client: LambdaClient, functionArn: string): Promise<Set<string>> {
  const { ListTagsCommand } = await import('@aws-sdk/client-lambda');
  const response = await call(`ListTags ${functionArn}`, () => client.send(new ListTagsCommand({ Resource: functionArn })));
  return new Set((response.Tags?.[ROLLED_BACK_TAG] ?? '').split(/\s+/).filter((version) => /^\d+$/.test(version)));
}

/** Records on the function that `version` was rolled back from, so a later rollback does not return to it. */
export async function recordRolledBack(client: LambdaClient, functionArn: string, known: Set<string>, version: string): Promise<void> {
  const { TagResourceCommand } = await import('@aws-sdk/client-lambda');
  const versions = [...known, version].filter((v, index, all) => all.indexOf(v) === index).sort((a, b) => Number(a) - Number(b)).slice(-MAX_ROLLED_BACK);
  await call(`TagResource ${functionArn}`, () => client.send(new TagResourceCommand({ Resource: functionArn, Tags: { [ROLLED_BACK_TAG]: versions.join(' ') } })));
}

/** A version's Description (lambda-cd's say which zip), or undefined when Lambda has no such version. */
export async function versionDescription(client: LambdaClient, functionArn: string, version: string): Promise<string | undefined> {
  const { GetFunctionConfigurationCommand } = await import('@aws-sdk/client-lambda');
  try {
    const response = await client.send(new GetFunctionConfigurationCommand({ FunctionName: functionArn, Qualifier: version }));
    return response.Description ?? '';
  } catch (error) {
    if ((error as { name?: string }).name === 'ResourceNotFoundException') return undefined;
    throw explainAwsError(error, `GetFunctionConfiguration ${functionArn}:${version}`);
  }
}

/** Points the alias at `version` with all its traffic. */
export async function moveAlias(client: LambdaClient, alias: AliasState, version: string): Promise<void> {
  const { UpdateAliasCommand } = await import('@aws-sdk/client-lambda');
  await call(`UpdateAlias ${alias.aliasArn}`, () => client.send(new UpdateAliasCommand({ FunctionName: alias.functionArn, Name: alias.name, FunctionVersion: version, RoutingConfig: { AdditionalVersionWeights: {} } })));
}

/**
 * What integration-test runs against: the stage's alias, once it is shown to serve the version the
 * stack's last deploy published, and (with the build's manifest at hand) this build's zip. A stack
 * from a template without versions is tested through the function ARN, with a warning.
 */
export async function releaseUnderTest(outputs: Record<string, string>, stackLabel: string, manifestFile: string | undefined, step: string): Promise<{ aliasArn: string; version: string } | undefined> {
  const released = releasedOutputs(outputs, stackLabel);
  if (!released) {
    warn(`${stackLabel} publishes no versions (no output ${RELEASE_OUTPUTS.aliasArn}: a 2018 template or an older lambda-cd's): the tests run against the function as it is, not a released version`);
    return undefined;
  }
  const build = manifestFile !== undefined && existsSync(manifestFile) ? { sha256: readManifest(manifestFile, step).sha256, source: displayPath(manifestFile) } : undefined;
  const alias = await verifyAliasServesBuild(released, stackLabel, build);
  progress(step, `the alias ${alias.name} serves version ${released.version}${build ? `, this build's zip ${build.sha256.slice(0, 12)}...` : ''}`);
  return { aliasArn: alias.aliasArn, version: released.version };
}
