/**
 * A repository of three functions (lambda-cd.yaml): Orders and Billing include lib/common,
 * Billing uses the layer deps, Reports has a requirement of its own. Everything runs from the
 * root through the CLI, on real wheels built here and moto's server for AWS.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GetFunctionCommand, LambdaClient, ListLayersCommand } from '@aws-sdk/client-lambda';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { startMoto, type MotoServer } from './helpers/moto.js';
import { tempDir, writeFiles } from './helpers/repo.js';
import { buildWheel, offlinePipEnv } from './helpers/wheels.js';
import { readZip } from '../lib/workspace-zip.js';

let moto: MotoServer;
let env: Record<string, string>;
const BUCKET = 'workspace-artifacts';

const fnConfig = (name: string) => `Name: ${name}\nHandler: app.handler\nRuntime: python3.12\nStages: [Gamma]\nUnittests: tests/unittests\nIntegrationtests: tests/integrationtests\n`;
const UNIT = 'import sys\nsys.path.insert(0, "src")\nimport app\nassert app.handler({}, None) is not None\nprint("handler says", app.handler({}, None))\n';
/** moto runs no handler without Docker: the test checks the deployed function's configuration. */
const INTEGRATION = `import os, sys
import boto3
fn = boto3.client("lambda").get_function(FunctionName=sys.argv[1])["Configuration"]
print("deployed", fn["FunctionName"], "layers", [layer["Arn"] for layer in fn.get("Layers", [])])
assert fn["FunctionName"].endswith("Gamma")
`;

export async function workspaceFixture(wheelhouse: string): Promise<string> {
  const root = await tempDir('lambda-cd-workspace-');
  const fn = (folder: string, name: string, app: string, requirements = '') => ({
    [`functions/${folder}/config/config.yaml`]: fnConfig(name),
    [`functions/${folder}/config/Gamma/env.yaml`]: 'STAGE: Gamma\n',
    [`functions/${folder}/config/PROD/.keep`]: '',
    [`functions/${folder}/src/app.py`]: app,
    [`functions/${folder}/requirements.txt`]: requirements,
    [`functions/${folder}/tests/unittests/test_app.py`]: UNIT,
    [`functions/${folder}/tests/integrationtests/test_deployed.py`]: INTEGRATION,
    [`functions/${folder}/tests/integrationtests/requirements.txt`]: '',
  });
  await writeFiles(root, {
    'lambda-cd.yaml': [
      'Functions:',
      '  Orders: {Folder: functions/orders, Include: [lib/common]}',
      '  Billing: {Folder: functions/billing, Include: [lib/common], Layers: [deps]}',
      '  Reports: functions/reports',
      'Layers:',
      '  deps: layers/deps',
      '',
    ].join('\n'),
    ...fn('orders', 'WsOrders', 'import common.util\ndef handler(event, context):\n    return common.util.greet("orders")\n'),
    ...fn('billing', 'WsBilling', 'import common.util, layerlib\ndef handler(event, context):\n    return common.util.greet(layerlib.NAME)\n', 'ownlib\n'),
    ...fn('reports', 'WsReports', 'import ownlib\ndef handler(event, context):\n    return ownlib.NAME\n', 'ownlib\n'),
    'lib/common/__init__.py': '',
    'lib/common/util.py': 'def greet(who):\n    return "hello " + who\n',
    'layers/deps/requirements.txt': 'layerlib\n',
  });
  await buildWheel(wheelhouse, { name: 'layerlib', version: '1.0', files: { 'layerlib/__init__.py': 'NAME = "layer"\n' }, requires: ['shared-dep'] });
  await buildWheel(wheelhouse, { name: 'shared-dep', version: '2.0', files: { 'shared_dep/__init__.py': '' } });
  await buildWheel(wheelhouse, { name: 'ownlib', version: '1.0', files: { 'ownlib/__init__.py': 'NAME = "own"\n' }, requires: ['shared-dep'] });
  return root;
}

/** The "billion laughs": a few lines expanding to millions of values through aliases. */
const bomb = () => {
  const lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
  for (let i = 1; i <= 9; i++) lines.push(`a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]`);
  return `${lines.join('\n')}\nX: *a9\n`;
};
const names = async (zip: string) => (await readZip(zip)).members.map((m) => m.name).filter((n) => !n.endsWith('/')).sort();
const sha = async (file: string) => createHash('sha256').update(await readFile(file)).digest('hex');

let root: string;
const cli = (...args: string[]) => runCli([...args, '--path', root], { env, timeout: 300_000 });

