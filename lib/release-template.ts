/**
 * What a stage's template holds so that releases are immutable and gradual: an
 * AWS::Lambda::Version named after what it freezes, the 2018 alias pointing at it, and, where the
 * stage's Deployment asks for it, a CodeDeploy application and deployment group that shift the
 * alias's traffic (UpdatePolicy CodeDeployLambdaAliasUpdate) and roll back on an alarm, the
 * default alarm, and the pre-traffic hook that smoke-invokes the new version first.
 *
 * The version's logical id is a hash of the zip's sha256 and of the function properties a
 * version freezes. It must change exactly when Lambda sees a change: CloudFormation publishes a
 * version for each new logical id, and Lambda refuses to publish one when code and configuration
 * are unchanged ("Version already exists"). Old versions are retained (DeletionPolicy and
 * UpdateReplacePolicy Retain) when the id changes: a rollback and CodeDeploy need them.
 */
import { createHash } from 'node:crypto';
import { PROD_STAGE, stageSettings, type DeploymentStrategy, type RepositoryConfig } from './contract.js';
import { ConfigError } from './errors.js';
import { ALARM_READ_ACTIONS, ALIAS_SHIFT_ACTIONS, HOOK_REPORT_ACTIONS, LOG_ACTIONS } from './function-boundary.js';

type Json = Record<string, unknown>;

/** The defaults: all at once before production, a canary in PROD. */
export const DEFAULT_STRATEGY: Record<'preProduction' | 'production', DeploymentStrategy> = { preProduction: 'AllAtOnce', production: 'Canary10Percent5Minutes' };
/** Outputs beside the 2018 one (the function ARN, exported as Name+Stack+Stage). */
export const RELEASE_OUTPUTS = { aliasArn: 'AliasArn', version: 'FunctionVersion', zipSha256: 'ZipSha256' } as const;
/** The alias ARN's export: Name+Stack+Stage never holds a ':', so no 2018 export can have this name. */
export const aliasExportName = (exportName: string) => `${exportName}:alias`;
/** The deployment group's name inside the application <Name><Stage>. */
export const DEPLOYMENT_GROUP_NAME = 'lambda-cd';
export const preTrafficHookName = (functionName: string) => `${functionName}-pre-traffic`;
export const releaseAlarmName = (functionName: string) => `${functionName}-release-errors`;
const MAX_FUNCTION_NAME = 64;
/** Properties of AWS::Lambda::Function that belong to the function, not to a published version. */
const NOT_VERSIONED = new Set(['Tags', 'ReservedConcurrentExecutions', 'CodeSigningConfigArn']);

export interface ReleasePlan {
  strategy: DeploymentStrategy;
  /** CodeDeploy moves the alias (else CloudFormation moves it at once): a gradual strategy, a hook or alarms ask for it. */
  codeDeploy: boolean;
  /** Alarms that roll a deployment back: the user's, or lambda-cd's own (undefined here). */
  alarms?: string[];
  preTraffic?: { file: string; event: string };
}

export function releasePlan(config: RepositoryConfig, stage: string): ReleasePlan {
  const deployment = stageSettings(config, stage).deployment;
  const strategy = deployment.strategy ?? (stage === PROD_STAGE ? DEFAULT_STRATEGY.production : DEFAULT_STRATEGY.preProduction);
  const codeDeploy = strategy !== 'AllAtOnce' || deployment.preTraffic !== undefined || deployment.alarms !== undefined;
  return { strategy, codeDeploy, alarms: deployment.alarms, preTraffic: deployment.preTraffic };
}

/** JSON with every object's keys sorted: the same value always gives the same text. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') return `{${Object.keys(value).sort().map((key) => `${JSON.stringify(key)}:${canonical((value as Json)[key])}`).join(',')}}`;
  return JSON.stringify(value);
}

export interface VersionIdentity {
  logicalId: string;
  description: string;
  /** Lambda's CodeSha256 of the zip (base64 of its sha256): Lambda refuses to publish other code under this version. */
  codeSha256: string;
}

/**
 * The version's logical id: `<functionId>Version` and 16 hex digits of a hash over the zip's
 * sha256 and the function's versioned properties, plus the role's create-only name and path (a
 * role replaced by a change there gets a new ARN, which the function's configuration holds).
 * An empty Description is no Description, as for Lambda.
 */
