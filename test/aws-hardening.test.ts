/**
 * No AWS call waits forever and no page loop runs forever (#12): an endpoint that accepts and
 * never answers, pages whose token repeats or never ends, an invalid region; and --invoke
 * events that do not parse, named by file and place without a byte of their content.
 * The endpoints here are local stand-ins (a silent TCP server, a CloudFormation that pages
 * forever): what moto cannot be made to do.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from './helpers/cli.js';
import { makeRepo, tempDir } from './helpers/repo.js';

const CREDENTIALS = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_SESSION_TOKEN: 'testing', AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true' };

let silent: { endpoint: string; close(): void };
beforeAll(async () => {
  // Accepts every connection and never sends a byte.
  const sockets: Socket[] = [];
  const server = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  silent = {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
});
afterAll(() => silent?.close());

function oneLine(result: CliResult): string {
  const lines = result.stderr.split('\n').filter((line) => line.startsWith('lambda-cd: error:'));
  expect(lines, result.stderr).toHaveLength(1);
  return lines[0]!;
}

async function integrationRepo(): Promise<string> {
  return makeRepo({ 'config/Gamma/.keep': '', 'tests/integrationtests/test_a.py': 'print("never runs")\n' });
}

const integrationTest = (root: string, env: Record<string, string | undefined>, ...args: string[]) =>
  runCli(['integration-test', '--path', root, '--stack', 'Pipe', '--stage', 'Gamma', ...args], { env: { ...CREDENTIALS, ...env } });

describe('an endpoint that accepts and never answers: exit 3 naming it', () => {
  it('integration-test (CloudFormation ListExports), the issue\'s example', async () => {
    const result = await integrationTest(await integrationRepo(), { AWS_ENDPOINT_URL: silent.endpoint, LAMBDA_CD_AWS_TIMEOUT: '1' });
    expect(oneLine(result)).toBe(`lambda-cd: error: ListExports: the AWS endpoint ${silent.endpoint} stopped answering (no answer within 1 s, 6 attempts; LAMBDA_CD_AWS_TIMEOUT sets the limit); is AWS_ENDPOINT_URL or the network right?`);
    expect(result.exitCode).toBe(3);
  });

  it('variant: publish (S3), with the service-specific AWS_ENDPOINT_URL_S3', async () => {
    const root = await makeRepo();
    await mkdir(path.join(root, 'dist'));
    await writeFile(path.join(root, 'dist/function.zip'), 'PK\u0005\u0006'.padEnd(22, '\u0000'));
    const result = await runCli(['publish', '--path', root, '--bucket', 'artifacts'], { env: { ...CREDENTIALS, AWS_ENDPOINT_URL_S3: silent.endpoint, LAMBDA_CD_AWS_TIMEOUT: '1' } });
    expect(oneLine(result)).toMatch(new RegExp(`^lambda-cd: error: publish: s3://artifacts/lambda-cd/Demo/[0-9a-f]{64}\\.zip: the AWS endpoint ${silent.endpoint} stopped answering`));
    expect(result.exitCode).toBe(3);
    // publish writes dist/code-location.json only after the upload.
    expect(existsSync(path.join(root, 'dist/code-location.json'))).toBe(false);
  });

  it('LAMBDA_CD_AWS_TIMEOUT that is not a number is one line, exit 3', async () => {
    const result = await integrationTest(await integrationRepo(), { AWS_ENDPOINT_URL: silent.endpoint, LAMBDA_CD_AWS_TIMEOUT: 'soon' });
    expect(oneLine(result)).toBe('lambda-cd: error: LAMBDA_CD_AWS_TIMEOUT: expected a number of seconds greater than 0, found "soon"');
    expect(result.exitCode).toBe(3);
  });
});

/** A CloudFormation stand-in whose ListExports always has a next page: the same token, or a new one each time. */
async function pagingForever(sameToken: boolean): Promise<{ endpoint: string; requests: () => number; close(): Promise<void> }> {
  let requests = 0;
  const server: Server = createHttpServer((request, response) => {
    request.resume();
    request.on('end', () => {
      requests++;
      const token = sameToken ? 'same-token' : `token-${requests}`;
      response.writeHead(200, { 'content-type': 'text/xml' });
      response.end(`<ListExportsResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><ListExportsResult><Exports><member><ExportingStackId>arn:aws:cloudformation:us-east-1:123456789012:stack/Other/1</ExportingStackId><Name>Other${requests}</Name><Value>v</Value></member></Exports><NextToken>${token}</NextToken></ListExportsResult><ResponseMetadata><RequestId>r${requests}</RequestId></ResponseMetadata></ListExportsResponse>`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('paging stops', () => {
  it('when a page token repeats', async () => {
    const cf = await pagingForever(true);
    try {
      const result = await integrationTest(await integrationRepo(), { AWS_ENDPOINT_URL: cf.endpoint });
      expect(oneLine(result)).toBe('lambda-cd: error: ListExports: the endpoint returned a page token it had returned before (after 1 pages); stopped instead of reading the same pages forever');
      expect(result.exitCode).toBe(3);
      expect(cf.requests()).toBe(2);
    } finally {
      await cf.close();
    }
  });

  it('variant: after 1,000 pages of ever new tokens', async () => {
    const cf = await pagingForever(false);
    try {
      const result = await integrationTest(await integrationRepo(), { AWS_ENDPOINT_URL: cf.endpoint });
      expect(oneLine(result)).toBe('lambda-cd: error: ListExports: still more pages after 1000 (1000 exports); the endpoint does not stop paging, is AWS_ENDPOINT_URL right?');
      expect(result.exitCode).toBe(3);
      expect(cf.requests()).toBe(1000);
    } finally {
      await cf.close();
    }
  });
});

describe('an invalid AWS region is "not a valid region" (exit 3: it comes from the environment, like credentials)', () => {
  it.each([
    ['us_east_1', 'AWS_REGION', {}],
    ['us-east1', 'AWS_REGION', {}],
    // With an endpoint override only the SDK's own check applies (emulators take any region name).
    ['eu west 1', 'AWS_REGION', { AWS_ENDPOINT_URL: 'http://127.0.0.1:9' }],
    ['moon/base', 'AWS_DEFAULT_REGION', { AWS_REGION: undefined }],
  ])('%s from %s', async (region, variable, extra) => {
    const result = await integrationTest(await integrationRepo(), { [variable]: region, ...extra });
    expect(oneLine(result)).toBe(`lambda-cd: error: AWS region "${region}" (from ${variable}) is not a valid region; set AWS_REGION to a region such as us-east-1 or eu-west-1`);
    expect(result.exitCode).toBe(3);
  });
});

describe('integration-test --invoke: an event that does not parse is exit 2 naming the file and place, quoting nothing', () => {
  const SECRET = 'ghp_0123456789abcdefghijABCDEFGHIJ012345';
  const cases: [string, string | Buffer, RegExp][] = [
    ['a syntax error after a token', `{\n  "token": "${SECRET}",\n  "count": \n}\n`, /--invoke .*bad\.json:4:1: JSON syntax error: expected a value \(an object, list, text, number, true, false or null\)$/],
    ['an unquoted value from the environment', '{"password": hunter2hunter2}', /--invoke .*bad\.json:1:14: JSON syntax error: expected a value/],
    ['a trailing comma', `["${SECRET}",]`, /--invoke .*bad\.json:1:\d+: JSON syntax error: a trailing comma before '\]'$/],
    ['an empty file', '', /--invoke .*bad\.json:1:1: JSON syntax error: the file is empty$/],
    ['bytes that are not UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), /--invoke .*bad\.json: expected a JSON event in UTF-8 \(what Lambda accepts\), found bytes that are not UTF-8$/],
  ];
  it.concurrent.each(cases)('%s', async (_name, content, message) => {
    const dir = await tempDir();
    const file = path.join(dir, 'bad.json');
    await writeFile(file, content);
    const result = await integrationTest(await integrationRepo(), { SOME_SECRET_VALUE: 'hunter2hunter2', AWS_ENDPOINT_URL: silent.endpoint }, '--invoke', file);
    expect(oneLine(result)).toMatch(message);
    expect(result.stderr).not.toContain(SECRET.slice(4, 20));
    expect(result.stderr).not.toContain('hunter2');
    expect(result.exitCode).toBe(2);
  });

  it('a folder instead of an event file', async () => {
    const dir = await tempDir();
    const result = await integrationTest(await integrationRepo(), {}, '--invoke', dir);
    expect(oneLine(result)).toMatch(/--invoke .*: expected a JSON event file, found a folder$/);
    expect(result.exitCode).toBe(2);
  });
});
