/**
 * The deployed function an integration test runs against: its ARN from the CloudFormation
 * export `Name+Stack+Stage` (or the function stack's outputs), its readiness in Lambda, and
 * smoke-test invocations.
 */
import type { CloudFormationClient, Output } from '@aws-sdk/client-cloudformation';
import type { FunctionConfiguration, LambdaClient } from '@aws-sdk/client-lambda';
import { cloudFormationClient, explainAwsError, lambdaClient } from './aws.js';
import { EnvironmentError } from './errors.js';
import { progress } from './output.js';
import { editDistance } from './suggest.js';

export interface DeployedFunction {
  arn: string;
  /** The function's name (FunctionName of its configuration). */
  name: string;
  region: string;
  /** Every output of the stack that exported the ARN: OutputKey -> OutputValue. */
  outputs: Record<string, string>;
  /** Where the ARN came from, for messages: `export X` or `stack S output O`. */
  source: string;
}

const FUNCTION_ARN = /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?$/;

async function call<T>(action: string, request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    throw explainAwsError(error, action);
  }
}

function outputsOf(outputs: Output[] | undefined): Record<string, string> {
  return Object.fromEntries((outputs ?? []).filter((o) => o.OutputKey && o.OutputValue !== undefined).map((o) => [o.OutputKey!, o.OutputValue!]));
}

