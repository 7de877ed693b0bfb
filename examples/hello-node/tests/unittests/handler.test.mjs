// Unit tests: `lambda-cd unit-test` runs each file here with `node --test FILE`.
import test from 'node:test';
import assert from 'node:assert/strict';
import { greeting, handler } from '../../src/index.mjs';

test('greets by name', async () => {
  const response = await handler({ name: 'Ada' });
  assert.equal(response.statusCode, 200);
  assert.equal(JSON.parse(response.body).message, 'Hello, Ada!');
});

test('signs the greeting with its CRC-32', () => {
  assert.match(greeting('world').crc32, /^[0-9a-f]{8}$/);
});
