/**
 * `lambda-cd publish`: puts the deployment zip into the pipeline's artifact bucket under a
 * key made of its sha256 and writes a CloudFormation TemplateConfiguration naming it.
 *
 * Why: CodePipeline re-zips every CodeBuild output artifact under a new key each run, so
 * pointing Lambda at that artifact would deploy CodePipeline's zip, not ours, and update
 * the function on every run. A content-addressed key is the same for the same zip (the
 * package runner's zips are reproducible), so CloudFormation sees no change and leaves
 * the function alone.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { explainAwsError, s3Client } from '../lib/aws.js';
import type { RepositoryConfig } from '../lib/contract.js';
import { writeFileAtomic } from '../lib/atomic.js';
import { UsageError } from '../lib/errors.js';
import { displayPath, formatBytes, progress } from '../lib/output.js';

export interface PublishOptions {
  repository: RepositoryConfig;
  zipFile: string;
  bucket: string;
  /** Key prefix; the key is <prefix><Name>/<sha256>.zip. */
  prefix: string;
  /** Where the TemplateConfiguration ({"Parameters": {"S3Storage", "S3Key"}}) goes. */
  configFile: string;
}

export interface PublishResult {
  bucket: string;
  key: string;
  sha256: string;
  bytes: number;
  /** False when the bucket already held this zip. */
  uploaded: boolean;
  configFile: string;
}

export async function runPublish(options: PublishOptions): Promise<PublishResult> {
  if (!existsSync(options.zipFile)) {
    throw new UsageError(`publish: ${displayPath(options.zipFile)}: no deployment zip; run \`lambda-cd package\` first (or give --zip FILE)`);
  }
  const zip = await readFile(options.zipFile);
  const digest = createHash('sha256').update(zip).digest();
  const sha256 = digest.toString('hex');
  const prefix = options.prefix === '' || options.prefix.endsWith('/') ? options.prefix : `${options.prefix}/`;
  const key = `${prefix}${options.repository.name}/${sha256}.zip`;
  const where = `s3://${options.bucket}/${key}`;

  const { HeadObjectCommand, PutObjectCommand } = await import('@aws-sdk/client-s3');
  const s3 = await s3Client();
  let uploaded = false;
  try {
    if (await exists(s3, new HeadObjectCommand({ Bucket: options.bucket, Key: key }))) {
      progress('publish', `${where} is already there: not uploaded (same code and requirements, so no function update)`);
    } else {
      progress('publish', `uploading ${formatBytes(zip.length)} to ${where}`);
      await s3.send(new PutObjectCommand({
        Bucket: options.bucket,
        Key: key,
        Body: zip,
        ContentType: 'application/zip',
        ChecksumSHA256: digest.toString('base64'),
      }));
      uploaded = true;
    }
  } catch (error) {
    throw explainAwsError(error, `publish: ${where}`);
  } finally {
    s3.destroy();
  }

  const configuration = { Parameters: { S3Storage: options.bucket, S3Key: key } };
  await writeFileAtomic(options.configFile, `${JSON.stringify(configuration, null, 2)}\n`);
  return { bucket: options.bucket, key, sha256, bytes: zip.length, uploaded, configFile: options.configFile };
}

/** HeadObject: 404 means absent; 403 (no s3:ListBucket) cannot tell, so the zip is uploaded again (same key, same result). */
async function exists(s3: import('@aws-sdk/client-s3').S3Client, head: import('@aws-sdk/client-s3').HeadObjectCommand): Promise<boolean> {
  try {
    await s3.send(head);
    return true;
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404 || status === 403) return false;
    throw error;
  }
}
