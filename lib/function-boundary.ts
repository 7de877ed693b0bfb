/**
 * The permissions boundary of every role lambda-cd's stage templates create: the one list of what
 * a function role (and the CodeDeploy and pre-traffic hook roles beside it) may ever do. Both the
 * CodePipeline template (`generate pipeline`) and `generate ci-bootstrap` create it from here, so
 * the same repository gets the same boundary whichever CI delivers it.
 *
 * Whoever can push to a function repository decides the templates the pipeline deploys (the
 * iam files, even the buildspecs), and the pipeline's deploy role creates the roles. Without a
 * ceiling, a push could give a function, and through its code the pusher, any permission the
 * deploy role can hand out. So the pipeline stack creates one managed policy,
 * `<PipelineStack>-function-boundary` under the IAM path /lambda-cd/, every role create-cf writes
 * names it as its PermissionsBoundary, and the deploy role may create or change a role only when
 * that is the role's boundary (generator/bounded-roles.ts). A role's effective permissions are what
 * its own policies grant AND what the boundary allows.
 *
 * The boundary allows what lambda-cd's templates grant (on this function's own log groups, aliases
 * and deployment groups only) and what Lambda functions use at run time, on data and messages: no
 * IAM, no STS AssumeRole, no iam:PassRole (so no EC2, ECS, Glue, ... running with another role), no
 * changes to Lambda functions, CloudFormation, CodeBuild or CodePipeline. It denies writes to the
 * keys lambda-cd's pipelines keep in their artifact buckets (deployment zips and build caches), so
 * one function cannot change what another pipeline builds or deploys. The admin who deploys the
 * pipeline or bootstrap stack can widen it (the FunctionBoundaryExtraActions parameter); a push
 * cannot.
 *
 * Values are CloudFormation's long form (Fn::Sub, Fn::If, Ref): this module serves create-cf's JSON
 * templates and the generators' YAML alike. The templates holding the boundary have a FunctionName
 * parameter (config.yaml's Name: the functions are Name+Stage).
 */

type Json = Record<string, unknown>;

/** The IAM path of the boundary policy. */
export const BOUNDARY_PATH = '/lambda-cd/';
/** The boundary policy's name: the pipeline stack's name and this suffix. */
export const BOUNDARY_SUFFIX = '-function-boundary';
/** IAM managed policy names are at most 128 characters. */
export const MAX_BOUNDARY_NAME = 128;
/** The parameter of the templates holding the boundary through which their admin widens it. */
export const EXTRA_ACTIONS_PARAMETER = 'FunctionBoundaryExtraActions';
const HAS_EXTRA_ACTIONS = 'HasExtraBoundaryActions';

/** Fn::Sub text of the boundary's ARN for a pipeline stack (`${AWS::StackName}` inside the pipeline's own template, `${PipelineName}` in ci-bootstrap's). */
export function functionBoundarySub(stack: string): string {
  return `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:policy${BOUNDARY_PATH}${stack}${BOUNDARY_SUFFIX}`;
}

// ---------------------------------------------------------------------------------------
// What lambda-cd's own templates grant (lib/template.ts, lib/release-template.ts use these lists)
// ---------------------------------------------------------------------------------------

/**
 * A function's (and the hook's) own logs. CreateLogGroup: without LogRetentionInDays the template
 * declares no log group (2018 functions have one Lambda made), so Lambda creates it on first use.
 */
export const LOG_ACTIONS = ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'];
/**
 * What Lambda needs to manage a VPC function's network interfaces: the EC2 actions of the managed
 * policy AWSLambdaVPCAccessExecutionRole without its logs:* on every log group. EC2 offers no
 * resource-level scoping for these.
 */
export const VPC_ACTIONS = ['ec2:AssignPrivateIpAddresses', 'ec2:CreateNetworkInterface', 'ec2:DeleteNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets', 'ec2:UnassignPrivateIpAddresses'];
/** Tracing: Active. X-Ray's write actions accept only Resource "*"; its SDKs also read the sampling rules. */
export const TRACING_ACTIONS = ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'];
const XRAY_SAMPLING_ACTIONS = ['xray:GetSamplingRules', 'xray:GetSamplingTargets'];
/**
 * What CodeDeploy does to a Lambda alias (the inline policy of lambda-cd's CodeDeploy role, which
 * stands in for the AWS-managed AWSCodeDeployRoleForLambda: no managed policy is attached, since
 * the boundary would cut its wider grants anyway): read the alias and the function, shift the
 * alias's weights, read provisioned concurrency, invoke the hook.
 */
export const ALIAS_SHIFT_ACTIONS = ['lambda:GetAlias', 'lambda:GetProvisionedConcurrencyConfig', 'lambda:UpdateAlias'];
/** Read-only, on the same functions: for hooks and tools that look up the version under test. */
const FUNCTION_READ_ACTIONS = ['lambda:GetFunction'];
/** The alarms CodeDeploy watches: the user's alarms may have any name, and reading them changes nothing. */
export const ALARM_READ_ACTIONS = ['cloudwatch:DescribeAlarms'];
/** The pre-traffic hook reports its verdict to this function's deployment group. */
export const HOOK_REPORT_ACTIONS = ['codedeploy:PutLifecycleEventHookExecutionStatus'];