export function versionIdentity(functionId: string, functionProperties: Json, role: Json, zipSha256: string): VersionIdentity {
  const frozen = Object.fromEntries(Object.entries(functionProperties).filter(([key, value]) => !NOT_VERSIONED.has(key) && key !== 'Code' && value !== undefined && !(key === 'Description' && value === '')));
  const key = createHash('sha256').update(canonical({ zipSha256, function: frozen, role: { RoleName: role.RoleName, Path: role.Path } })).digest('hex');
  // Description and CodeSha256 are create-only: a change to how they are written would replace the
  // version under the same id, which Lambda refuses for unchanged code. Keep them functions of the key.
  return {
    logicalId: `${functionId}Version${key.slice(0, 16)}`,
    description: `lambda-cd ${key.slice(0, 16)}: zip ${zipSha256.slice(0, 12)}`,
    codeSha256: Buffer.from(zipSha256, 'hex').toString('base64'),
  };
}

export interface ReleaseNames {
  functionId: string;
  functionName: string;
  aliasId: string;
  aliasName: string;
  /** Lambda's path for lambda-cd's roles of this function (/lambda-cd/<Name>/). */
  rolePath: string;
  /** Fn::Sub text of the pipeline's permissions boundary (lib/function-boundary.ts), which every role gets. */
  boundary: string;
}

export interface ReleaseParts {
  /** Resources to add after the function (the version first). */
  resources: Json;
  /** The alias's FunctionVersion. */
  aliasVersion: Json;
  /** UpdatePolicy and DependsOn for the alias, when CodeDeploy moves it. */
  aliasAttributes: Json;
  outputs: Json;
}

