/**
 * The one place AWS clients are created. Region, credentials and profiles come from the
 * usual AWS environment (AWS_REGION or AWS_DEFAULT_REGION, AWS_PROFILE, ~/.aws, container
 * and instance roles); AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_<SERVICE>) points them at another
 * endpoint such as a local emulator. The SDK modules load only when a command asks for a client.
 *
 * No call waits forever: the SDK sets no timeouts of its own, so an endpoint that accepts a
 * connection and never answers would hold a build until CodeBuild's own timeout. Every client
 * gets a connection timeout and a timeout on silence (no byte in either direction), retried
 * with the SDK's backoff like any transient error, and then exit 3 naming the endpoint.
 */
import { STATUS_CODES } from 'node:http';
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EnvironmentError, UsageError } from './errors.js';
import { escapeControl, excerpt, redactSecrets, safeName } from './redact.js';

// The SDK warns once, on first use, that future versions need a newer Node; that is not the
// user's concern in a build log. Only that warning is turned off (the SDK's own switch).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Retries with backoff on throttling and transient errors (the SDK's standard retry mode). */
const MAX_ATTEMPTS = 6;
/** How long a connection may take to open. */
const CONNECT_TIMEOUT_MS = 10_000;
/** How long a request may see no data before it is abandoned (LAMBDA_CD_AWS_TIMEOUT, seconds). */
const DEFAULT_SILENCE_SECONDS = 60;
/** AWS region names: us-east-1, eu-central-2, us-gov-west-1, cn-north-1, us-isob-east-1, ... */
const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

const SERVICE_LABELS: Record<string, string> = { CLOUDFORMATION: 'CloudFormation', LAMBDA: 'Lambda', S3: 'S3', CLOUDWATCH_LOGS: 'CloudWatch Logs' };

export interface AwsSettings {
  /** --region: wins over AWS_REGION, AWS_DEFAULT_REGION and the profile's region, as in the AWS CLI. */
  region?: string;
  /** --profile: wins over AWS_PROFILE and over access keys in the environment, as in the AWS CLI. */
  profile?: string;
}

const PROFILE_PATTERN = /^[A-Za-z0-9_.@+-]+$/;
/** The variable a CI job puts its OIDC token in (GitLab's id_tokens); see useAwsSettings. */
export const OIDC_TOKEN_VARIABLE = 'LAMBDA_CD_OIDC_TOKEN';

/**
 * Applies --region/--profile and an OIDC token for this process and the processes it starts
 * (boto3 in integration tests reads the same variables), before any client exists.
 * - --profile replaces access keys in the environment: the AWS CLI lets --profile win, and the
 *   SDK and boto3 would otherwise disagree about which one applies.
 * - With AWS_ROLE_ARN and a token in LAMBDA_CD_OIDC_TOKEN (a GitLab job's id_tokens), the token
 *   is written to a private file named by AWS_WEB_IDENTITY_TOKEN_FILE, which the SDK and boto3
 *   both exchange for the role's credentials; the file is removed when the process exits.
 */
export function useAwsSettings(settings: AwsSettings, command: string): void {
  if (settings.region !== undefined) {
    if (!REGION_PATTERN.test(settings.region)) throw new UsageError(`${command}: --region expects an AWS region such as eu-west-1, found ${JSON.stringify(settings.region)}`);
    process.env.AWS_REGION = settings.region;
    process.env.AWS_DEFAULT_REGION = settings.region;
  }
  if (settings.profile !== undefined) {
    if (!PROFILE_PATTERN.test(settings.profile)) throw new UsageError(`${command}: --profile expects a profile name from ~/.aws/config, found ${JSON.stringify(settings.profile)}`);
    process.env.AWS_PROFILE = settings.profile;
    for (const variable of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) delete process.env[variable];
  }
  const token = process.env[OIDC_TOKEN_VARIABLE];
  if (token && process.env.AWS_ROLE_ARN && !process.env.AWS_WEB_IDENTITY_TOKEN_FILE && settings.profile === undefined) {
    const dir = mkdtempSync(path.join(tmpdir(), 'lambda-cd-oidc-'));
    const file = path.join(dir, 'token');
    writeFileSync(file, token, { mode: 0o600 });
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    process.env.AWS_WEB_IDENTITY_TOKEN_FILE = file;
    process.env.AWS_ROLE_SESSION_NAME ??= 'lambda-cd';
  }
}

