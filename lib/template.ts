/**
 * The CloudFormation template of one stage. Names kept from the 2018 generator (createCF.py,
 * appendix A.4 of the thesis), so pipelines and integration tests find what they did and a
 * stack the 2018 system deployed updates in place: parameters S3Storage and S3Key, the
 * function's logical id alphanum(Name) and FunctionName Name+Stage, the role's logical id
 * alphanum(Name+Stack+Stage)+"IAM", the alias alphanum(Name+Stack+Stage)+"Alias" named
 * Name+Stack+Stage on the function's ARN, and the output alphanum(Name+Stack+Stage)
 * exporting the function ARN as Name+Stack+Stage. Create-only properties keep 2018's values
 * (the alias's FunctionName is the ARN; a role named by its iam.py keeps its path), and the
 * log group Lambda creates by itself is declared only when the config asks for a retention.
 * Objects are built in a fixed order, so the same input always gives the same bytes.
 */
import yaml from 'js-yaml';
import { STAGE_TAG, stageSettings, type RepositoryConfig } from './contract.js';
import { ConfigError } from './errors.js';
import { LOG_ACTIONS, TRACING_ACTIONS, VPC_ACTIONS, functionBoundarySub } from './function-boundary.js';
import { referenceProblem, simplifyIntrinsics, type ReferenceScope } from './intrinsics.js';
import { releaseParts, releasePlan, versionIdentity } from './release-template.js';
import type { EnvValue } from './stage-env.js';
import type { StageIam } from './stage-iam.js';
import { LAMBDA_PRINCIPAL, functionRolePath } from './stage-iam.js';

export { STAGE_TAG };
/** Our inline policies; a user's policy may not take these names. */
export const LOGS_POLICY = 'lambda-cd-logs';
export const VPC_POLICY = 'lambda-cd-vpc';
export const XRAY_POLICY = 'lambda-cd-xray';

type Json = Record<string, unknown>;

export interface TemplateInput {
  config: RepositoryConfig;
  stack: string;
  stage: string;
  variables: Record<string, EnvValue>;
  /** Where the variables came from (for messages). */
  envSource?: string;
  iam: StageIam;
  /** The deployment zip's sha256 (dist/function.zip.manifest.json): the published version is named after it. */
  zipSha256: string;
}

export function alphanum(text: string): string {
  return text.replace(/[^A-Za-z0-9]/g, '');
}

/** The names a stage's template gives its parts. */
export function templateNames(name: string, stack: string, stage: string) {
  const qualified = `${name}${stack}${stage}`;
  return {
    functionId: alphanum(name),
    functionName: `${name}${stage}`,
    roleId: `${alphanum(qualified)}IAM`,
    aliasId: `${alphanum(qualified)}Alias`,
    aliasName: qualified,
    logGroupId: `${alphanum(name)}LogGroup`,
    logGroupName: `/aws/lambda/${name}${stage}`,
    outputId: alphanum(qualified),
    exportName: qualified,
  };
}

