/**
 * The files `lambda-cd init` writes: a function repository in the layout every runner reads,
 * whose unit tests pass and which packages and templates at once (no requirements to fetch).
 */
import yaml from 'js-yaml';
import { PROD_STAGE } from '../lib/contract.js';
import { DEFAULT_RUNTIME, runtimeLanguage } from '../lib/runtimes.js';
import { renderBuildspecs } from './buildspecs.js';
import { dumpYaml, yamlComments } from './cfn-yaml.js';
import { BUILDSPEC_DIR } from './constants.js';

export interface SkeletonSpec {
  name: string;
  /** Pre-production stages; PROD is added last. */
  stages: string[];
  /** The Runtime (its language decides the files); default python3.12. */
  runtime?: string;
}

/** Repository-relative path -> content. */
export function skeletonFiles(spec: SkeletonSpec): Record<string, string> {
  const allStages = [...spec.stages, PROD_STAGE];
  const runtime = spec.runtime ?? DEFAULT_RUNTIME;
  if (runtimeLanguage(runtime) === 'node') return nodeSkeleton(spec.name, allStages, runtime);
  const files: Record<string, string> = {
    'config/config.yaml': configYaml(spec.name, allStages),
    ...Object.fromEntries(allStages.map((stage) => [`config/${stage}/env.yaml`, envYaml(stage)])),
    'src/app.py': HANDLER,
    'requirements.txt': "# The function's own packages (pip requirement lines); lambda-cd package installs them for Lambda.\n",
    'tests/unittests/requirements.txt': '# Packages the unit tests need beyond the function\'s own requirements.txt.\n',
    'tests/unittests/test_app.py': UNIT_TEST,
    'tests/integrationtests/requirements.txt': 'boto3\n',
    'tests/integrationtests/test_invoke.py': INTEGRATION_TEST,
    '.gitignore': GITIGNORE,
  };
  for (const [file, content] of Object.entries(renderBuildspecs())) files[`${BUILDSPEC_DIR}/${file}`] = content;
  return files;
}

/**
 * A multi-function repository (`init --functions Orders,Billing`): lambda-cd.yaml naming each
 * function's folder, every folder a function repository as above, and the buildspecs at the root
 * (batch builds, one build per function).
 */
export function workspaceSkeletonFiles(functions: string[], stages: string[], runtime?: string): Record<string, string> {
  const folder = (name: string) => `functions/${name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()}`;
  const files: Record<string, string> = {
    'lambda-cd.yaml': `${yamlComments([
      'The functions of this repository: Name -> folder (each a function repository: config/, src/, tests/).',
      'Per function: {Folder, Include: [shared folders copied into its zip under their last name], Layers: [names below]}.',
      'Layers: {deps: layers/deps} builds a Lambda layer from that folder\'s requirements.txt.',
    ])}${dumpYaml({ Functions: Object.fromEntries(functions.map((name) => [name, folder(name)])) })}`,
    '.gitignore': GITIGNORE,
  };
  for (const name of functions) {
    for (const [file, content] of Object.entries(skeletonFiles({ name, stages, runtime }))) {
      if (file === '.gitignore' || file.startsWith(`${BUILDSPEC_DIR}/`)) continue;
      files[`${folder(name)}/${file}`] = content;
    }
  }
  for (const [file, content] of Object.entries(renderBuildspecs(functions))) files[`${BUILDSPEC_DIR}/${file}`] = content;
  return files;
}

/**
 * The values are written by the YAML writer, never spliced into the text: a Name such as 2048
 * or a stage such as 0x1F comes back as the text it was, not as a number.
 */
function configYaml(name: string, allStages: string[], runtime = DEFAULT_RUNTIME, handler = 'app.handler'): string {
  return [
    yamlComments([
      "The function's configuration, read by every lambda-cd runner (`lambda-cd check` shows what they use).",
      `Name: the functions are Name+Stage. Handler: ${handler === 'app.handler' ? 'module.function under src/' : 'file.function under src/ (src/index.mjs)'}.`,
    ]),
    dumpYaml({
      Name: name,
      Handler: handler,
      Runtime: runtime,
      MemorySize: 128,
      Timeout: 30,
      Unittests: { Folder: 'tests/unittests' },
      Integrationtests: { Folder: 'tests/integrationtests' },
    }),
    yamlComments(['Pipeline order; each stage has a folder config/<Stage>/ (env.yaml, optional iam.yaml). PROD is always last.']),
    yaml.dump({ Stages: allStages }, { flowLevel: 1, lineWidth: -1, quotingType: "'" }),
  ].join('');
}

function envYaml(stage: string): string {
  return `${yamlComments([
    `Environment variables of the function in ${stage}. Values may be dynamic references such as`,
    "'{{resolve:ssm:/my-app/key}}' (never put secrets here in plain text).",
  ])}${dumpYaml({ STAGE: stage })}`;
}

