/**
 * The permissions boundary of every function role lambda-cd writes.
 *
 * Whoever can push to a function repository decides the templates the pipeline deploys (the
 * iam files, even the buildspecs), and the pipeline's deploy role creates the function roles.
 * Without a ceiling, a push could give a function, and through its code the pusher, any
 * permission the deploy role can hand out. So the pipeline stack creates one managed policy,
 * `<PipelineStack>-function-boundary` under the IAM path /lambda-cd/, every function role
 * create-cf writes names it as its PermissionsBoundary, and the deploy role may create or change
 * a role only when that is the role's boundary (see generator/pipeline-roles.ts). A role's
 * effective permissions are what its own policies grant AND what the boundary allows.
 *
 * The boundary allows what Lambda functions use at run time, on data and messages: no IAM, no
 * STS AssumeRole, no iam:PassRole (so no EC2, ECS, Glue, ... running with another role), no
 * changes to Lambda functions, CloudFormation, CodeBuild or CodePipeline. It denies writes to
 * the keys lambda-cd's pipelines keep in their artifact buckets (deployment zips and build
 * caches), so one function cannot change what another pipeline builds or deploys. The admin who
 * deploys the pipeline can widen it (the FunctionBoundaryExtraActions parameter); a push cannot.
 *
 * `generate ci-bootstrap` creates the same policy for CI systems other than CodePipeline.
 */

/** The IAM path of the boundary policy. */
export const BOUNDARY_PATH = '/lambda-cd/';
/** The boundary policy's name: the pipeline stack's name and this suffix. */
export const BOUNDARY_SUFFIX = '-function-boundary';
/** IAM managed policy names are at most 128 characters. */
export const MAX_BOUNDARY_NAME = 128;

/** Fn::Sub text of the boundary's ARN for a pipeline stack (`${AWS::StackName}` inside the pipeline's own template). */
export function functionBoundarySub(stack: string): string {
  return `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:policy${BOUNDARY_PATH}${stack}${BOUNDARY_SUFFIX}`;
}

/** What the boundary allows, by service: run-time use of data, messages, secrets and telemetry. */
export const BOUNDARY_ACTIONS: Record<string, string[]> = {
  // The function's own logs, traces and VPC network interfaces (lib/template.ts grants them).
  logs: ['CreateLogStream', 'PutLogEvents'],
  xray: ['PutTraceSegments', 'PutTelemetryRecords', 'GetSamplingRules', 'GetSamplingTargets'],
  ec2: ['CreateNetworkInterface', 'DescribeNetworkInterfaces', 'DeleteNetworkInterface', 'AssignPrivateIpAddresses', 'UnassignPrivateIpAddresses', 'DescribeSubnets'],
  s3: ['GetObject', 'GetObjectVersion', 'GetObjectTagging', 'GetObjectAttributes', 'PutObject', 'PutObjectTagging', 'DeleteObject', 'DeleteObjectVersion',
    'ListBucket', 'ListBucketVersions', 'GetBucketLocation', 'AbortMultipartUpload', 'ListMultipartUploadParts', 'ListBucketMultipartUploads', 'RestoreObject'],
  dynamodb: ['GetItem', 'BatchGetItem', 'Query', 'Scan', 'PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'ConditionCheckItem',
    'DescribeTable', 'PartiQLSelect', 'PartiQLInsert', 'PartiQLUpdate', 'PartiQLDelete', 'DescribeStream', 'GetRecords', 'GetShardIterator', 'ListStreams'],
  sqs: ['SendMessage', 'ReceiveMessage', 'DeleteMessage', 'ChangeMessageVisibility', 'GetQueueAttributes', 'GetQueueUrl'],
  sns: ['Publish'],
  kinesis: ['PutRecord', 'PutRecords', 'GetRecords', 'GetShardIterator', 'DescribeStream', 'DescribeStreamSummary', 'ListShards', 'SubscribeToShard', 'DescribeStreamConsumer'],
  firehose: ['PutRecord', 'PutRecordBatch'],
  events: ['PutEvents'],
  states: ['StartExecution', 'StartSyncExecution', 'DescribeExecution', 'SendTaskSuccess', 'SendTaskFailure', 'SendTaskHeartbeat'],
  lambda: ['InvokeFunction'],
  'execute-api': ['Invoke', 'ManageConnections'],
  secretsmanager: ['GetSecretValue', 'DescribeSecret'],
  ssm: ['GetParameter', 'GetParameters', 'GetParametersByPath'],
  kms: ['Decrypt', 'Encrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'DescribeKey'],
  appconfig: ['StartConfigurationSession', 'GetLatestConfiguration'],
  cloudwatch: ['PutMetricData'],
  ses: ['SendEmail', 'SendRawEmail'],
  'rds-data': ['ExecuteStatement', 'BatchExecuteStatement', 'BeginTransaction', 'CommitTransaction', 'RollbackTransaction'],
  'rds-db': ['connect'],
  elasticfilesystem: ['ClientMount', 'ClientWrite'],
  bedrock: ['InvokeModel', 'InvokeModelWithResponseStream'],
};

/** Key prefixes lambda-cd's pipelines keep in their artifact buckets (generator/constants.ts PUBLISH_PREFIX, CACHE_PREFIX). */
const PIPELINE_KEY_PREFIXES = ['lambda-cd/', 'lambda-cd-cache/'];

type Statement = Record<string, unknown>;

/** The boundary's statements (Resource "*": each role's own policies name the resources). */
export function boundaryStatements(): Statement[] {
  return [
    {
      Sid: 'FunctionRunTime',
      Effect: 'Allow',
      Action: Object.entries(BOUNDARY_ACTIONS).flatMap(([service, actions]) => actions.map((action) => `${service}:${action}`)),
      Resource: '*',
    },
    {
      Sid: 'NoPipelineArtifacts',
      Effect: 'Deny',
      Action: ['s3:PutObject', 's3:PutObjectTagging', 's3:DeleteObject', 's3:DeleteObjectVersion', 's3:RestoreObject', 's3:AbortMultipartUpload'],
      Resource: PIPELINE_KEY_PREFIXES.map((prefix) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:s3:::*/${prefix}*` })),
    },
  ];
}
