import { REPOSITORY_OPTIONS } from '../args.js';
import type { CommandSpec } from '../command.js';
import { openRepository, outputPath } from '../repository.js';
import { CODE_LOCATION_FILE, PUBLISH_PREFIX } from '../../generator/constants.js';
import { AWS_OPTIONS, applyAwsOptions } from './shared-options.js';

export const command: CommandSpec = {
  name: 'publish',
  summary: 'Upload the deployment zip to S3 under its sha256 and write the deploy actions\' TemplateConfiguration.',
  reads: 'dist/function.zip (from lambda-cd package), config/config.yaml (Name)',
  writes: 's3://BUCKET/PREFIX<Name>/<sha256>.zip (skipped when present) and dist/code-location.json ({"Parameters": {"S3Storage", "S3Key"}})',
  options: [
    ...REPOSITORY_OPTIONS,
    { name: 'zip', type: 'string', valueName: 'FILE', defaultText: 'dist/function.zip in the repository', description: 'The deployment zip.' },
    { name: 'bucket', type: 'string', valueName: 'BUCKET', env: 'LAMBDA_CD_ARTIFACT_BUCKET', required: true, description: 'The bucket (the pipeline sets its artifact bucket).' },
    { name: 'prefix', type: 'string', valueName: 'PREFIX', default: PUBLISH_PREFIX, description: 'Key prefix; the key is PREFIX<Name>/<sha256>.zip.' },
    { name: 'out', type: 'string', valueName: 'FILE', defaultText: 'dist/code-location.json in the repository', description: 'Where the TemplateConfiguration is written.' },
    { name: 'json', type: 'boolean', description: 'Print the result (bucket, key, sha256, uploaded) as JSON.' },
    ...AWS_OPTIONS,
  ],
  examples: ['lambda-cd publish --bucket my-artifacts', 'LAMBDA_CD_ARTIFACT_BUCKET=my-artifacts lambda-cd publish --json'],
  notes: [
    'The same zip always gets the same key, so redeploying unchanged code changes nothing: CloudFormation sees the same S3Key and leaves the function alone.',
    'Prints s3://BUCKET/KEY and the TemplateConfiguration path. AWS region and credentials come from the usual AWS environment; AWS_ENDPOINT_URL points at another endpoint.',
  ],
  async run({ options }) {
    const repository = openRepository(options);
    await applyAwsOptions('publish', options);
    const { runPublish } = await import('../../runners/publish.js');
    const result = await runPublish({
      repository,
      zipFile: outputPath(options, 'zip', repository.root, 'dist/function.zip'),
      bucket: options.bucket as string,
      prefix: options.prefix as string,
      configFile: outputPath(options, 'out', repository.root, CODE_LOCATION_FILE),
    });
    if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else process.stdout.write(`s3://${result.bucket}/${result.key}\n${result.configFile}\n`);
    (await import('../../lib/github.js')).githubOutputs({ 'zip-sha256': result.sha256 });
    return 0;
  },
};