/** The release resources of one stage; `tagList` is what every resource is tagged with. */
export function releaseParts(input: {
  names: ReleaseNames;
  plan: ReleasePlan;
  version: VersionIdentity;
  zipSha256: string;
  stage: string;
  exportName: string;
  functionTimeout: number;
  runtime: string;
  tagList: { Key: string; Value: string }[];
}): ReleaseParts {
  const { names, plan, version, tagList } = input;
  const resources: Json = {
    [version.logicalId]: {
      Type: 'AWS::Lambda::Version',
      // Kept when the next build replaces it: rollbacks and CodeDeploy move the alias back to it.
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: { FunctionName: { Ref: names.functionId }, Description: version.description, CodeSha256: version.codeSha256 },
    },
  };
  const outputs: Json = {
    [RELEASE_OUTPUTS.aliasArn]: { Description: `${input.stage}: ARN of the alias ${names.aliasName}, which serves the released version`, Value: { Ref: names.aliasId }, Export: { Name: aliasExportName(input.exportName) } },
    [RELEASE_OUTPUTS.version]: { Description: `${input.stage}: the version this template published (the alias's once its deployment ends)`, Value: { 'Fn::GetAtt': [version.logicalId, 'Version'] } },
    [RELEASE_OUTPUTS.zipSha256]: { Description: `${input.stage}: sha256 of the deployment zip of that version`, Value: input.zipSha256 },
  };
  const aliasVersion = { 'Fn::GetAtt': [version.logicalId, 'Version'] };
  if (!plan.codeDeploy) return { resources, aliasVersion, aliasAttributes: {}, outputs };

  const ids = {
    application: `${names.functionId}Deployments`,
    group: `${names.functionId}DeploymentGroup`,
    role: `${names.functionId}DeploymentRole`,
    alarm: `${names.functionId}ReleaseAlarm`,
    hook: `${names.functionId}PreTrafficHook`,
    hookRole: `${names.functionId}PreTrafficHookRole`,
  };
  const functionArns = [{ 'Fn::GetAtt': [names.functionId, 'Arn'] }, { 'Fn::Sub': `\${${names.functionId}.Arn}:*` }];
  const alarmNames: (string | Json)[] = plan.alarms ?? [releaseAlarmName(names.functionName)];
  if (plan.alarms === undefined) resources[ids.alarm] = defaultAlarm(names, version, tagList);

  const deploymentRoleStatements: Json[] = [
    // What CodeDeploy does to a Lambda alias: read it, shift its weights, read provisioned concurrency.
    { Effect: 'Allow', Action: ALIAS_SHIFT_ACTIONS, Resource: functionArns },
  ];
  if (alarmNames.length > 0) {
    deploymentRoleStatements.push({ Effect: 'Allow', Action: ALARM_READ_ACTIONS, Resource: alarmNames.map(alarmArn) });
  }
  const hookName = preTrafficHookName(names.functionName);
  if (plan.preTraffic) {
    if (hookName.length > MAX_FUNCTION_NAME) {
      throw new ConfigError(`config/config.yaml: Deployment.PreTraffic: the hook function ${hookName} would have ${hookName.length} characters; Lambda allows ${MAX_FUNCTION_NAME}: shorten Name`);
    }
    deploymentRoleStatements.push({ Effect: 'Allow', Action: ['lambda:InvokeFunction'], Resource: [{ 'Fn::GetAtt': [ids.hook, 'Arn'] }] });
    Object.assign(resources, preTrafficHook(names, ids, hookName, plan.preTraffic, version, input, tagList));
  }
  resources[ids.role] = role(names, 'codedeploy.amazonaws.com', `CodeDeploy: shifts ${names.aliasName} to a new version of ${names.functionName}`, deploymentRoleStatements, tagList);
  resources[ids.application] = { Type: 'AWS::CodeDeploy::Application', Properties: { ApplicationName: names.functionName, ComputePlatform: 'Lambda', Tags: tagList } };
  resources[ids.group] = {
    Type: 'AWS::CodeDeploy::DeploymentGroup',
    Properties: withoutUndefined({
      ApplicationName: { Ref: ids.application },
      DeploymentGroupName: DEPLOYMENT_GROUP_NAME,
      ServiceRoleArn: { 'Fn::GetAtt': [ids.role, 'Arn'] },
      DeploymentConfigName: `CodeDeployDefault.Lambda${plan.strategy}`,
      DeploymentStyle: { DeploymentType: 'BLUE_GREEN', DeploymentOption: 'WITH_TRAFFIC_CONTROL' },
      AutoRollbackConfiguration: { Enabled: true, Events: ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_ALARM'] },
      AlarmConfiguration: alarmNames.length > 0 ? { Enabled: true, Alarms: alarmNames.map((name) => ({ Name: plan.alarms === undefined ? { Ref: ids.alarm } : name })) } : undefined,
      Tags: tagList,
    }),
  };
  const update: Json = { ApplicationName: { Ref: ids.application }, DeploymentGroupName: { Ref: ids.group } };
  if (plan.preTraffic) update.BeforeAllowTrafficHook = { Ref: ids.hook };
  // The UpdatePolicy's Refs are dependencies (cfn-lint W3005 says so of a DependsOn beside them): the
  // group, and the hook already aimed at the new version (TARGET), are updated before the alias.
  return { resources, aliasVersion, aliasAttributes: { UpdatePolicy: { CodeDeployLambdaAliasUpdate: update } }, outputs };
}

/**
 * Errors of the new version through the alias, plus throttles of the alias (a throttled request
 * never reaches a version), per minute: any one is a failed release and CodeDeploy rolls back.
 */
function defaultAlarm(names: ReleaseNames, version: VersionIdentity, tagList: { Key: string; Value: string }[]): Json {
  const base = [{ Name: 'FunctionName', Value: names.functionName }, { Name: 'Resource', Value: `${names.functionName}:${names.aliasName}` }];
  const metric = (id: string, metricName: string, dimensions: Json[]) => ({
    Id: id,
    ReturnData: false,
    MetricStat: { Metric: { Namespace: 'AWS/Lambda', MetricName: metricName, Dimensions: dimensions }, Period: 60, Stat: 'Sum' },
  });
  return {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmName: releaseAlarmName(names.functionName),
      AlarmDescription: `lambda-cd: errors of the version being released through ${names.aliasName}, or throttles of the alias; CodeDeploy rolls the deployment back when it fires`,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      TreatMissingData: 'notBreaching',
      Metrics: [
        metric('errors', 'Errors', [...base, { Name: 'ExecutedVersion', Value: { 'Fn::GetAtt': [version.logicalId, 'Version'] } }]),
        metric('throttles', 'Throttles', base),
        { Id: 'failures', Label: 'errors + throttles', Expression: 'FILL(errors, 0) + FILL(throttles, 0)', ReturnData: true },
      ],
      Tags: tagList,
    },
  };
}

