/**
 * The pipeline of a multi-function repository (lambda-cd.yaml): the one-function pipeline, with
 *   - the Unittests and Build steps as CodeBuild batch builds (one build per function, the batch
 *     buildspec of generator/buildspecs.ts), each project with a BuildBatchConfig whose service
 *     role may start, retry and read builds of that project only;
 *   - per stage, one deploy action per function to its own stack <Pipeline>Functions<Stage>-<Function>
 *     (its template and code location from that function's folder of the combined build
 *     artifact, <Function>/dist/<Function>/), then one integration-test action per function;
 *   - every IAM resource the one-function pipeline names through ${FunctionName} named for each
 *     function's Name (from its config/config.yaml), so each role still reaches only these
 *     functions, their stacks, roles, logs and CodeDeploy resources.
 * The FunctionName parameter goes: the names are fixed when the pipeline is generated.
 */
import { getAtt, Intrinsic, sub } from './cfn-yaml.js';
import { BUILD_ARTIFACT, ENV, type BuildStep } from './constants.js';
import { buildspecDocument, FUNCTION_VARIABLE } from './buildspecs.js';
import { dumpYaml } from './cfn-yaml.js';
import { allow, arn, role } from './iam.js';
import { PROJECTS, projectName } from './names.js';

export interface PipelineFunction {
  /** The name in lambda-cd.yaml: build identifier, dist/ folder, stack suffix. */
  id: string;
  /** Name from its config/config.yaml: the functions are Name+Stage. */
  name: string;
}

type Json = Record<string, unknown>;
const MENTION = '${FunctionName}';
const STACK_TEXT = /Functions([A-Za-z0-9]+)\//;

/** Rewrites `template` (pipelineTemplate's) for `functions`; `batchSteps`: the CodeBuild steps that become batch builds. */
export function forFunctions(template: Json, functions: PipelineFunction[], inline: boolean): Json {
  const ids = functions.map((fn) => fn.id);
  const resources = template.Resources as Record<string, Json>;
  const parameters = template.Parameters as Json;
  delete parameters.FunctionName;

  for (const step of ['unittests', 'build'] as BuildStep[]) {
    const { logicalId } = PROJECTS[step];
    const properties = resources[logicalId]!.Properties as Json;
    if (inline) (properties.Source as Json).BuildSpec = dumpYaml(buildspecDocument(step, ids));
    properties.BuildBatchConfig = {
      ServiceRole: getAtt(`${logicalId}BatchRole`, 'Arn'),
      CombineArtifacts: step === 'build',
      Restrictions: { MaximumBuildsAllowed: Math.max(functions.length, 1) },
      TimeoutInMins: 60,
    };
    resources[`${logicalId}BatchRole`] = role({
      service: 'codebuild',
      description: `CodeBuild batch of ${projectName(step).replace('${AWS::StackName}', 'this pipeline')}: starts one build per function of this project only`,
      sourceAccount: true,
      statements: [allow(['codebuild:StartBuild', 'codebuild:StopBuild', 'codebuild:RetryBuild', 'codebuild:BatchGetBuilds'], [arn('codebuild', `project/${projectName(step)}`)])],
    });
  }

  const pipelineRole = resources.PipelineRole!.Properties as { Policies: { PolicyDocument: { Statement: unknown[] } }[] };
  pipelineRole.Policies[0]!.PolicyDocument.Statement.push(
    allow(['codebuild:StartBuildBatch', 'codebuild:BatchGetBuildBatches', 'codebuild:StopBuildBatch', 'codebuild:RetryBuildBatch'], ['unittests', 'build'].map((step) => getAtt(PROJECTS[step as BuildStep].logicalId, 'Arn'))),
  );

  const pipeline = resources.Pipeline!.Properties as { Stages: { Name: string; Actions: Json[] }[] };
  // Layers of lambda-cd.yaml: each function's stack owns its layer versions, named <Name><Stage>-<layer> (runners/workspace-layers.ts).
  const deployStages = pipeline.Stages.map((stage) => stage.Name).filter((name) => !['Source', 'Unittests', 'Build'].includes(name));
  const deployRole = resources.DeployRole!.Properties as { Policies: { PolicyDocument: { Statement: unknown[] } }[] };
  deployRole.Policies[0]!.PolicyDocument.Statement.push(allow(['lambda:PublishLayerVersion', 'lambda:DeleteLayerVersion', 'lambda:GetLayerVersion'],
    functions.flatMap((fn) => deployStages.flatMap((stage) => [arn('lambda', `layer:${fn.name}${stage}-*`), arn('lambda', `layer:${fn.name}${stage}-*:*`)]))));
  for (const stage of pipeline.Stages) {
    if (stage.Name === 'Unittests' || stage.Name === 'Build') {
      for (const action of stage.Actions) {
        const configuration = action.Configuration as Json;
        configuration.BatchEnabled = 'true';
        if (stage.Name === 'Build') configuration.CombineArtifacts = 'true';
      }
      continue;
    }
    if (stage.Name === 'Source') continue;
    stage.Actions = stage.Actions.flatMap((action) => perFunctionAction(action, stage.Name, functions));
  }

  const names = functions.map((fn) => fn.name);
  const rewritten = rewrite(template, names, ids) as Json;
  return { ...rewritten, Description: `lambda-cd pipeline for the functions ${ids.join(', ')} of one repository (lambda-cd.yaml): ${String(template.Description).replace(/^lambda-cd pipeline for one Python Lambda function: /, '')}` };
}

