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
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { EnvironmentError } from './errors.js';
import { escapeControl, redactSecrets, safeName } from './redact.js';

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

const SERVICE_LABELS: Record<string, string> = { CLOUDFORMATION: 'CloudFormation', LAMBDA: 'Lambda', S3: 'S3' };

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
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    return new EnvironmentError(`${action}: no AWS credentials found; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE, or run where a role is attached`);
  }
  if (/Region is missing/i.test(message)) {
    return new EnvironmentError(`${action}: no AWS region; set AWS_REGION (or AWS_DEFAULT_REGION, or region in the AWS_PROFILE profile)`);
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
  return new EnvironmentError(`${action}: ${name ? `${name}: ` : ''}${safeName(message, 300)}${status ? ` (HTTP ${status})` : ''}`);
}