export function buildTemplate({ config, stack, stage, variables: userVariables, envSource, iam: userIam, zipSha256 }: TemplateInput): Json {
  const variables = simplifyIntrinsics(userVariables);
  const iam = { ...userIam, properties: simplifyIntrinsics(userIam.properties) };
  const settings = stageSettings(config, stage);
  const names = templateNames(config.name, stack, stage);
  const tags: Record<string, string> = { ...settings.tags, [STAGE_TAG]: stage };
  const tagList = Object.keys(tags).sort().map((Key) => ({ Key, Value: tags[Key]! }));
  // Lambda creates /aws/lambda/<FunctionName> itself on the first invocation; a stack that
  // declares it collides with that group ("already exists") wherever the function ran before
  // (every function the 2018 system deployed). Declared only when a retention asks for it.
  const explicitLogGroup = settings.logRetentionInDays !== undefined;
  checkReferences(names, explicitLogGroup, variables, envSource, iam);

  const fn: Json = {
    FunctionName: names.functionName,
    Description: settings.description,
    Handler: config.handler,
    Runtime: config.runtime,
    Architectures: [config.architecture],
    MemorySize: settings.memorySize,
    Timeout: settings.timeout,
    Role: { 'Fn::GetAtt': [names.roleId, 'Arn'] },
    Code: { S3Bucket: { Ref: 'S3Storage' }, S3Key: { Ref: 'S3Key' } },
    Environment: Object.keys(variables).length ? { Variables: variables } : undefined,
    Layers: settings.layers.length ? settings.layers : undefined,
    VpcConfig: settings.vpc ? { SecurityGroupIds: settings.vpc.securityGroupIds, SubnetIds: settings.vpc.subnetIds } : undefined,
    TracingConfig: settings.tracing ? { Mode: settings.tracing } : undefined,
    ReservedConcurrentExecutions: settings.reservedConcurrency,
    Tags: tagList,
  };

  const resources: Json = {};
  if (explicitLogGroup) {
    // Stated, not implied: the logs go with the stack (a retained group would block re-creating it).
    resources[names.logGroupId] = {
      Type: 'AWS::Logs::LogGroup',
      DeletionPolicy: 'Delete',
      UpdateReplacePolicy: 'Delete',
      Properties: { LogGroupName: names.logGroupName, RetentionInDays: settings.logRetentionInDays, Tags: tagList },
    };
  }
  const logs = explicitLogGroup ? { logGroupId: names.logGroupId } : { logGroupName: names.logGroupName };
  const role = roleProperties(iam, stack, logs, settings.vpc !== undefined, settings.tracing === 'Active', tagList);
  const functionProperties = withoutUndefined(fn);
  resources[names.roleId] = { Type: 'AWS::IAM::Role', Properties: role };
  resources[names.functionId] = { Type: 'AWS::Lambda::Function', Properties: functionProperties };
  const release = releaseParts({
    names: { ...names, rolePath: functionRolePath(config.name), boundary: functionBoundarySub(stack) },
    plan: releasePlan(config, stage),
    version: versionIdentity(names.functionId, functionProperties, role, zipSha256),
    zipSha256,
    stage,
    exportName: names.exportName,
    functionTimeout: settings.timeout,
    runtime: config.runtime,
    tagList,
  });
  // The version, the CodeDeploy pieces if any, then the alias that points at the version.
  Object.assign(resources, release.resources);
  resources[names.aliasId] = {
    Type: 'AWS::Lambda::Alias',
    ...release.aliasAttributes,
    Properties: {
      Name: names.aliasName,
      Description: `${stage} of pipeline ${stack}`,
      // The ARN, as in 2018: FunctionName is create-only, and a named alias cannot be replaced.
      FunctionName: { 'Fn::GetAtt': [names.functionId, 'Arn'] },
      // The version this build published; a 2018 alias on $LATEST moves to it in place.
      FunctionVersion: release.aliasVersion,
    },
  };

  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: `${config.name} in stage ${stage} of pipeline ${stack} (written by lambda-cd create-cf)`,
    Parameters: {
      S3Storage: { Type: 'String', Description: "Bucket holding the function's deployment zip" },
      S3Key: { Type: 'String', Description: "Key of the function's deployment zip in S3Storage" },
    },
    Resources: resources,
    Outputs: {
      [names.outputId]: {
        Description: `${stage}: ARN for Lambda Function`,
        Value: { 'Fn::GetAtt': [names.functionId, 'Arn'] },
        Export: { Name: names.exportName },
      },
      ...release.outputs,
    },
  };
}

/**
 * What the user's values may name: the parameters, the log group, and (for the function's
 * environment) the role; the role may not name the function or its alias, which depend on it.
 */
function checkReferences(names: ReturnType<typeof templateNames>, explicitLogGroup: boolean, variables: Record<string, EnvValue>, envSource: string | undefined, iam: StageIam): void {
  const common = ['S3Storage', 'S3Key', ...(explicitLogGroup ? [names.logGroupId] : [])];
  const roleDependents = {
    [names.functionId]: "the function, whose role this is: the function depends on the role",
    [names.aliasId]: "the alias, which depends on the function, which depends on the role",
    [names.roleId]: 'the role itself',
  };
  const roleProblem = referenceProblem(iam.properties, { names: common, dependents: roleDependents });
  if (roleProblem) throw new ConfigError(`${iam.source}: ${roleProblem}`);
  const envScope: ReferenceScope = {
    names: [...common, names.roleId],
    dependents: { [names.functionId]: "the function itself (its own environment cannot name it; read AWS_LAMBDA_FUNCTION_NAME at run time)", [names.aliasId]: 'the alias, which depends on the function' },
  };
  const envProblem = referenceProblem(variables, envScope);
  if (envProblem) throw new ConfigError(`${envSource}: ${envProblem}`);
}

/**
 * The user's role properties plus what every function role gets: trust in Lambda only, write
 * access to its own log group only (creating it too when Lambda does), and the VPC and X-Ray
 * permissions the settings need, and the pipeline's permissions boundary (lib/function-boundary.ts),
 * which no file can replace. The path is the one lib/stage-iam.ts decided.
 */
