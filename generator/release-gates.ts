/**
 * What the CodePipeline template adds for safe releases: a manual approval before a stage's deploy
 * (`--approve-before`), the release gate that lets a stage start only once other pipelines'
 * preceding stages have passed too (`--coordinate-with`, the 2018 thesis's planned feature), and
 * the permissions the deploy role needs for what the stage templates now hold (versions, CodeDeploy,
 * alarms, the pre-traffic hook) and the integration-test role for `lambda-cd rollback`.
 *
 * The gate, simplest sound form: the transition into the stage is disabled in the pipeline's
 * definition; an EventBridge rule sends the stage-state changes of this pipeline and the named ones
 * to a small function, which enables the transition only while an execution of this pipeline waits
 * there and every named pipeline's same preceding stage has Succeeded in its latest execution, and
 * disables it again as soon as the stage starts. It tells the pipeline's SNS topic when it opens the
 * gate, or when a named pipeline cannot be read. SNS is not in the event path: EventBridge delivers
 * the events of every pipeline in the account and region directly (and retries for 24 hours).
 */
import { PROD_STAGE } from '../lib/contract.js';
import { UsageError } from '../lib/errors.js';
import { getAtt, ref, sub } from './cfn-yaml.js';
import { allow, arn, iamArn, role, type Statement } from './iam.js';
import { functionStackName } from './names.js';

export interface ReleaseGates {
  /** Stages whose deploy waits for a person's approval (PROD included when named). */
  approveBefore: string[];
  /** The stage that starts only when the named pipelines' preceding stage passed too. */
  coordinate?: { stage: string; pipelines: string[] };
}

/** CodePipeline pipeline names. */
const PIPELINE_NAME = /^[A-Za-z0-9.@_-]{1,100}$/;
const MAX_COORDINATED = 10;
/** CodePipeline's pattern for a transition's reason. */
const GATE_REASON = 'Waits for the pipelines it is released with (lambda-cd release gate)';
export const GATE_LOG_GROUP = '/lambda-cd/${AWS::StackName}/release-gate';

/** Checks --approve-before, --coordinate-with and --coordinate-stage against the pipeline's stages. */
export function validateGates(command: string, stages: string[], gates: ReleaseGates): void {
  const all = [...stages, PROD_STAGE];
  for (const stage of gates.approveBefore) {
    if (!all.includes(stage)) throw new UsageError(`${command}: --approve-before expects stages of the pipeline (${all.join(', ')}), found ${JSON.stringify(stage)}`);
  }
  const duplicate = gates.approveBefore.find((stage, index) => gates.approveBefore.indexOf(stage) !== index);
  if (duplicate) throw new UsageError(`${command}: --approve-before expects each stage once, found ${duplicate} twice`);
  if (!gates.coordinate) return;
  const { stage, pipelines } = gates.coordinate;
  if (!all.includes(stage)) throw new UsageError(`${command}: --coordinate-stage expects a stage of the pipeline (${all.join(', ')}), found ${JSON.stringify(stage)}`);
  if (pipelines.length === 0 || pipelines.length > MAX_COORDINATED) throw new UsageError(`${command}: --coordinate-with expects 1 to ${MAX_COORDINATED} pipeline names, comma-separated, found ${pipelines.length}`);
  for (const pipeline of pipelines) {
    if (!PIPELINE_NAME.test(pipeline)) throw new UsageError(`${command}: --coordinate-with expects CodePipeline names (letters, digits, '.', '@', '_', '-'; at most 100), found ${JSON.stringify(pipeline)}`);
  }
  const twice = pipelines.find((pipeline, index) => pipelines.indexOf(pipeline) !== index);
  if (twice) throw new UsageError(`${command}: --coordinate-with expects each pipeline once, found ${twice} twice`);
}

/** The stage before `stage` in the pipeline (Build before the first deploy stage). */
export function precedingStage(stages: string[], stage: string): string {
  const all = [...stages, PROD_STAGE];
  const index = all.indexOf(stage);
  return index <= 0 ? 'Build' : all[index - 1]!;
}

/** The stage's actions, after an Approval action when the stage asks for one. */
export function withApproval(gates: ReleaseGates, stage: string, actions: Record<string, unknown>[]): Record<string, unknown>[] {
  if (!gates.approveBefore.includes(stage)) return actions;
  const approval = {
    Name: 'Approval',
    ActionTypeId: { Category: 'Approval', Owner: 'AWS', Provider: 'Manual', Version: '1' },
    Configuration: {
      NotificationArn: ref('FailureTopic'),
      CustomData: sub(`Approve deploying \${FunctionName} to ${stage} (pipeline \${AWS::StackName}); the build passed every stage before it.`),
    },
    RunOrder: 1,
  };
  return [approval, ...actions.map((action) => ({ ...action, RunOrder: (action.RunOrder as number) + 1 }))];
}

/** Pipeline properties: the coordinated stage's transition starts disabled. */
export function disabledTransitions(gates: ReleaseGates): Record<string, unknown> {
  return gates.coordinate ? { DisableInboundStageTransitions: [{ StageName: gates.coordinate.stage, Reason: GATE_REASON }] } : {};
}