const HANDLER = `"""The Lambda function: config/config.yaml names it as Handler: app.handler."""
import json
import os


def handler(event, context):
    name = (event or {}).get("name", "world")
    body = {"message": f"Hello, {name}!", "stage": os.environ.get("STAGE", "local")}
    return {"statusCode": 200, "body": json.dumps(body)}
`;

const UNIT_TEST = `"""Unit tests: \`lambda-cd unit-test\` runs each file here as \`python3 FILE\` with src/ importable."""
import json
import unittest

import app


class HandlerTest(unittest.TestCase):
    def test_greets_by_name(self):
        response = app.handler({"name": "Ada"}, None)
        self.assertEqual(response["statusCode"], 200)
        self.assertEqual(json.loads(response["body"])["message"], "Hello, Ada!")

    def test_greets_the_world_without_a_name(self):
        self.assertEqual(json.loads(app.handler({}, None)["body"])["message"], "Hello, world!")


if __name__ == "__main__":
    unittest.main()
`;

const INTEGRATION_TEST = `"""Integration test: \`lambda-cd integration-test\` runs it as \`python3 FILE FUNCTION_ARN\` against a deployed stage."""
import json
import sys

import boto3

arn = sys.argv[1]
response = boto3.client("lambda").invoke(FunctionName=arn, Payload=json.dumps({"name": "pipeline"}).encode())
payload = json.loads(response["Payload"].read())
assert "FunctionError" not in response, payload
assert payload["statusCode"] == 200, payload
print("invoked", arn, "->", payload["body"])
`;

const GITIGNORE = `# lambda-cd outputs (dist/: zip, templates) and its build folder (caches, reports)
dist/
.lambda-cd/
__pycache__/
*.pyc
`;

/** A Node.js function: ESM handler, node --test tests, package.json without dependencies (no lock needed yet). */
function nodeSkeleton(name: string, allStages: string[], runtime: string): Record<string, string> {
  const files: Record<string, string> = {
    'config/config.yaml': configYaml(name, allStages, runtime, 'index.handler'),
    ...Object.fromEntries(allStages.map((stage) => [`config/${stage}/env.yaml`, envYaml(stage)])),
    'src/index.mjs': NODE_HANDLER,
    'package.json': `${JSON.stringify({ name: name.toLowerCase().replace(/[^a-z0-9-]/g, '-'), version: '1.0.0', private: true, type: 'module', scripts: { test: 'node --test tests/unittests/' }, dependencies: {}, devDependencies: {} }, null, 2)}\n`,
    'tests/unittests/handler.test.mjs': NODE_UNIT_TEST,
    'tests/integrationtests/invoke.test.mjs': NODE_INTEGRATION_TEST,
    '.gitignore': `${GITIGNORE}node_modules/\n`,
  };
  for (const [file, content] of Object.entries(renderBuildspecs())) files[`${BUILDSPEC_DIR}/${file}`] = content;
  return files;
}

const NODE_HANDLER = `// The Lambda function: config/config.yaml names it as Handler: index.handler.
export const handler = async (event) => {
  const name = event?.name ?? 'world';
  return { statusCode: 200, body: JSON.stringify({ message: \`Hello, \${name}!\`, stage: process.env.STAGE ?? 'local' }) };
};
`;

const NODE_UNIT_TEST = `// Unit tests: \`lambda-cd unit-test\` runs each file here with \`node --test FILE\`.
import test from 'node:test';
import assert from 'node:assert/strict';
import { handler } from '../../src/index.mjs';

test('greets by name', async () => {
  const response = await handler({ name: 'Ada' });
  assert.equal(response.statusCode, 200);
  assert.equal(JSON.parse(response.body).message, 'Hello, Ada!');
});

test('greets the world without a name', async () => {
  assert.equal(JSON.parse((await handler({})).body).message, 'Hello, world!');
});
`;

const NODE_INTEGRATION_TEST = `// Integration test: \`lambda-cd integration-test\` runs it with \`node --test FILE\` against a deployed
// stage; FUNCTION_ARN (and FUNCTION_ALIAS_ARN) name it. The AWS SDK v3 is what Lambda provides.
import test from 'node:test';
import assert from 'node:assert/strict';
import { LambdaClient, InvokeCommand } from '@aws-sdk/client-lambda';

test('the deployed function answers', async () => {
  const arn = process.env.FUNCTION_ALIAS_ARN ?? process.env.FUNCTION_ARN;
  const response = await new LambdaClient({}).send(new InvokeCommand({ FunctionName: arn, Payload: JSON.stringify({ name: 'pipeline' }) }));
  const payload = JSON.parse(Buffer.from(response.Payload ?? []).toString() || 'null');
  assert.equal(response.FunctionError, undefined, JSON.stringify(payload));
  assert.equal(payload.statusCode, 200);
});
`;
