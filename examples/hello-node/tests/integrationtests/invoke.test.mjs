// Integration test: `lambda-cd integration-test` runs it with `node --test FILE` against a deployed
// stage (FUNCTION_ARN, FUNCTION_ALIAS_ARN in the environment); the AWS SDK v3 is what Lambda provides.
import test from 'node:test';
import assert from 'node:assert/strict';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';

const lambda = new LambdaClient({});

test('the deployed function greets and signs the greeting', async () => {
  const { FunctionError, Payload } = await lambda.send(new InvokeCommand({ FunctionName: process.env.FUNCTION_ALIAS_ARN ?? process.env.FUNCTION_ARN, Payload: '{"name": "pipeline"}' }));
  const reply = JSON.parse(new TextDecoder().decode(Payload));
  assert.ok(!FunctionError, JSON.stringify(reply));
  assert.match(JSON.parse(reply.body).crc32, /^[0-9a-f]{8}$/);
});