/** The PipelineRole's extra statement: an approval publishes to the pipeline's topic. */
export function pipelineGateStatements(gates: ReleaseGates): Statement[] {
  return gates.approveBefore.length > 0 ? [allow(['sns:Publish'], [ref('FailureTopic')])] : [];
}

/**
 * Enables the transition into STAGE while an execution waits there and every pipeline in OTHERS
 * last passed BEFORE; disables it when STAGE starts. Events: CodePipeline Stage Execution State
 * Change (STARTED, SUCCEEDED) of BEFORE and STAGE in this pipeline and the others.
 */
const GATE_CODE = `import os
import boto3

codepipeline = boto3.client("codepipeline")
sns = boto3.client("sns")
PIPELINE, STAGE, BEFORE = os.environ["PIPELINE"], os.environ["STAGE"], os.environ["BEFORE"]
OTHERS = [name for name in os.environ["OTHERS"].split(",") if name]
REASON = "${GATE_REASON}"


def stages(name):
    return {s["stageName"]: s for s in codepipeline.get_pipeline_state(name=name)["stageStates"]}


def notify(subject, message):
    print(message)
    sns.publish(TopicArn=os.environ["TOPIC"], Subject=subject[:100], Message=message)


def handler(event, context):
    detail = event.get("detail", {})
    mine = stages(PIPELINE)
    gate = mine[STAGE]
    if detail.get("pipeline") == PIPELINE and detail.get("stage") == STAGE and detail.get("state") == "STARTED":
        codepipeline.disable_stage_transition(pipelineName=PIPELINE, stageName=STAGE, transitionType="Inbound", reason=REASON)
        return "closed: " + STAGE + " started"
    before = mine[BEFORE].get("latestExecution", {})
    entered = gate.get("latestExecution", {}).get("pipelineExecutionId")
    if before.get("status") != "Succeeded" or before.get("pipelineExecutionId") == entered:
        return "nothing waits at " + STAGE
    waiting = []
    for other in OTHERS:
        try:
            state = stages(other).get(BEFORE)
        except codepipeline.exceptions.PipelineNotFoundException:
            notify("lambda-cd gate: no pipeline " + other, PIPELINE + " waits before " + STAGE + " for pipeline " + other + ", which does not exist")
            return "closed"
        if state is None:
            notify("lambda-cd gate: " + other + " has no " + BEFORE, PIPELINE + " waits before " + STAGE + " for stage " + BEFORE + " of " + other + ", which it does not have")
            return "closed"
        status = state.get("latestExecution", {}).get("status", "never run")
        if status != "Succeeded":
            waiting.append(other + " (" + BEFORE + " " + status + ")")
    if waiting:
        print(PIPELINE, "waits before", STAGE, "for", ", ".join(waiting))
        return "closed"
    if not gate.get("inboundTransitionState", {}).get("enabled", False):
        codepipeline.enable_stage_transition(pipelineName=PIPELINE, stageName=STAGE, transitionType="Inbound")
        notify("lambda-cd gate: " + STAGE + " of " + PIPELINE + " opens", "Every coordinated pipeline passed " + BEFORE + " (" + ", ".join(OTHERS) + "): " + PIPELINE + " enters " + STAGE)
    return "open"
`;

/** The gate's function, role, log group, rule and invoke permission. */
export function coordinationResources(stages: string[], gates: ReleaseGates): Record<string, unknown> {
  if (!gates.coordinate) return {};
  const { stage, pipelines } = gates.coordinate;
  const before = precedingStage(stages, stage);
  const pipelineArn = (name: string) => arn('codepipeline', name);
  return {
    ReleaseGateLogs: {
      Type: 'AWS::Logs::LogGroup',
      DeletionPolicy: 'Delete',
      UpdateReplacePolicy: 'Delete',
      Properties: { LogGroupName: sub(GATE_LOG_GROUP), RetentionInDays: 30 },
    },
    ReleaseGateRole: role({
      service: 'lambda',
      description: `Release gate: reads the coordinated pipelines' states and opens or closes the transition into ${stage}`,
      statements: [
        allow(['logs:CreateLogStream', 'logs:PutLogEvents'], [getAtt('ReleaseGateLogs', 'Arn')]),
        allow(['codepipeline:GetPipelineState'], [arn('codepipeline', '${Pipeline}'), ...pipelines.map(pipelineArn)]),
        allow(['codepipeline:DisableStageTransition', 'codepipeline:EnableStageTransition'], [arn('codepipeline', `\${Pipeline}/${stage}`)]),
        allow(['sns:Publish'], [ref('FailureTopic')]),
      ],
      sourceAccount: true,
    }),
    ReleaseGate: {
      Type: 'AWS::Lambda::Function',
      Properties: {
        Description: `lambda-cd: lets ${stage} start once ${pipelines.join(', ')} passed ${before} too`,
        Runtime: 'python3.12',
        Handler: 'index.handler',
        MemorySize: 128,
        Timeout: 30,
        Role: getAtt('ReleaseGateRole', 'Arn'),
        Code: { ZipFile: GATE_CODE },
        LoggingConfig: { LogGroup: ref('ReleaseGateLogs') },
        Environment: { Variables: { PIPELINE: ref('Pipeline'), STAGE: stage, BEFORE: before, OTHERS: pipelines.join(','), TOPIC: ref('FailureTopic') } },
      },
    },
    ReleaseGateRule: {
      Type: 'AWS::Events::Rule',
      Properties: {
        Description: `${before} and ${stage} of this pipeline and of ${pipelines.join(', ')} -> the release gate`,
        EventPattern: {
          source: ['aws.codepipeline'],
          'detail-type': ['CodePipeline Stage Execution State Change'],
          detail: { pipeline: [ref('Pipeline'), ...pipelines], stage: [before, stage], state: ['STARTED', 'SUCCEEDED'] },
        },
        Targets: [{ Id: 'release-gate', Arn: getAtt('ReleaseGate', 'Arn') }],
      },
    },
    ReleaseGatePermission: {
      Type: 'AWS::Lambda::Permission',
      Properties: { Action: 'lambda:InvokeFunction', FunctionName: ref('ReleaseGate'), Principal: 'events.amazonaws.com', SourceArn: getAtt('ReleaseGateRule', 'Arn') },
    },
  };
}