function endpointFor(service: string): string | undefined {
  return process.env[`AWS_ENDPOINT_URL_${service}`] || process.env.AWS_ENDPOINT_URL || undefined;
}

/** Seconds of silence after which a request is abandoned (and retried). */
export function silenceSeconds(): number {
  const text = process.env.LAMBDA_CD_AWS_TIMEOUT;
  if (text === undefined || text === '') return DEFAULT_SILENCE_SECONDS;
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new EnvironmentError(`LAMBDA_CD_AWS_TIMEOUT: expected a number of seconds greater than 0, found ${JSON.stringify(safeName(text, 40))}`);
  }
  return seconds;
}

export interface ClientOptions {
  /** A longer silence for calls that legitimately wait (a synchronous Invoke runs the function). */
  silenceSeconds?: number;
}

function clientOptions(service: string, options: ClientOptions = {}) {
  const silenceMs = Math.round((options.silenceSeconds ?? silenceSeconds()) * 1000);
  // AWS_DEFAULT_REGION is what the AWS CLI and boto3 read when AWS_REGION is unset; the SDK reads only AWS_REGION.
  const region = process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || undefined;
  return {
    endpoint: endpointFor(service),
    ...(region ? { region } : {}),
    maxAttempts: MAX_ATTEMPTS,
    retryMode: 'standard' as const,
    requestHandler: { connectionTimeout: Math.min(CONNECT_TIMEOUT_MS, silenceMs), socketTimeout: silenceMs },
  };
}

interface ConfiguredClient {
  config: { region: () => Promise<string> };
  middlewareStack: { add: (middleware: (next: (args: any) => Promise<any>) => (args: any) => Promise<any>, options: { step: 'finalizeRequest'; priority: 'low'; name: string }) => void };
}

/**
 * Checks the region before the first call, so that "us-east1" or "eu west 1" is said to be
 * invalid instead of surfacing as a DNS failure, and tags every failed request with the
 * endpoint it went to, for explainAwsError.
 */
async function prepare<T extends ConfiguredClient>(client: T, service: string): Promise<T> {
  const source = process.env.AWS_REGION ? 'AWS_REGION' : process.env.AWS_DEFAULT_REGION ? 'AWS_DEFAULT_REGION' : 'the AWS profile';
  let region: string;
  try {
    region = await client.config.region();
  } catch (error) {
    throw explainAwsError(error, `connecting to ${SERVICE_LABELS[service] ?? service}`);
  }
  if (!endpointFor(service) && !REGION_PATTERN.test(region)) throw invalidRegion(region, source);
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        const request = args.request as { protocol?: string; hostname?: string; port?: number } | undefined;
        if (error && typeof error === 'object' && request?.hostname) {
          (error as { $endpoint?: string }).$endpoint = `${request.protocol ?? 'https:'}//${request.hostname}${request.port ? `:${request.port}` : ''}`;
        }
        throw error;
      }
    },
    { step: 'finalizeRequest', priority: 'low', name: 'lambdaCdEndpointTag' },
  );
  return client;
}

function invalidRegion(region: string, source: string): EnvironmentError {
  return new EnvironmentError(`AWS region ${JSON.stringify(safeName(region, 60))} (from ${source}) is not a valid region; set AWS_REGION to a region such as us-east-1 or eu-west-1`);
}

export async function cloudFormationClient(): Promise<CloudFormationClient> {
  const { CloudFormationClient } = await import('@aws-sdk/client-cloudformation');
  return prepare(new CloudFormationClient(clientOptions('CLOUDFORMATION')), 'CLOUDFORMATION');
}

export async function lambdaClient(options: ClientOptions = {}): Promise<LambdaClient> {
  const { LambdaClient } = await import('@aws-sdk/client-lambda');
  return prepare(new LambdaClient(clientOptions('LAMBDA', options)), 'LAMBDA');
}

export async function logsClient(): Promise<CloudWatchLogsClient> {
  const { CloudWatchLogsClient } = await import('@aws-sdk/client-cloudwatch-logs');
  return prepare(new CloudWatchLogsClient(clientOptions('CLOUDWATCH_LOGS')), 'CLOUDWATCH_LOGS');
}

/**
 * S3 with path-style addressing when an endpoint override is set: an emulator at
 * 127.0.0.1 has no per-bucket host names.
 */
export async function s3Client(): Promise<import('@aws-sdk/client-s3').S3Client> {
  const { S3Client } = await import('@aws-sdk/client-s3');
  const options = clientOptions('S3');
  return prepare(new S3Client({ ...options, forcePathStyle: options.endpoint !== undefined }), 'S3');
}

