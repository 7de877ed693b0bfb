"""IAM helpers of the 2018 library ``awslambdacontinuousdelivery.tools.iam``, as troposphere/awacs objects.

Same names, arguments and return types as the original:
  defaultAssumeRolePolicyDocument(service) -> awacs.aws.Policy letting ``service`` assume the role
  oneClickCreateLogsPolicy()               -> troposphere.iam.Policy: logs on arn:aws:logs:*:*:*
  oneClickCodePipeServicePolicy()          -> troposphere.iam.Policy: what a 2018 pipeline role had
  createRole(name, policies)               -> troposphere.iam.Role named ``name``-<stack>
  createCodepipelineRole(name)             -> troposphere.iam.Role for CodePipeline

lambda-cd's create-cf replaces a function role's trust policy and narrows the logs grant of
oneClickCreateLogsPolicy() to the function's own log group (it says so when it does).
"""
from typing import List

from awacs.aws import Action, Allow, Policy as PolicyDocument, Principal, Statement
from troposphere import Sub
from troposphere.iam import Policy, Role

from awslambdacontinuousdelivery.tools import alphanum

__all__ = [
    "createCodepipelineRole",
    "createRole",
    "defaultAssumeRolePolicyDocument",
    "oneClickCodePipeServicePolicy",
    "oneClickCreateLogsPolicy",
]


def _actions(prefix: str, *names: str) -> List[Action]:
    return [Action(prefix, name) for name in names]


def _allow(actions: List[Action], resources: List[str]) -> Statement:
    return Statement(Action=actions, Resource=resources, Effect=Allow)


def defaultAssumeRolePolicyDocument(service: str) -> PolicyDocument:
    """A trust policy: ``service`` (e.g. "lambda.amazonaws.com") may assume the role."""
    return PolicyDocument(
        Statement=[Statement(Action=[Action("sts", "AssumeRole")], Effect=Allow, Principal=Principal("Service", service))]
    )


def oneClickCreateLogsPolicy(*_unused) -> Policy:
    """Logs for a function: CreateLogGroup, CreateLogStream, PutLogEvents on every log group.

    (One version of the original took an ignored ``self``; both call forms work.)
    """
    document = PolicyDocument(
        Statement=[_allow(_actions("logs", "CreateLogGroup", "CreateLogStream", "PutLogEvents"), ["arn:aws:logs:*:*:*"])]
    )
    return Policy(PolicyName=Sub("OneClickCreateLogsPolicy-${AWS::StackName}"), PolicyDocument=document)


def oneClickCodePipeServicePolicy() -> Policy:
    """The service policy of a 2018 CodePipeline role (broad: the 2018 pipelines granted service:*)."""
    everything = ["*"]
    services = ["elasticbeanstalk", "ec2", "elasticloadbalancing", "autoscaling", "cloudwatch", "s3", "sns",
                "cloudformation", "rds", "sqs", "ecs"]
    statements = [
        _allow(_actions("s3", "GetObject", "GetObjectVersion", "GetBucketVersioning"), everything),
        _allow(_actions("s3", "PutObject"), ["arn:aws:s3:::codepipeline*", "arn:aws:s3:::elasticbeanstalk*"]),
        _allow(_actions("codecommit", "CancelUploadArchive", "GetBranch", "GetCommit", "GetUploadArchiveStatus",
                        "UploadArchive"), everything),
        _allow(_actions("codedeploy", "CreateDeployment", "GetApplicationRevision", "GetDeployment",
                        "GetDeploymentConfig", "RegisterApplicationRevision"), everything),
        _allow([Action(service, "*") for service in services] + [Action("iam", "PassRole")], everything),
        _allow(_actions("lambda", "InvokeFunction", "ListFunctions"), everything),
        _allow(_actions("opsworks", "CreateDeployment", "DescribeApps", "DescribeCommands", "DescribeDeployments",
                        "DescribeInstances", "DescribeStacks", "UpdateApp", "UpdateStack"), everything),
        _allow(_actions("cloudformation", "CreateStack", "DeleteStack", "DescribeStacks", "UpdateStack",
                        "CreateChangeSet", "DeleteChangeSet", "DescribeChangeSet", "ExecuteChangeSet",
                        "SetStackPolicy", "ValidateTemplate") + [Action("iam", "PassRole")], everything),
        _allow(_actions("codebuild", "BatchGetBuilds", "StartBuild"), everything),
    ]
    return Policy(PolicyName=Sub("oneClickCodePipeServicePolicy-${AWS::StackName}"),
                  PolicyDocument=PolicyDocument(Statement=statements))


def createRole(name: str, policies: List[Policy]) -> Role:
    """A role with logical id alphanum(name), named ``name``-<stack name>, trusted by Lambda."""
    return Role(alphanum(name),
                RoleName=Sub(name + "-${AWS::StackName}"),
                AssumeRolePolicyDocument=defaultAssumeRolePolicyDocument("lambda.amazonaws.com"),
                Policies=policies)


def createCodepipelineRole(name: str) -> Role:
    """The 2018 pipeline's CodePipeline role: logical id alphanum(name), named <stack>PipelineRole."""
    return Role(alphanum(name),
                RoleName=Sub("${AWS::StackName}PipelineRole"),
                AssumeRolePolicyDocument=defaultAssumeRolePolicyDocument("codepipeline.amazonaws.com"),
                Policies=[oneClickCodePipeServicePolicy()])