// ---------------------------------------------------------------------------------------
// What functions use at run time (granted by the repository's iam files, on their resources)
// ---------------------------------------------------------------------------------------

/** By service: use of data, messages, secrets and telemetry; each role's own policies name the resources. */
export const RUN_TIME_ACTIONS: Record<string, string[]> = {
  // Objects, not buckets: no bucket policies, ACLs or lifecycle changes.
  s3: ['GetObject', 'GetObjectVersion', 'GetObjectTagging', 'GetObjectAttributes', 'PutObject', 'PutObjectTagging', 'DeleteObject', 'DeleteObjectVersion',
    'ListBucket', 'ListBucketVersions', 'GetBucketLocation', 'AbortMultipartUpload', 'ListMultipartUploadParts', 'ListBucketMultipartUploads', 'RestoreObject'],
  // Items and streams, not tables.
  dynamodb: ['GetItem', 'BatchGetItem', 'Query', 'Scan', 'PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'ConditionCheckItem',
    'DescribeTable', 'PartiQLSelect', 'PartiQLInsert', 'PartiQLUpdate', 'PartiQLDelete', 'DescribeStream', 'GetRecords', 'GetShardIterator', 'ListStreams'],
  // Messages and events, not queues, topics or subscriptions.
  sqs: ['SendMessage', 'ReceiveMessage', 'DeleteMessage', 'ChangeMessageVisibility', 'GetQueueAttributes', 'GetQueueUrl'],
  sns: ['Publish'],
  kinesis: ['PutRecord', 'PutRecords', 'GetRecords', 'GetShardIterator', 'DescribeStream', 'DescribeStreamSummary', 'ListShards', 'SubscribeToShard', 'DescribeStreamConsumer'],
  firehose: ['PutRecord', 'PutRecordBatch'],
  events: ['PutEvents'],
  states: ['StartExecution', 'StartSyncExecution', 'DescribeExecution', 'SendTaskSuccess', 'SendTaskFailure', 'SendTaskHeartbeat'],
  // Calling other functions and APIs, never changing them.
  lambda: ['InvokeFunction'],
  'execute-api': ['Invoke', 'ManageConnections'],
  // Reading secrets and configuration; using keys, not their policies.
  secretsmanager: ['GetSecretValue', 'DescribeSecret'],
  ssm: ['GetParameter', 'GetParameters', 'GetParametersByPath'],
  kms: ['Decrypt', 'Encrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'DescribeKey'],
  appconfig: ['StartConfigurationSession', 'GetLatestConfiguration'],
  // Telemetry and mail.
  cloudwatch: ['PutMetricData'],
  ses: ['SendEmail', 'SendRawEmail'],
  // Databases through their data APIs and IAM authentication, file systems through their clients.
  'rds-data': ['ExecuteStatement', 'BatchExecuteStatement', 'BeginTransaction', 'CommitTransaction', 'RollbackTransaction'],
  'rds-db': ['connect'],
  elasticfilesystem: ['ClientMount', 'ClientWrite'],
  bedrock: ['InvokeModel', 'InvokeModelWithResponseStream'],
};

/** Key prefixes lambda-cd's pipelines keep in their artifact buckets (generator/constants.ts PUBLISH_PREFIX, CACHE_PREFIX). */
const PIPELINE_KEY_PREFIXES = ['lambda-cd/', 'lambda-cd-cache/'];

const sub = (text: string): Json => ({ 'Fn::Sub': text });
const inAccount = (service: string, resource: string) => sub(`arn:\${AWS::Partition}:${service}:*:\${AWS::AccountId}:${resource}`);

/** The boundary's statements for a pipeline of `allStages` (PROD included): the functions are ${FunctionName}<Stage>. */
export function boundaryStatements(allStages: string[]): Json[] {
  const functions = allStages.flatMap((stage) => [`${stage}`, `${stage}-pre-traffic`].map((suffix) => `\${FunctionName}${suffix}`));
  const runTime = Object.entries(RUN_TIME_ACTIONS).flatMap(([service, actions]) => actions.map((action) => `${service}:${action}`));
  return [
    // The function's and its hook's log groups (and their streams): /aws/lambda/<Name><Stage>[-pre-traffic].
    { Sid: 'OwnLogs', Effect: 'Allow', Action: LOG_ACTIONS, Resource: functions.flatMap((name) => [inAccount('logs', `log-group:/aws/lambda/${name}`), inAccount('logs', `log-group:/aws/lambda/${name}:*`)]) },
    { Sid: 'VpcAndTracing', Effect: 'Allow', Action: [...VPC_ACTIONS, ...TRACING_ACTIONS, ...XRAY_SAMPLING_ACTIONS], Resource: '*' },
    // The CodeDeploy role shifts this function's aliases and invokes its hook; the hook invokes the new version.
    // (lambda:InvokeFunction is also a run-time action on "*"; listed here so this statement says what the release roles need.)
    // Exact names, not a prefix: ${FunctionName}* would also cover another repository's OrdersAdmin.
    {
      Sid: 'OwnReleases',
      Effect: 'Allow',
      Action: [...ALIAS_SHIFT_ACTIONS, ...FUNCTION_READ_ACTIONS, 'lambda:InvokeFunction'],
      Resource: allStages.flatMap((stage) => [`function:\${FunctionName}${stage}`, `function:\${FunctionName}${stage}:*`, `function:\${FunctionName}${stage}-pre-traffic`].map((name) => inAccount('lambda', name))),
    },
    { Sid: 'ReleaseAlarms', Effect: 'Allow', Action: ALARM_READ_ACTIONS, Resource: '*' },
    { Sid: 'OwnHookReports', Effect: 'Allow', Action: HOOK_REPORT_ACTIONS, Resource: allStages.map((stage) => inAccount('codedeploy', `deploymentgroup:\${FunctionName}${stage}/*`)) },
    { Sid: 'FunctionRunTime', Effect: 'Allow', Action: runTime, Resource: '*' },
    // Without extra actions a statement that changes nothing stands in (the boundary never allows IAM):
    // AWS::NoValue would do on AWS, but moto refuses a policy holding it ("Syntax errors in policy").
    {
      'Fn::If': [HAS_EXTRA_ACTIONS,
        { Sid: 'ExtraActions', Effect: 'Allow', Action: { Ref: EXTRA_ACTIONS_PARAMETER }, Resource: '*' },
        { Sid: 'NoExtraActions', Effect: 'Deny', Action: 'iam:*', Resource: '*' }],
    },
    {
      Sid: 'NoPipelineArtifacts',
      Effect: 'Deny',
      Action: ['s3:PutObject', 's3:PutObjectTagging', 's3:DeleteObject', 's3:DeleteObjectVersion', 's3:RestoreObject', 's3:AbortMultipartUpload'],
      Resource: PIPELINE_KEY_PREFIXES.map((prefix) => sub(`arn:\${AWS::Partition}:s3:::*/${prefix}*`)),
    },
  ];
}

/**
 * What a template holding the boundary adds: the FunctionBoundaryExtraActions parameter (its default
 * `extraActions`), its condition, and the AWS::IAM::ManagedPolicy `FunctionBoundary` named
 * `<pipeline>-function-boundary` (`pipeline`: a ${...} reference to the pipeline's name).
 */
export function boundaryTemplateParts(pipeline: string, allStages: string[], extraActions: string[] = []): { parameters: Json; conditions: Json; resources: Json } {
  return {
    parameters: {
      [EXTRA_ACTIONS_PARAMETER]: {
        Type: 'CommaDelimitedList',
        Description: "Actions the functions' permissions boundary allows beyond lambda-cd's list (e.g. rekognition:DetectLabels,textract:AnalyzeDocument); empty for none",
        Default: extraActions.join(','),
        AllowedPattern: '^([a-z0-9-]+:[A-Za-z0-9*?]+)?$',
      },
    },
    conditions: { [HAS_EXTRA_ACTIONS]: { 'Fn::Not': [{ 'Fn::Equals': [{ 'Fn::Join': ['', { Ref: EXTRA_ACTIONS_PARAMETER }] }, ''] }] } },
    resources: {
      FunctionBoundary: {
        Type: 'AWS::IAM::ManagedPolicy',
        Properties: {
          ManagedPolicyName: sub(`${pipeline}${BOUNDARY_SUFFIX}`),
          Path: BOUNDARY_PATH,
          Description: 'lambda-cd: the most a function role of this pipeline may do (its permissions boundary)',
          PolicyDocument: { Version: '2012-10-17', Statement: boundaryStatements(allStages) },
        },
      },
    },
  };
}

const matches = (pattern: string, action: string) =>
  new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i').test(action);

/**
 * The actions of `granted` (an iam file's Allow actions) that the boundary's fixed lists do not
 * allow: `beyond`, plain actions only FunctionBoundaryExtraActions can add; `patterns`, wildcard
 * actions of which the boundary allows only the listed actions they match (maybe none).
 */
export function actionsBeyondBoundary(granted: string[]): { beyond: string[]; patterns: string[] } {
  const listed = [...LOG_ACTIONS, ...VPC_ACTIONS, ...TRACING_ACTIONS, ...XRAY_SAMPLING_ACTIONS, ...ALIAS_SHIFT_ACTIONS, ...FUNCTION_READ_ACTIONS, ...ALARM_READ_ACTIONS, ...HOOK_REPORT_ACTIONS,
    ...Object.entries(RUN_TIME_ACTIONS).flatMap(([service, actions]) => actions.map((action) => `${service}:${action}`))];
  const beyond = new Set<string>();
  const patterns = new Set<string>();
  for (const action of granted) {
    if (/[*?]/.test(action)) patterns.add(action);
    else if (!listed.some((allowed) => matches(allowed, action))) beyond.add(action);
  }
  return { beyond: [...beyond].sort(), patterns: [...patterns].sort() };
}