/**
 * CodeDeploy's BeforeAllowTraffic hook: invokes the new version once with the user's event and
 * reports the outcome to CodeDeploy; a function error (or no answer) stops the deployment before
 * any traffic moves. It may invoke only this function's versions and report only to this
 * function's deployment group.
 */
const HOOK_CODE = `import os
import boto3


def handler(event, context):
    status = "Failed"
    try:
        response = boto3.client("lambda").invoke(FunctionName=os.environ["TARGET"], Payload=os.environ["EVENT"].encode())
        body = response["Payload"].read()[:2000]
        if response.get("FunctionError"):
            print("pre-traffic invoke of", os.environ["TARGET"], "failed:", response["FunctionError"], body)
        else:
            print("pre-traffic invoke of", os.environ["TARGET"], "succeeded")
            status = "Succeeded"
    finally:
        boto3.client("codedeploy").put_lifecycle_event_hook_execution_status(
            deploymentId=event["DeploymentId"], lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"], status=status)
    return status
`;

function preTrafficHook(
  names: ReleaseNames,
  ids: { hook: string; hookRole: string },
  hookName: string,
  preTraffic: { file: string; event: string },
  version: VersionIdentity,
  input: { functionTimeout: number; runtime: string },
  tagList: { Key: string; Value: string }[],
): Json {
  const logGroup = `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/lambda/${hookName}`;
  const statements: Json[] = [
    { Effect: 'Allow', Action: LOG_ACTIONS, Resource: [{ 'Fn::Sub': logGroup }, { 'Fn::Sub': `${logGroup}:*` }] },
    // Any version of the function (the one to test changes with every release; a policy per version would lag IAM).
    { Effect: 'Allow', Action: ['lambda:InvokeFunction'], Resource: [{ 'Fn::Sub': `\${${names.functionId}.Arn}:*` }] },
    {
      Effect: 'Allow',
      Action: HOOK_REPORT_ACTIONS,
      Resource: [{ 'Fn::Sub': `arn:\${AWS::Partition}:codedeploy:\${AWS::Region}:\${AWS::AccountId}:deploymentgroup:${names.functionName}/${DEPLOYMENT_GROUP_NAME}` }],
    },
  ];
  return {
    [ids.hookRole]: role(names, 'lambda.amazonaws.com', `Pre-traffic hook of ${names.functionName}: invokes the new version once, reports to CodeDeploy`, statements, tagList),
    [ids.hook]: {
      Type: 'AWS::Lambda::Function',
      Properties: {
        FunctionName: hookName,
        Description: `lambda-cd: invokes each new version of ${names.functionName} with ${preTraffic.file} before ${names.aliasName} gets traffic`,
        Handler: 'index.handler',
        Runtime: input.runtime,
        MemorySize: 128,
        // Longer than the invocation it waits for.
        Timeout: Math.min(900, input.functionTimeout + 60),
        Role: { 'Fn::GetAtt': [ids.hookRole, 'Arn'] },
        Code: { ZipFile: HOOK_CODE },
        Environment: { Variables: { TARGET: { Ref: version.logicalId }, EVENT: preTraffic.event } },
        Tags: tagList,
      },
    },
  };
}

/**
 * A release role: under the function roles' path and with their permissions boundary, so the deploy
 * role, which may create roles only with that boundary, can create it, and the boundary (which
 * allows what these roles do, on this function only) caps it like the function's own role.
 */
function role(names: ReleaseNames, service: string, description: string, statements: Json[], tagList: { Key: string; Value: string }[]): Json {
  return {
    Type: 'AWS::IAM::Role',
    Properties: {
      Description: description,
      Path: names.rolePath,
      AssumeRolePolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: [service] }, Action: ['sts:AssumeRole'] }] },
      PermissionsBoundary: { 'Fn::Sub': names.boundary },
      Policies: [{ PolicyName: 'lambda-cd-release', PolicyDocument: { Version: '2012-10-17', Statement: statements } }],
      Tags: tagList,
    },
  };
}

/** An alarm's ARN, joined rather than substituted: a user's alarm name is text, never a ${...} to resolve. */
function alarmArn(name: string | Json): Json {
  return { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudwatch:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':alarm:', name]] };
}

function withoutUndefined(object: Json): Json {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined));
}