/**
 * What the deploy role needs for the stage templates' release parts: their versions (the Lambda
 * actions are granted with the function's), the CodeDeploy application <Name><Stage> and its
 * deployment group, the deployments CloudFormation starts for the alias, the default alarm, the
 * pre-traffic hook <Name><Stage>-pre-traffic, and passing lambda-cd's CodeDeploy role to CodeDeploy.
 */
export function releaseDeployStatements(allStages: string[]): Statement[] {
  const applications = allStages.map((stage) => arn('codedeploy', `application:\${FunctionName}${stage}`));
  const groups = allStages.map((stage) => arn('codedeploy', `deploymentgroup:\${FunctionName}${stage}/*`));
  const configs = [arn('codedeploy', 'deploymentconfig:CodeDeployDefault.Lambda*')];
  const alarms = allStages.map((stage) => arn('cloudwatch', `alarm:\${FunctionName}${stage}-release-errors`));
  const hooks = allStages.flatMap((stage) => [arn('lambda', `function:\${FunctionName}${stage}-pre-traffic`), arn('lambda', `function:\${FunctionName}${stage}-pre-traffic:*`)]);
  const codeDeploy = [
    'CreateApplication', 'DeleteApplication', 'GetApplication', 'UpdateApplication', 'CreateDeploymentGroup', 'DeleteDeploymentGroup', 'GetDeploymentGroup', 'UpdateDeploymentGroup',
    'CreateDeployment', 'GetDeployment', 'StopDeployment', 'GetDeploymentConfig', 'RegisterApplicationRevision', 'GetApplicationRevision',
    'TagResource', 'UntagResource', 'ListTagsForResource',
  ].map((action) => `codedeploy:${action}`);
  return [
    allow(codeDeploy, [...applications, ...groups, ...configs]),
    allow(['cloudwatch:PutMetricAlarm', 'cloudwatch:DeleteAlarms', 'cloudwatch:DescribeAlarms', 'cloudwatch:TagResource', 'cloudwatch:UntagResource', 'cloudwatch:ListTagsForResource'], alarms),
    allow(['lambda:CreateFunction', 'lambda:DeleteFunction', 'lambda:GetFunction', 'lambda:GetFunctionConfiguration', 'lambda:UpdateFunctionCode', 'lambda:UpdateFunctionConfiguration', 'lambda:TagResource', 'lambda:UntagResource', 'lambda:ListTags', 'lambda:GetRuntimeManagementConfig', 'lambda:GetFunctionCodeSigningConfig', 'lambda:GetFunctionRecursionConfig'], hooks),
    // lambda-cd's CodeDeploy role is never named: it lives under /lambda-cd/<Name>/ like the function roles.
    allow(['iam:PassRole'], [iamArn('role/lambda-cd/${FunctionName}/*')], { StringEquals: { 'iam:PassedToService': 'codedeploy.amazonaws.com' } }),
  ];
}

/** What `integration-test` (reading the alias) and `rollback` (moving it back, tagging the version it left) need on the tested stages' functions. */
export function aliasStatements(stages: string[]): Statement[] {
  const functions = stages.flatMap((stage) => [arn('lambda', `function:\${FunctionName}${stage}`), arn('lambda', `function:\${FunctionName}${stage}:*`)]);
  return [allow(['lambda:GetAlias', 'lambda:UpdateAlias', 'lambda:ListTags', 'lambda:TagResource'], functions)];
}

/** aliasStatements, plus reading the stage stacks' events (rollback's record of versions), for the CodePipeline integration-test role. */
export function rollbackStatements(stages: string[]): Statement[] {
  return [...aliasStatements(stages), allow(['cloudformation:DescribeStackEvents'], stages.map((stage) => arn('cloudformation', `stack/${functionStackName(stage)}/*`)))];
}
