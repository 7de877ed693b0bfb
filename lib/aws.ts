/**
 * The one place AWS clients are created. Region, credentials and profiles come from the
 * usual AWS environment (AWS_REGION, AWS_PROFILE, ~/.aws, container and instance roles);
 * AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_<SERVICE>) points them at another endpoint such as
 * a local emulator. The SDK modules load only when a command asks for a client.
 */
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EnvironmentError, UsageError } from './errors.js';
import { excerpt } from './redact.js';

// The SDK warns once, on first use, that future versions need a newer Node; that is not the
// user's concern in a build log. Only that warning is turned off (the SDK's own switch).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Retries with backoff on throttling and transient errors (the SDK's standard retry mode). */
const MAX_ATTEMPTS = 6;

export interface AwsSettings {
  /** --region: wins over AWS_REGION, AWS_DEFAULT_REGION and the profile's region, as in the AWS CLI. */
  region?: string;
  /** --profile: wins over AWS_PROFILE and over access keys in the environment, as in the AWS CLI. */
  profile?: string;
}

const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d+$/;
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

export async function logsClient(): Promise<CloudWatchLogsClient> {
  const { CloudWatchLogsClient } = await import('@aws-sdk/client-cloudwatch-logs');
  return new CloudWatchLogsClient(clientOptions('CLOUDWATCH_LOGS'));
}

/**
 * Turns the SDK's errors about missing credentials or unreachable endpoints into an
 * EnvironmentError (exit 3) that says what to set; returns other errors unchanged.
 */
export function explainAwsError(error: unknown, action: string): unknown {
  const name = (error as { name?: string })?.name ?? '';
  const message = (error as Error)?.message ?? String(error);
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
  if (/Region is missing|Region not accepted/i.test(message)) {
    return new EnvironmentError(`${action}: no AWS region; set AWS_REGION (or AWS_DEFAULT_REGION, or region in the profile) or give --region`);
  }
  if (/ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EAI_AGAIN/.test(message) || /ECONNREFUSED|ENOTFOUND/.test(String((error as { code?: string })?.code))) {
    return new EnvironmentError(`${action}: cannot reach the AWS endpoint${endpointFor('') ? ` ${endpointFor('')}` : ''} (${message})`);
  }
  if (error instanceof EnvironmentError) return error;
  const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  // AWS's messages quote names and values from requests and templates: escaped and cut like any foreign text.
  return new EnvironmentError(`${action}: ${name ? `${name}: ` : ''}${excerpt(message, { maxChars: 600 })}${status ? ` (HTTP ${status})` : ''}`);
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
