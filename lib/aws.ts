/**
 * The one place AWS clients are created. Region, credentials and profiles come from the
 * usual AWS environment (AWS_REGION, AWS_PROFILE, ~/.aws, container and instance roles);
 * AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_<SERVICE>) points them at another endpoint such as
 * a local emulator. The SDK modules load only when a command asks for a client.
 */
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { EnvironmentError } from './errors.js';

// The SDK warns once, on first use, that future versions need a newer Node; that is not the
// user's concern in a build log. Only that warning is turned off (the SDK's own switch).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Retries with backoff on throttling and transient errors (the SDK's standard retry mode). */
const MAX_ATTEMPTS = 6;

function endpointFor(service: string): string | undefined {
  return process.env[`AWS_ENDPOINT_URL_${service}`] ?? process.env.AWS_ENDPOINT_URL ?? undefined;
}

/**
 * The region is left to the SDK's own chain (environment, then the profile); when none is
 * found its error is turned into "set AWS_REGION" by explainAwsError.
 */
function clientOptions(service: string) {
  return { endpoint: endpointFor(service), maxAttempts: MAX_ATTEMPTS, retryMode: 'standard' as const };
}

export async function cloudFormationClient(): Promise<CloudFormationClient> {
  const { CloudFormationClient } = await import('@aws-sdk/client-cloudformation');
  return new CloudFormationClient(clientOptions('CLOUDFORMATION'));
}

export async function lambdaClient(): Promise<LambdaClient> {
  const { LambdaClient } = await import('@aws-sdk/client-lambda');
  return new LambdaClient(clientOptions('LAMBDA'));
}

/**
 * Turns the SDK's errors about missing credentials or unreachable endpoints into an
 * EnvironmentError (exit 3) that says what to set; returns other errors unchanged.
 */
export function explainAwsError(error: unknown, action: string): unknown {
  const name = (error as { name?: string })?.name ?? '';
  const message = (error as Error)?.message ?? String(error);
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    return new EnvironmentError(`${action}: no AWS credentials found; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE, or run where a role is attached`);
  }
  if (/Region is missing|Region not accepted/i.test(message)) {
    return new EnvironmentError(`${action}: no AWS region; set AWS_REGION (or AWS_DEFAULT_REGION, or region in the AWS_PROFILE profile)`);
  }
  if (/ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EAI_AGAIN/.test(message) || /ECONNREFUSED|ENOTFOUND/.test(String((error as { code?: string })?.code))) {
    return new EnvironmentError(`${action}: cannot reach the AWS endpoint${endpointFor('') ? ` ${endpointFor('')}` : ''} (${message})`);
  }
  if (error instanceof EnvironmentError) return error;
  const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  return new EnvironmentError(`${action}: ${name ? `${name}: ` : ''}${message}${status ? ` (HTTP ${status})` : ''}`);
}

/**
 * S3 with path-style addressing when an endpoint override is set: an emulator at
 * 127.0.0.1 has no per-bucket host names.
 */
export async function s3Client(): Promise<import('@aws-sdk/client-s3').S3Client> {
  const { S3Client } = await import('@aws-sdk/client-s3');
  const options = clientOptions('S3');
  return new S3Client({ ...options, forcePathStyle: options.endpoint !== undefined });
}
