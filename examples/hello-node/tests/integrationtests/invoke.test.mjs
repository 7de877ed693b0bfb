// Integration test: `lambda-cd integration-test` runs it with `node --test FILE` against a deployed
// stage (FUNCTION_ARN, FUNCTION_ALIAS_ARN in the environment); the AWS SDK v3 is what Lambda provides.
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
