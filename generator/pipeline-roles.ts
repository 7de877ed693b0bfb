/**
 * The pipeline's roles, one per job. Each names only this pipeline's bucket, projects, log
 * groups, stacks and the Name+Stage functions; nothing grants Action "*".
 */
import { PROD_STAGE } from '../lib/contract.js';
import { getAtt, ref, sub, type Intrinsic } from './cfn-yaml.js';
import { CACHE_PREFIX, PUBLISH_PREFIX, type BuildStep } from './constants.js';
import { boundedRoleStatements } from './bounded-roles.js';
import { allow, arn, bucketArn, bucketObjects, iamArn, role, type Resource, type Statement } from './iam.js';
import { PROJECTS, buildSteps, functionStackName, projectName, type PipelineSpec } from './names.js';
import { pipelineGateStatements, releaseDeployStatements, rollbackStatements } from './release-gates.js';

const functionArns = (stages: string[]): Resource[] =>
  stages.flatMap((stage) => [arn('lambda', `function:\${FunctionName}${stage}`), arn('lambda', `function:\${FunctionName}${stage}:*`)]);
const stackArns = (stages: string[]): Resource[] => stages.map((stage) => arn('cloudformation', `stack/${functionStackName(stage)}/*`));
const lambdaLogGroups = (stages: string[]): Resource[] =>
  stages.flatMap((stage) => [arn('logs', `log-group:/aws/lambda/\${FunctionName}${stage}`), arn('logs', `log-group:/aws/lambda/\${FunctionName}${stage}:*`)]);
/**
 * The functions' roles: create-cf puts every one under the IAM path /lambda-cd/<Name>/
 * (lib/stage-iam.ts functionRolePath), whatever its name; except a role its 2018 iam.py named,
 * which keeps its path (a named role cannot move). 2018 iam.py files name it after the ref_name
 * they get, alphanum(Name+Stack+Stage)+"IAM": those exact names, with the '-' and '_' that
 * alphanum drops removed by Join/Split, so a stack the 2018 system deployed can be updated.
 */
const withoutDashes = (value: unknown, characters: string[]): unknown =>
  characters.reduce((text, character) => ({ 'Fn::Join': ['', { 'Fn::Split': [character, text] }] }), value);
const functionRoles = (stages: string[]): Resource[] => [
  iamArn('role/lambda-cd/${FunctionName}/*'),
  ...stages.map((stage) => ({
    'Fn::Sub': [`arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/\${Function}\${Pipeline}${stage}IAM`, {
      Function: withoutDashes(ref('FunctionName'), ['-', '_']),
      Pipeline: withoutDashes(ref('AWS::StackName'), ['-']),
    }],
  })),
];

export function pipelineRoles(spec: PipelineSpec): Record<string, unknown> {
  const allStages = [...spec.stages, PROD_STAGE];
  const roles: Record<string, unknown> = {
    PipelineRole: role({ service: 'codepipeline', description: 'CodePipeline: artifacts, source, builds and deploys of this pipeline', statements: pipelineStatements(spec, allStages), sourceAccount: true }),
    UnittestsProjectRole: codeBuildRole('unittests', []),
    BuildProjectRole: codeBuildRole('build', [
      // The output artifact (CodePipeline names its key) and the zip `publish` uploads.
      allow(['s3:PutObject'], [bucketObjects()]),
      // Without ListBucket, S3 answers HeadObject on a missing key with 403 instead of 404.
      allow(['s3:ListBucket'], [bucketArn()]),
    ]),
    DeployRole: role({ service: 'cloudformation', description: 'CloudFormation: creates only what the per-stage function templates hold', statements: deployStatements(allStages, ref('FunctionBoundary')) }),
  };
  if (spec.stages.length > 0) {
    roles.IntegrationTestsProjectRole = codeBuildRole('integrationtests', [
      allow(['cloudformation:ListExports'], ['*']),
      allow(['cloudformation:DescribeStacks'], stackArns(spec.stages)),
      allow(['lambda:GetFunction', 'lambda:GetFunctionConfiguration', 'lambda:InvokeFunction'], functionArns(spec.stages)),
      // The alias check before the tests, and lambda-cd rollback after a failure (post_build).
      ...rollbackStatements(spec.stages),
    ]);
  }
  if (spec.source === 'codecommit') {
    roles.SourceChangeRuleRole = role({
      service: 'events',
      description: 'EventBridge: starts this pipeline on a push to its branch',
      statements: [allow(['codepipeline:StartPipelineExecution'], [arn('codepipeline', '${Pipeline}')])],
    });
  }
  return roles;
}