function roleProperties(iam: StageIam, stack: string, logs: { logGroupId: string } | { logGroupName: string }, inVpc: boolean, tracing: boolean, tagList: { Key: string; Value: string }[]): Json {
  const user = iam.properties;
  const boundary = functionBoundarySub(stack);
  if (user.PermissionsBoundary !== undefined && !isBoundary(user.PermissionsBoundary, boundary)) {
    throw new ConfigError(`${iam.source}: PermissionsBoundary: lambda-cd gives every function role the pipeline's boundary (policy/lambda-cd/${stack}-function-boundary) and a role has only one; remove the key and narrow the role with its own statements (Deny statements too)`);
  }
  const taken = ((user.Policies as Json[] | undefined) ?? []).find((p) => [LOGS_POLICY, VPC_POLICY, XRAY_POLICY].includes(String(p.PolicyName)));
  if (taken) throw new ConfigError(`${iam.source}: Policies: the name ${String(taken.PolicyName)} is lambda-cd's own; rename that policy`);
  const logGroupArn = `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:${'logGroupId' in logs ? `\${${logs.logGroupId}}` : logs.logGroupName}`;
  const logStatements: Json[] = 'logGroupId' in logs
    ? [{ Effect: 'Allow', Action: LOG_ACTIONS.filter((action) => action !== 'logs:CreateLogGroup'), Resource: { 'Fn::Sub': `${logGroupArn}:*` } }]
    : [{ Effect: 'Allow', Action: LOG_ACTIONS, Resource: [{ 'Fn::Sub': logGroupArn }, { 'Fn::Sub': `${logGroupArn}:*` }] }];
  const policies: Json[] = [...((user.Policies as Json[] | undefined) ?? []), policy(LOGS_POLICY, logStatements)];
  if (inVpc) policies.push(policy(VPC_POLICY, [{ Effect: 'Allow', Action: VPC_ACTIONS, Resource: '*' }]));
  // X-Ray's write actions have no resource-level permissions: "*" is the only Resource they accept.
  if (tracing) policies.push(policy(XRAY_POLICY, [{ Effect: 'Allow', Action: TRACING_ACTIONS, Resource: '*' }]));
  const managed = (user.ManagedPolicyArns as unknown[] | undefined) ?? [];
  const userTags = (user.Tags as { Key: string }[] | undefined) ?? [];
  const tags = [...userTags, ...tagList.filter((tag) => !userTags.some((own) => own.Key === tag.Key))];

  return withoutUndefined({
    RoleName: user.RoleName,
    Description: user.Description,
    Path: iam.path,
    AssumeRolePolicyDocument: {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: [LAMBDA_PRINCIPAL] }, Action: ['sts:AssumeRole'] }],
    },
    ManagedPolicyArns: managed.length ? managed : undefined,
    PermissionsBoundary: { 'Fn::Sub': boundary },
    MaxSessionDuration: user.MaxSessionDuration,
    Policies: policies,
    Tags: tags,
  });
}

/** The user's PermissionsBoundary names the pipeline's own boundary (as an ARN or as our Fn::Sub). */
function isBoundary(value: unknown, boundarySub: string): boolean {
  if (typeof value === 'object' && value !== null && (value as Json)['Fn::Sub'] === boundarySub) return true;
  const literal = boundarySub.replace('${AWS::Partition}', 'aws[a-z-]*').replace('${AWS::AccountId}', '\\d{12}');
  return typeof value === 'string' && new RegExp(`^${literal}$`).test(value);
}

function policy(name: string, statements: Json[]): Json {
  return { PolicyName: name, PolicyDocument: { Version: '2012-10-17', Statement: statements } };
}

function withoutUndefined(object: Json): Json {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined));
}

/**
 * CloudFormation reads YAML 1.1, where 1_000 and 1.5_0 are numbers; js-yaml writes YAML 1.2 and would
 * leave such text unquoted, so an env value "1_000" would reach Lambda as "1000". This type never
 * represents anything: it only makes the writer quote text a YAML 1.1 reader takes for a number.
 */
const YAML11_NUMBER = new yaml.Type('tag:yaml.org,2002:lambda-cd-yaml11-number', {
  kind: 'scalar',
  resolve: (text: string) => text.includes('_') && /^[-+]?(0b[01_]+|0x[0-9a-fA-F_]+|[0-9_]*\.?[0-9_]+)$/.test(text),
});
const TEMPLATE_YAML_SCHEMA = yaml.DEFAULT_SCHEMA.extend({ implicit: [YAML11_NUMBER] });

export function serializeTemplate(template: Json, format: 'json' | 'yaml'): string {
  if (format === 'json') return `${JSON.stringify(template, null, 2)}\n`;
  return yaml.dump(template, { schema: TEMPLATE_YAML_SCHEMA, noRefs: true, lineWidth: -1, sortKeys: false, quotingType: '"' });
}