async function describeStack(client: CloudFormationClient, stack: string) {
  const { DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  try {
    const response = await client.send(new DescribeStacksCommand({ StackName: stack }));
    return response.Stacks?.[0];
  } catch (error) {
    if (/does not exist/i.test((error as Error).message ?? '')) {
      throw new EnvironmentError(`CloudFormation stack "${stack}" does not exist in ${await client.config.region()} (--function-stack); is it deployed, and are AWS_REGION and the account right?`);
    }
    throw explainAwsError(error, `DescribeStacks ${stack}`);
  }
}

/** Up to `count` names closest to `name`, nearest first. */
function nearest(name: string, names: string[], count = 3): string[] {
  return names
    .map((candidate) => ({ candidate, distance: editDistance(name.toLowerCase(), candidate.toLowerCase()) }))
    .sort((a, b) => a.distance - b.distance || (a.candidate < b.candidate ? -1 : 1))
    .slice(0, count)
    .map((entry) => entry.candidate);
}

/**
 * Pages read at most: ListExports gives up to 100 exports a page and an account has at most
 * 5,000 per region (CloudFormation's quota), so this is far beyond any real account.
 */
export const MAX_PAGES = 1000;

/** The export's value, reading ListExports page by page until it appears. */
async function findExport(client: CloudFormationClient, exportName: string): Promise<{ value: string; stackId?: string }> {
  const { ListExportsCommand } = await import('@aws-sdk/client-cloudformation');
  const seen: string[] = [];
  const tokens = new Set<string>();
  let token: string | undefined;
  do {
    if (tokens.size >= MAX_PAGES) throw new EnvironmentError(`ListExports: still more pages after ${MAX_PAGES} (${seen.length} exports); the endpoint does not stop paging, is AWS_ENDPOINT_URL right?`);
    const page = await call('ListExports', () => client.send(new ListExportsCommand({ NextToken: token })));
    for (const entry of page.Exports ?? []) {
      if (entry.Name === exportName && entry.Value) return { value: entry.Value, stackId: entry.ExportingStackId };
      if (entry.Name) seen.push(entry.Name);
    }
    token = page.NextToken || undefined;
    // A token seen before would read the same pages again, forever.
    if (token !== undefined && tokens.has(token)) throw new EnvironmentError(`ListExports: the endpoint returned a page token it had returned before (after ${tokens.size} pages); stopped instead of reading the same pages forever`);
    if (token !== undefined) tokens.add(token);
  } while (token);
  const region = await client.config.region();
  const hint = seen.length === 0 ? `there are no exports in ${region}` : `closest of the ${seen.length} exports in ${region}: ${nearest(exportName, seen).join(', ')}`;
  throw new EnvironmentError(`no CloudFormation export named "${exportName}" (Name+Stack+Stage); ${hint}. Is the stage deployed, and are --stack, --stage and AWS_REGION right?`);
}

/** Resolves the ARN: one DescribeStacks with `functionStack`, else the export `exportName`. */
export async function resolveDeployedFunction(exportName: string, functionStack: string | undefined): Promise<Omit<DeployedFunction, 'name'>> {
  const client = await cloudFormationClient();
  const region = await client.config.region();
  if (functionStack) {
    const stack = await describeStack(client, functionStack);
    const outputs = stack?.Outputs ?? [];
    const chosen = outputs.find((o) => o.ExportName === exportName) ?? onlyOne(outputs.filter((o) => FUNCTION_ARN.test(o.OutputValue ?? '')));
    if (!chosen?.OutputValue) {
      const listed = outputs.map((o) => `${o.OutputKey}${o.ExportName ? ` (export ${o.ExportName})` : ''}`).join(', ') || 'none';
      throw new EnvironmentError(`stack "${functionStack}" has no output exported as "${exportName}" and no single function ARN output; its outputs: ${listed}`);
    }
    return { arn: chosen.OutputValue, region, outputs: outputsOf(outputs), source: `stack ${functionStack} output ${chosen.OutputKey}` };
  }
  const found = await findExport(client, exportName);
  const stack = found.stackId ? await describeStack(client, found.stackId) : undefined;
  return { arn: found.value, region, outputs: outputsOf(stack?.Outputs), source: `export ${exportName}` };
}

function onlyOne<T>(items: T[]): T | undefined {
  return items.length === 1 ? items[0] : undefined;
}

export interface WaitOptions {
  waitSeconds: number;
  step: string;
}

/** Checks come quickly at first (most functions are ready within a second), then every 5 s. */
const pollDelayMs = (attempt: number) => Math.min(500 * 2 ** attempt, 5000);

/**
 * Checks the function exists and is ready: waits (bounded) while it is Pending or an update is
 * in progress; Failed is an error carrying Lambda's reason.
 */
export async function waitForFunction(arn: string, options: WaitOptions): Promise<FunctionConfiguration> {
  const client = await lambdaClient();
  const { GetFunctionConfigurationCommand } = await import('@aws-sdk/client-lambda');
  const start = Date.now();
  for (let attempt = 0; ; attempt++) {
    let config: FunctionConfiguration;
    try {
      config = await client.send(new GetFunctionConfigurationCommand({ FunctionName: arn }));
    } catch (error) {
      if ((error as { name?: string }).name === 'ResourceNotFoundException') {
        throw new EnvironmentError(`Lambda function ${arn} does not exist in ${await client.config.region()}: the export names it, but Lambda has no such function (deleted, or another account or region?)`);
      }
      throw explainAwsError(error, `GetFunctionConfiguration ${arn}`);
    }
    if (config.State === 'Failed') throw new EnvironmentError(`Lambda function ${arn} is in state Failed: ${config.StateReason ?? 'no reason given'} (${config.StateReasonCode ?? 'no code'})`);
    if (config.LastUpdateStatus === 'Failed') throw new EnvironmentError(`the last update of Lambda function ${arn} failed: ${config.LastUpdateStatusReason ?? 'no reason given'} (${config.LastUpdateStatusReasonCode ?? 'no code'})`);
    const busy = config.State === 'Pending' ? 'state Pending' : config.LastUpdateStatus === 'InProgress' ? 'an update in progress' : undefined;
    if (!busy) return config;
    const waited = (Date.now() - start) / 1000;
    if (waited >= options.waitSeconds) {
      throw new EnvironmentError(`Lambda function ${arn} still has ${busy} after ${Math.round(waited)} s (--wait ${options.waitSeconds}); try again later or raise --wait`);
    }
    progress(options.step, `waiting for ${config.FunctionName ?? arn}: ${busy} (${Math.round(waited)} s of at most ${options.waitSeconds} s)`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(pollDelayMs(attempt), Math.max(0, options.waitSeconds * 1000 - (Date.now() - start)) + 10)));
  }
}

export interface InvokeResult {
  ok: boolean;
  statusCode?: number;
  functionError?: string;
  payload: string;
  /** The decoded end of the function's log (LogType Tail), when Lambda returned it. */
  logTail?: string;
  durationMs: number;
}

/**
 * A synchronous Invoke answers only when the function returns: the connection may stay silent for
 * the function's whole Timeout (at most 900 s), so the silence allowed is that plus a minute.
 */
export async function invokeFunction(arn: string, event: Uint8Array, functionTimeoutSeconds = 900): Promise<InvokeResult> {
  const client = await lambdaClient({ silenceSeconds: functionTimeoutSeconds + 60 });
  const { InvokeCommand } = await import('@aws-sdk/client-lambda');
  const start = performance.now();
  const response = await call(`Invoke ${arn}`, () => client.send(new InvokeCommand({ FunctionName: arn, Payload: event, LogType: 'Tail' })));
  return {
    ok: !response.FunctionError,
    statusCode: response.StatusCode,
    functionError: response.FunctionError,
    payload: response.Payload ? Buffer.from(response.Payload).toString('utf8') : '',
    logTail: response.LogResult ? Buffer.from(response.LogResult, 'base64').toString('utf8') : undefined,
    durationMs: performance.now() - start,
  };
}