beforeAll(async () => {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const wheelhouse = await tempDir('lambda-cd-wheels-');
  root = await workspaceFixture(wheelhouse);
  moto = await startMoto();
  env = { ...moto.env, ...offlinePipEnv(wheelhouse), LAMBDA_CD_AWS_TIMEOUT: '30' };
  const s3 = new S3Client({ endpoint: moto.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  s3.destroy();
}, 120_000);
afterAll(async () => {
  await moto?.stop();
});

describe('a repository of several functions (lambda-cd.yaml)', () => {
  it('check and unit-test run for every function, the included folder and the layer in reach', async () => {
    const checked = await cli('check');
    expect(checked.exitCode, checked.stderr).toBe(0);
    for (const name of ['Orders', 'Billing', 'Reports']) expect(checked.stdout).toContain(`${name}: Ws${name}: app.handler on python3.12`);
    const tested = await cli('unit-test');
    expect(tested.exitCode, tested.stderr + tested.stdout).toBe(0);
    expect(tested.stdout).toContain('Orders: handler says hello orders');
    expect(tested.stdout).toContain('Billing: handler says hello layer');
    for (const name of ['Orders', 'Billing', 'Reports']) expect(existsSync(path.join(root, `.lambda-cd/reports/${name}/unit-tests.xml`))).toBe(true);
  }, 300_000);

  it('package builds dist/<Function>/, the layer under python/, function zips without the layer\'s packages; then only what changed', async () => {
    const first = await cli('package', '--json');
    expect(first.exitCode, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout).changed).toEqual(['Orders', 'Billing', 'Reports']);
    expect(await names(path.join(root, 'dist/layers/deps/layer.zip'))).toEqual(expect.arrayContaining(['python/layerlib/__init__.py', 'python/shared_dep/__init__.py', 'python/layerlib-1.0.dist-info/RECORD']));
    expect((await names(path.join(root, 'dist/layers/deps/layer.zip'))).every((n) => n.startsWith('python/'))).toBe(true);
    const billing = await names(path.join(root, 'dist/Billing/function.zip'));
    expect(billing).toEqual(expect.arrayContaining(['app.py', 'common/util.py', 'ownlib/__init__.py']));
    expect(billing.filter((n) => n.startsWith('layerlib') || n.startsWith('shared_dep'))).toEqual([]);
    expect(await names(path.join(root, 'dist/Orders/function.zip'))).toEqual(['app.py', 'common/__init__.py', 'common/util.py']);
    expect(await names(path.join(root, 'dist/Reports/function.zip'))).toEqual(expect.arrayContaining(['app.py', 'ownlib/__init__.py', 'shared_dep/__init__.py']));

    const zips = Object.fromEntries(await Promise.all(['Orders', 'Billing', 'Reports'].map(async (n) => [n, await sha(path.join(root, `dist/${n}/function.zip`))])));
    const again = await cli('package', '--json');
    expect(again.exitCode, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).changed).toEqual([]);
    expect(again.stderr).toContain('no function changed');

    await writeFile(path.join(root, 'functions/reports/src/app.py'), 'import ownlib\ndef handler(event, context):\n    return ownlib.NAME + "!"\n');
    const one = await cli('package', '--json');
    expect(JSON.parse(one.stdout).changed).toEqual(['Reports']);
    expect(await sha(path.join(root, 'dist/Orders/function.zip'))).toBe(zips.Orders);

    await writeFile(path.join(root, 'lib/common/util.py'), 'def greet(who):\n    return "hi " + who\n');
    const shared = await cli('package', '--json');
    expect(JSON.parse(shared.stdout).changed).toEqual(['Orders', 'Billing']);

    // A tampered record (claiming the current inputs for an edited zip) is a rebuild, not a stale zip.
    const zip = path.join(root, 'dist/Orders/function.zip');
    const good = await readFile(zip);
    await writeFile(zip, Buffer.concat([good, Buffer.from('x')]));
    const tampered = await cli('package', '--function', 'Orders', '--json');
    expect(tampered.exitCode, tampered.stderr).toBe(0);
    expect(JSON.parse(tampered.stdout).changed).toEqual(['Orders']);
    expect(tampered.stderr).toContain('its zip does not match the build record');
    expect(await readFile(zip)).toEqual(good);
    const record = path.join(root, 'dist/Orders/function.zip.inputs.json');
    await writeFile(record, '{"version": 1, "inputs": "0", "zipSha256": "x", "manifestSha256": "y"}');
    expect(JSON.parse((await cli('package', '--function', 'Orders', '--json')).stdout).changed).toEqual(['Orders']);
  }, 600_000);

  it('create-cf, publish, deploy and integration-test per function and stage on moto; the layer is a LayerVersion of the stage', async () => {
    const templated = await cli('create-cf', '--stack', 'Ws');
    expect(templated.exitCode, templated.stderr).toBe(0);
    const template = JSON.parse(await readFile(path.join(root, 'dist/Billing/stackGamma.json'), 'utf8'));
    const layers = Object.entries(template.Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>).filter(([, r]) => r.Type === 'AWS::Lambda::LayerVersion');
    expect(layers).toHaveLength(1);
    expect(template.Resources.WsBilling.Properties.Layers).toEqual([{ Ref: layers[0]![0] }]);
    expect(existsSync(path.join(root, 'dist/Orders/stackPROD.json'))).toBe(true);

    const deployed = await cli('deploy', '--stack', 'Ws', '--stage', 'Gamma', '--bucket', BUCKET, '--jobs', '1');
    expect(deployed.exitCode, deployed.stderr + deployed.stdout).toBe(0);
    for (const name of ['Orders', 'Billing', 'Reports']) expect(deployed.stdout).toContain(`${name}: WsFunctionsGamma-${name} CREATE_COMPLETE`);
    const lambda = new LambdaClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    expect((await lambda.send(new GetFunctionCommand({ FunctionName: 'WsBillingGamma' }))).Configuration!.FunctionName).toBe('WsBillingGamma');
    // moto's CloudFormation publishes the LayerVersion from the zip in S3 (but does not attach a function's Layers; README).
    const layerSha = (await sha(path.join(root, 'dist/layers/deps/layer.zip'))).slice(0, 12);
    const published = (await lambda.send(new ListLayersCommand({}))).Layers ?? [];
    expect(published.map((layer) => layer.LatestMatchingVersion?.Description)).toContain(`lambda-cd layer deps: zip ${layerSha}`);
    lambda.destroy();

    const tested = await cli('integration-test', '--stack', 'Ws', '--stage', 'Gamma');
    expect(tested.exitCode, tested.stderr + tested.stdout).toBe(0);
    expect(tested.stdout).toContain('Billing: deployed WsBillingGamma');
    expect(tested.stdout).toContain('Reports: 1 passed, 0 failed');

    const only = await cli('integration-test', '--stack', 'Ws', '--stage', 'Gamma', '--function', 'Orders', '--json');
    const result = JSON.parse(only.stdout);
    expect(result.functions.map((f: { function: string }) => f.function)).toEqual(['Orders']);
    expect(result.functions[0].exitCode).toBe(0);
    expect(only.stderr).toContain('[Orders] [integration-test] reading the outputs of stack WsFunctionsGamma-Orders');
  }, 600_000);

  it('bad lambda-cd.yaml fields and unknown functions: one line naming the file and field, exit 2', async () => {
    const bad = async (text: string) => {
      await writeFile(path.join(root, 'lambda-cd.yaml'), text);
      return cli('check');
    };
    const original = await readFile(path.join(root, 'lambda-cd.yaml'), 'utf8');
    try {
      const cases: [string, RegExp][] = [
        ['Functions: {Or-ders: functions/orders}\n', /lambda-cd\.yaml: Functions\.Or-ders: expected a name of letters and digits/],
        ['Functions: {Orders: ../outside}\n', /lambda-cd\.yaml: Functions\.Orders: expected a folder inside the repository, found a path that leaves the repository/],
        ['Functions: {Orders: functions/orders, Again: functions/orders/}\n', /Functions\.Again: expected a folder no other function uses \(Functions\.Orders has it too\)/],
        ['Functions: {Orders: lib}\n', /Functions\.Orders: expected a function repository folder with config\/config\.yaml/],
        ['Functions: {Orders: {Folder: functions/orders, Layers: [dep]}}\nLayers: {deps: layers/deps}\n', /Functions\.Orders\.Layers: "dep" is not defined under Layers; did you mean deps\?/],
        ['Functions: {Orders: {Folder: functions/orders, Include: [nowhere]}}\n', /Functions\.Orders\.Include\[0\]: expected a folder inside the repository, found nothing at nowhere/],
        ['Functoins: {}\n', /lambda-cd\.yaml: Functoins: unknown key; did you mean Functions\?/],
        ['Functions: []\n', /lambda-cd\.yaml: Functions: expected a mapping of function names to folders/],
        ['Functions: {Orders: functions/orders, Orders2: {Folder: functions/billing, Layers: deps}}\n', /Functions\.Orders2\.Layers: expected a list of layer names from Layers/],
        ['Functions: {Orders: functions/orders}\nLayers: {deps: lib/common}\n', /Layers\.deps: expected a folder with a requirements\.txt/],
        [`${bomb()}Functions: {Orders: functions/orders}\n`, /lambda-cd\.yaml: .*(alias|expands)/i],
        ['Functions: {Orders: functions/orders\n', /lambda-cd\.yaml:\d+:\d+: YAML syntax error/],
      ];
      for (const [text, message] of cases) {
        const result = await bad(text);
        expect(result.exitCode, text).toBe(2);
        expect(result.stderr.trim().split('\n')).toHaveLength(1);
        expect(result.stderr, text).toMatch(message);
      }
    } finally {
      await writeFile(path.join(root, 'lambda-cd.yaml'), original);
    }
    const unknown = await cli('check', '--function', 'Order');
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/--function: "Order" is not a function of .*lambda-cd\.yaml; did you mean Orders\? \(known: Orders, Billing, Reports\)/);
    const fromEnv = await runCli(['check', '--path', root], { env: { ...env, LAMBDA_CD_FUNCTION: 'Nope' } });
    expect(fromEnv.stderr).toMatch(/LAMBDA_CD_FUNCTION: "Nope" is not a function/);
  }, 120_000);
});