/**
 * Turns the SDK's errors about missing credentials or region, unreachable or silent endpoints
 * into an EnvironmentError (exit 3) that says what to set; other errors keep the SDK's words.
 */
export function explainAwsError(error: unknown, action: string): unknown {
  if (error instanceof EnvironmentError) return error;
  const name = (error as { name?: string })?.name ?? '';
  const message = (error as Error)?.message ?? String(error);
  const endpoint = (error as { $endpoint?: string })?.$endpoint ?? endpointFor('');
  // The endpoint is named whatever variable holds it; only credentials in the URL are masked.
  const at = endpoint ? ` ${escapeControl(redactSecrets(endpoint, {}))}` : '';
  if (/profile/i.test(message) && /could not (be found|resolve)|not found/i.test(message)) {
    return new EnvironmentError(`${action}: AWS profile ${JSON.stringify(process.env.AWS_PROFILE ?? '')} not found or unusable (${message}); check ~/.aws/config and ~/.aws/credentials`);
  }
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    if (process.env.AWS_PROFILE) {
      return new EnvironmentError(`${action}: AWS profile ${JSON.stringify(process.env.AWS_PROFILE)} not found or unusable: no credentials from it; check ~/.aws/config and ~/.aws/credentials (or AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE)`);
    }
    if (process.env[OIDC_TOKEN_VARIABLE] && !process.env.AWS_ROLE_ARN) {
      return new EnvironmentError(`${action}: ${OIDC_TOKEN_VARIABLE} holds an OIDC token but AWS_ROLE_ARN is not set: set it to the role the token may assume (ci-bootstrap's DeployRoleArn)`);
    }
    return new EnvironmentError(`${action}: no AWS credentials found; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, give --profile (or AWS_PROFILE), in CI AWS_ROLE_ARN with an OIDC token, or run where a role is attached`);
  }
  if (/Region is missing/i.test(message)) {
    return new EnvironmentError(`${action}: no AWS region; set AWS_REGION (or AWS_DEFAULT_REGION, or region in the profile) or give --region`);
  }
  const rejected = /Region not accepted: region="(.*)" is not a valid hostname/i.exec(message);
  if (rejected) {
    return invalidRegion(rejected[1]!, process.env.AWS_REGION ? 'AWS_REGION' : process.env.AWS_DEFAULT_REGION ? 'AWS_DEFAULT_REGION' : 'the AWS profile');
  }
  const code = String((error as { code?: string })?.code ?? '');
  if (name === 'TimeoutError' || /ETIMEDOUT/.test(code)) {
    const what = /establish a connection/.test(message) ? 'did not accept a connection' : 'stopped answering';
    return new EnvironmentError(`${action}: the AWS endpoint${at} ${what} (no answer within ${silenceSeconds()} s, ${MAX_ATTEMPTS} attempts; LAMBDA_CD_AWS_TIMEOUT sets the limit); is AWS_ENDPOINT_URL or the network right?`);
  }
  if (/ECONNREFUSED|ENOTFOUND|ECONNRESET|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|socket hang up/.test(`${message} ${code}`)) {
    const dns = /ENOTFOUND|EAI_AGAIN/.test(`${message} ${code}`) && !endpointFor('') ? '; is the region right?' : '';
    return new EnvironmentError(`${action}: cannot reach the AWS endpoint${at} (${safeName(message, 200)})${dns}`);
  }
  const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  // An answer without an error body (S3's HEAD, a proxy) leaves the SDK only "Unknown"/"UnknownError" or
  // the bare status as name: say what the HTTP status means instead.
  if (status !== undefined && (/^(Unknown(Error)?|\d{3})$/.test(name) || /^Unknown(Error)?$/.test(message.trim()))) {
    const hint = status === 403 ? ': the credentials in use may not do this (their IAM policy, a bucket or key policy, or an SCP denies it)' : status === 401 ? ': the credentials were not accepted' : '';
    return new EnvironmentError(`${action}: ${STATUS_CODES[status] ?? 'HTTP error'} (HTTP ${status})${hint}`);
  }
  // AWS's messages quote names and values from requests and templates: escaped and cut like any foreign text.
  return new EnvironmentError(`${action}: ${name ? `${name}: ` : ''}${excerpt(message, { maxChars: 600 })}${status ? ` (HTTP ${status})` : ''}`);
}