function pipelineStatements(spec: PipelineSpec, allStages: string[]): Statement[] {
  const source =
    spec.source === 'github'
      ? allow(['codestar-connections:UseConnection', 'codeconnections:UseConnection'], [ref('ConnectionArn')])
      : allow(
          ['codecommit:GetBranch', 'codecommit:GetCommit', 'codecommit:GetRepository', 'codecommit:UploadArchive', 'codecommit:GetUploadArchiveStatus', 'codecommit:CancelUploadArchive'],
          [arn('codecommit', '${RepositoryName}')],
        );
  return [
    allow(['s3:GetObject', 's3:GetObjectVersion', 's3:PutObject'], [bucketObjects()]),
    allow(['s3:GetBucketVersioning', 's3:GetBucketLocation'], [bucketArn()]),
    source,
    allow(['codebuild:StartBuild', 'codebuild:BatchGetBuilds', 'codebuild:StopBuild'], buildSteps(spec).map((step) => getAtt(PROJECTS[step].logicalId, 'Arn'))),
    allow(['cloudformation:CreateStack', 'cloudformation:UpdateStack', 'cloudformation:DeleteStack', 'cloudformation:DescribeStacks', 'cloudformation:DescribeStackEvents'], stackArns(allStages)),
    allow(['cloudformation:ValidateTemplate'], ['*']),
    allow(['iam:PassRole'], [getAtt('DeployRole', 'Arn')], { StringEquals: { 'iam:PassedToService': 'cloudformation.amazonaws.com' } }),
    ...pipelineGateStatements(spec.gates ?? { approveBefore: [] }),
  ];
}

function codeBuildRole(step: BuildStep, extra: Statement[]): Record<string, unknown> {
  const { logicalId, suffix, description } = PROJECTS[step];
  return role({
    service: 'codebuild',
    description: `CodeBuild ${suffix}: ${description}`,
    sourceAccount: true,
    statements: [
      allow(['logs:CreateLogStream', 'logs:PutLogEvents'], [getAtt(`${logicalId}Logs`, 'Arn')]),
      // Input artifacts, and the project's cache (cache.paths in its buildspec).
      allow(['s3:GetObject', 's3:GetObjectVersion'], [bucketObjects()]),
      allow(['s3:PutObject'], [bucketObjects(`${CACHE_PREFIX}${suffix}`)]),
      allow(['s3:GetBucketAcl', 's3:GetBucketLocation'], [bucketArn()]),
      allow(
        ['codebuild:CreateReportGroup', 'codebuild:CreateReport', 'codebuild:UpdateReport', 'codebuild:BatchPutTestCases'],
        [arn('codebuild', `report-group/${projectName(step)}-*`)],
      ),
      ...extra,
    ],
  });
}

/** What the per-stage templates hold: a role, the function, its alias and permissions, its log group. */
/** `boundary`: the functions' permissions boundary (its ARN, or a Ref to the policy), the one condition for changing a role. */
export function deployStatements(allStages: string[], boundary: Intrinsic): Statement[] {
  const lambdaActions = [
    'CreateFunction', 'DeleteFunction', 'GetFunction', 'GetFunctionConfiguration', 'UpdateFunctionCode', 'UpdateFunctionConfiguration',
    'PublishVersion', 'ListVersionsByFunction', 'CreateAlias', 'UpdateAlias', 'DeleteAlias', 'GetAlias',
    'AddPermission', 'RemovePermission', 'GetPolicy', 'TagResource', 'UntagResource', 'ListTags',
    'PutFunctionConcurrency', 'DeleteFunctionConcurrency', 'GetFunctionConcurrency',
    'GetRuntimeManagementConfig', 'PutRuntimeManagementConfig', 'GetFunctionCodeSigningConfig', 'GetFunctionRecursionConfig',
  ].map((action) => `lambda:${action}`);
  const logActions = [
    'CreateLogGroup', 'DeleteLogGroup', 'PutRetentionPolicy', 'DeleteRetentionPolicy',
    'TagResource', 'UntagResource', 'ListTagsForResource', 'TagLogGroup', 'UntagLogGroup', 'ListTagsLogGroup',
  ]
    .map((action) => `logs:${action}`);
  return [
    allow(lambdaActions, functionArns(allStages)),
    // The code: the zip `lambda-cd publish` uploaded (Lambda reads it with the caller's rights).
    allow(['s3:GetObject', 's3:GetObjectVersion'], [bucketObjects(PUBLISH_PREFIX)]),
    allow(['lambda:GetLayerVersion'], [sub('arn:${AWS::Partition}:lambda:*:*:layer:*:*')]),
    // Roles change only under the permissions boundary: a push can shape a function's role, never lift it above the boundary.
    ...boundedRoleStatements(functionRoles(allStages), boundary),
    allow(['iam:PassRole'], functionRoles(allStages), { StringEquals: { 'iam:PassedToService': 'lambda.amazonaws.com' } }),
    allow(logActions, lambdaLogGroups(allStages)),
    allow(['logs:DescribeLogGroups'], [arn('logs', 'log-group:*')]),
    // A function in a VPC (Vpc in config.yaml): Lambda checks the subnets and groups as the caller.
    allow(['ec2:DescribeSecurityGroups', 'ec2:DescribeSubnets', 'ec2:DescribeVpcs'], ['*']),
    // Versions, CodeDeploy, the release alarm and the pre-traffic hook (lib/release-template.ts).
    ...releaseDeployStatements(allStages),
  ];
}
