/**
 * IAM building blocks for the pipeline template: one role per job, each trusting one
 * service, with statements naming only this pipeline's resources.
 */
import { getAtt, sub, type Intrinsic } from './cfn-yaml.js';

/** An ARN: text, a short-form intrinsic, or a long-form one ({'Fn::Sub': [text, {variables}]}). */
export type Resource = string | Intrinsic | Record<string, unknown>;

export interface Statement {
  Effect: 'Allow' | 'Deny';
  Action: string[];
  Resource: Resource | Resource[];
  Condition?: Record<string, Record<string, unknown>>;
  Sid?: string;
}

export function allow(actions: string[], resources: Resource[], condition?: Statement['Condition']): Statement {
  return { Effect: 'Allow', Action: actions, Resource: resources, ...(condition ? { Condition: condition } : {}) };
}

export function deny(actions: string[], resources: Resource[], condition?: Statement['Condition']): Statement {
  return { Effect: 'Deny', Action: actions, Resource: resources, ...(condition ? { Condition: condition } : {}) };
}

/** `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE` of this stack's account and region. */
export function arn(service: string, resource: string): Intrinsic {
  return sub(`arn:\${AWS::Partition}:${service}:\${AWS::Region}:\${AWS::AccountId}:${resource}`);
}

export function iamArn(resource: string): Intrinsic {
  return sub(`arn:\${AWS::Partition}:iam::\${AWS::AccountId}:${resource}`);
}

export interface RoleOptions {
  service: string;
  description: string;
  statements: Statement[];
  /** Confused-deputy guard: the service may assume the role only on behalf of this account. */
  sourceAccount?: boolean;
}

export function role(options: RoleOptions): Record<string, unknown> {
  const trust: Record<string, unknown> = { Effect: 'Allow', Principal: { Service: `${options.service}.amazonaws.com` }, Action: 'sts:AssumeRole' };
  if (options.sourceAccount) trust.Condition = { StringEquals: { 'aws:SourceAccount': sub('${AWS::AccountId}') } };
  return {
    Type: 'AWS::IAM::Role',
    Properties: {
      Description: options.description,
      AssumeRolePolicyDocument: { Version: '2012-10-17', Statement: [trust] },
      Policies: [{ PolicyName: 'least-privilege', PolicyDocument: { Version: '2012-10-17', Statement: options.statements } }],
    },
  };
}

export const bucketArn = () => getAtt('ArtifactBucket', 'Arn');
export const bucketObjects = (prefix = '') => sub(`\${ArtifactBucket.Arn}/${prefix}*`);
