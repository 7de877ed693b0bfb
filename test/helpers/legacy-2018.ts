/**
 * Function repositories written the way 2018 repositories were (the thesis's contract, and what
 * real repositories of that era did): an iam.py built with troposphere and the 2018 helper
 * library (Sub policy names, RoleName = ref_name), another returning a plain dict; env.py with
 * get_env() and with get_env(stage); `Unittests: {Folder}` only; no Runtime; no buildspecs/.
 * Also what the 2018 createCF.py (appendix A.4) made of such a repository, for update tests.
 */
import path from 'node:path';
import { execa } from 'execa';
import { PROJECT_ROOT } from './cli.js';
import { makeRepo } from './repo.js';

export const LEGACY_NAME = 'IotWeather';

/** Gamma: troposphere + the helper library; PROD: a dict. */
export const LEGACY_FILES: Record<string, string> = {
  'config/config.yaml': `Name: ${LEGACY_NAME}\nHandler: weather.handler\nMemorySize: 256\nUnittests:\n  Folder: tests/unittests\n`,
  'config/Gamma/iam.py': `from awslambdacontinuousdelivery.tools.iam import (
    defaultAssumeRolePolicyDocument
  , oneClickCreateLogsPolicy
  )

from troposphere import Sub
from troposphere.iam import Role, Policy
import awacs.aws
import awacs.s3 as s3

def get_s3_access() -> Policy:
  statements = [
    awacs.aws.Statement(
      Action = [ s3.PutObject ],
      Effect = awacs.aws.Allow,
      Resource = [ Sub("arn:aws:s3:::iotweatherdata-gamma*") ]
    )
  ]
  policyDoc = awacs.aws.Policy( Statement = statements )
  return Policy( PolicyName = Sub("S3Access-\${AWS::StackName}")
               , PolicyDocument = policyDoc
               )

def get_iam(ref_name: str) -> Role:
  assume = defaultAssumeRolePolicyDocument("lambda.amazonaws.com")
  return Role( ref_name
             , RoleName = ref_name
             , AssumeRolePolicyDocument = assume
             , Policies = [ oneClickCreateLogsPolicy(), get_s3_access() ]
             )

if __name__ == "__main__":
  print(get_iam("test").to_dict())
`,
  'config/Gamma/env.py': 'from troposphere import Sub\n\ndef get_env() -> dict:\n  return { "BUCKET": "iotweatherdata-gamma", "ORDER_ID": 12345678901234567890, "REGIONAL": Sub("iotweather-${AWS::Region}") }\n',
  'config/PROD/iam.py': `def get_iam(ref_name):
  return {"Type": "AWS::IAM::Role", "Properties": {
    "RoleName": ref_name,
    "AssumeRolePolicyDocument": {"Statement": [{"Action": ["sts:AssumeRole"], "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}]},
    "Policies": [{"PolicyName": {"Fn::Sub": "OneClickCreateLogsPolicy-\${AWS::StackName}"},
                  "PolicyDocument": {"Statement": [{"Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], "Effect": "Allow", "Resource": ["arn:aws:logs:*:*:*"]}]}}],
  }}
`,
  'config/PROD/env.py': 'def get_env(stage):\n  return { "BUCKET": "iotweatherdata-" + stage.lower() }\n',
  'src/weather.py': 'import json\n\ndef handler(event, context):\n  return {"statusCode": 200, "body": json.dumps({"ok": True})}\n',
  'tests/unittests/test_weather.py': 'import sys\nsys.path.insert(0, "src")\nimport weather\nassert weather.handler({}, None)["statusCode"] == 200\n',
  'test/.keep': '',
  'requirements.txt': '',
};

export async function makeLegacyRepo(extra: Record<string, string> = {}): Promise<string> {
  return makeRepo({ ...LEGACY_FILES, ...extra });
}

function alphanum(text: string): string {
  return text.replace(/[^a-zA-Z0-9]/g, '');
}

/**
 * What createCF.py wrote for one stage (appendix A.4): the role get_iam returned (run here with
 * troposphere/awacs from `toolsDir` and the helper library on the path, as 2018's build had them),
 * the function alphanum(Name) on python3.6, the alias alphanum(Name+Stack+Stage)+"Alias" on the
 * function's ARN, and the output exporting the ARN as Name+Stack+Stage.
 */
export async function template2018(root: string, stack: string, stage: string, toolsDir: string, variables: Record<string, string>): Promise<Record<string, unknown>> {
  const name = LEGACY_NAME;
  const refName = `${alphanum(name + stack + stage)}IAM`;
  const call = 'import importlib.util, json, sys\nspec = importlib.util.spec_from_file_location("iam", sys.argv[1])\nm = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(m)\nr = m.get_iam(sys.argv[2])\nprint(json.dumps(r.to_dict() if hasattr(r, "to_dict") else r))\n';
  const role = await execa('python3', ['-c', call, path.join(root, 'config', stage, 'iam.py'), refName], {
    env: { PYTHONPATH: [toolsDir, path.join(PROJECT_ROOT, 'python')].join(path.delimiter) },
  });
  const qualified = name + stack + stage;
  return {
    Outputs: {
      [alphanum(qualified)]: { Description: `${stage}: ARN for Lambda Function`, Export: { Name: qualified }, Value: { 'Fn::GetAtt': [alphanum(name), 'Arn'] } },
    },
    Parameters: { S3Key: { Description: 'S3Key', Type: 'String' }, S3Storage: { Description: 'S3Storage', Type: 'String' } },
    Resources: {
      [alphanum(name)]: {
        Properties: {
          Code: { S3Bucket: { Ref: 'S3Storage' }, S3Key: { Ref: 'S3Key' } },
          Environment: { Variables: variables },
          FunctionName: `${name}${stage}`,
          Handler: 'weather.handler',
          MemorySize: 256,
          Role: { 'Fn::GetAtt': [refName, 'Arn'] },
          Runtime: 'python3.6',
          Timeout: 60,
        },
        Type: 'AWS::Lambda::Function',
      },
      [`${alphanum(qualified)}Alias`]: {
        Properties: { Description: 'Automatic Generated Alias', FunctionName: { 'Fn::GetAtt': [alphanum(name), 'Arn'] }, FunctionVersion: '$LATEST', Name: qualified },
        Type: 'AWS::Lambda::Alias',
      },
      [refName]: JSON.parse(role.stdout),
    },
  };
}

/** createOnlyProperties of resource types, from the resource schemas cfn-lint ships. */
export async function createOnlyProperties(types: string[]): Promise<Record<string, string[]>> {
  const script = `
import json, os, sys, cfnlint
from cfnlint.data.schemas.providers import us_east_1
folder = os.path.join(os.path.dirname(cfnlint.__file__), "data", "schemas", "resources")
result = {}
for name in sys.argv[1:]:
    with open(os.path.join(folder, us_east_1.types[name] + ".json")) as f:
        result[name] = [p.split("/")[-1] for p in json.load(f).get("createOnlyProperties", [])]
print(json.dumps(result))
`;
  return JSON.parse((await execa('python3', ['-c', script, ...types])).stdout) as Record<string, string[]>;
}