/** A stage's Deploy or IntegrationTests action, once per function (approvals stay one). */
function perFunctionAction(action: Json, stage: string, functions: PipelineFunction[]): Json[] {
  const type = (action.ActionTypeId as Json).Provider;
  const configuration = action.Configuration as Json;
  if (type === 'CloudFormation') {
    return functions.map((fn) => ({
      ...action,
      Name: `Deploy${fn.id}`,
      Configuration: {
        ...configuration,
        StackName: sub(`\${AWS::StackName}Functions${stage}-${fn.id}`),
        TemplatePath: `${BUILD_ARTIFACT}::${fn.id}/dist/${fn.id}/stack${stage}.json`,
        TemplateConfiguration: `${BUILD_ARTIFACT}::${fn.id}/dist/${fn.id}/code-location.json`,
      },
    }));
  }
  if (type === 'CodeBuild') {
    return functions.map((fn) => {
      const variables = [
        { name: ENV.stack, type: 'PLAINTEXT', value: '${AWS::StackName}' },
        { name: ENV.stage, type: 'PLAINTEXT', value: stage },
        { name: ENV.functionStack, type: 'PLAINTEXT', value: `\${AWS::StackName}Functions${stage}` },
        { name: FUNCTION_VARIABLE, type: 'PLAINTEXT', value: fn.id },
      ];
      return { ...action, Name: `IntegrationTests${fn.id}`, Configuration: { ...configuration, EnvironmentVariables: sub(JSON.stringify(variables)) } };
    });
  }
  return [action];
}

/** Does `value` name ${FunctionName} (in a Sub) or Ref FunctionName anywhere? */
function mentions(value: unknown): boolean {
  if (value instanceof Intrinsic) return (value.fn === 'Sub' && value.value.includes(MENTION)) || (value.fn === 'Ref' && value.value === 'FunctionName');
  if (Array.isArray(value)) return value.some(mentions);
  if (typeof value === 'object' && value !== null) return Object.values(value).some(mentions);
  return typeof value === 'string' && value.includes(MENTION);
}

function isStackArn(value: unknown): boolean {
  return value instanceof Intrinsic && value.fn === 'Sub' && value.value.includes(':stack/') && STACK_TEXT.test(value.value);
}

/** `value` with FunctionName replaced by `name` (Sub texts, Refs). */
function named(value: unknown, name: string): unknown {
  if (value instanceof Intrinsic) {
    if (value.fn === 'Sub') return sub(value.value.split(MENTION).join(name));
    if (value.fn === 'Ref' && value.value === 'FunctionName') return name;
    return value;
  }
  if (Array.isArray(value)) return value.map((item) => named(item, name));
  // Plain-object intrinsics too (lib/function-boundary.ts builds { 'Fn::Sub': ... } itself).
  if (typeof value === 'object' && value !== null && (value as Json).Ref === 'FunctionName') return name;
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, named(item, name)]));
  // A text naming ${FunctionName} is a Sub's text (nothing else holds that form).
  return typeof value === 'string' ? value.split(MENTION).join(name) : value;
}

/** An array element that is one value (a resource ARN), not a structure holding several. */
function isLeaf(value: unknown): boolean {
  if (value instanceof Intrinsic) return true;
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 1 && Object.keys(value)[0]!.startsWith('Fn::');
}

/** In lists, a leaf naming FunctionName (or a function stack) becomes one leaf per function; elsewhere the names are listed. */
function rewrite(value: unknown, names: string[], ids: string[]): unknown {
  if (Array.isArray(value)) {
    return value.flatMap((item) => {
      if (isLeaf(item) && mentions(item)) return names.map((name) => named(item, name));
      if (isStackArn(item)) return ids.map((id) => sub((item as Intrinsic).value.replace(STACK_TEXT, `Functions$1-${id}/`)));
      return [rewrite(item, names, ids)];
    });
  }
  if (value instanceof Intrinsic) return mentions(value) ? named(value, names.join(', ')) : value;
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, rewrite(item, names, ids)]));
  return value;
}
