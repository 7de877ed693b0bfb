/**
 * Real wheels built offline, so tests never touch a package index. A wheel is a zip with a
 * NAME-VERSION.dist-info/ holding METADATA, WHEEL and RECORD (PEP 427); pip installs these
 * like any other.
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { RUNTIME_SDK, type RuntimeSdk } from '../../lib/runtime-sdk.js';

export interface WheelSpec {
  name: string;
  version: string;
  /** Wheel tag, e.g. `py3-none-any` or `cp312-cp312-manylinux_2_17_x86_64`. */
  tag?: string;
  /** Files inside the wheel (path -> content), e.g. {'mypkg/__init__.py': 'X = 1\n'}. */
  files: Record<string, string | Buffer>;
  requires?: string[];
  /** METADATA's Requires-Python and Provides-Extra. */
  requiresPython?: string;
  providesExtra?: string[];
  /** A build tag (`1`, `2b`) in the file name. */
  build?: string;
  /** Unix modes of members (e.g. {'pkg/tool.sh': 0o755}); others 0644. */
  modes?: Record<string, number>;
  /** Members stored uncompressed (the rest are deflated). */
  stored?: string[];
  /** dist-info/entry_points.txt (console_scripts make pip write bin/ scripts). */
  entryPoints?: string;
}

const WHEEL_WRITER = `
import sys, json, zipfile
out, entries = sys.argv[1], json.load(sys.stdin)
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for name, hex_data, mode, stored in entries:
        info = zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0))
        info.external_attr = (0o100000 | mode) << 16
        info.create_system = 3
        info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
        z.writestr(info, bytes.fromhex(hex_data))
`;

function normalize(name: string): string {
  return name.replace(/[-_.]+/g, '_');
}

function recordHash(data: Buffer): string {
  return `sha256=${createHash('sha256').update(data).digest('base64url')}`;
}

/** Writes the wheel into `wheelhouse` and returns its path. */
export async function buildWheel(wheelhouse: string, spec: WheelSpec): Promise<string> {
  await mkdir(wheelhouse, { recursive: true });
  const tag = spec.tag ?? 'py3-none-any';
  const distInfo = `${normalize(spec.name)}-${spec.version}.dist-info`;
  const filename = `${normalize(spec.name)}-${spec.version}-${spec.build ? `${spec.build}-` : ''}${tag}.whl`;
  const [python, abi, platform] = tag.split('-');
  const pure = abi === 'none' && platform === 'any';
  const metadata = [`Metadata-Version: 2.1`, `Name: ${spec.name}`, `Version: ${spec.version}`, ...(spec.requiresPython ? [`Requires-Python: ${spec.requiresPython}`] : []),
    ...(spec.providesExtra ?? []).map((extra) => `Provides-Extra: ${extra}`), ...(spec.requires ?? []).map((r) => `Requires-Dist: ${r}`), ''].join('\n');
  const wheel = [`Wheel-Version: 1.0`, `Generator: lambda-cd-tests`, `Root-Is-Purelib: ${pure}`, ...platform!.split('.').map((p) => `Tag: ${python}-${abi}-${p}`), ''].join('\n');
  const entries: [string, Buffer][] = [
    ...Object.entries(spec.files).map(([name, content]) => [name, Buffer.from(content)] as [string, Buffer]),
    [`${distInfo}/METADATA`, Buffer.from(metadata)],
    [`${distInfo}/WHEEL`, Buffer.from(wheel)],
    ...(spec.entryPoints ? [[`${distInfo}/entry_points.txt`, Buffer.from(spec.entryPoints)] as [string, Buffer]] : []),
  ];
  const csvField = (field: string) => (/[",\r\n]/.test(field) ? `"${field.replace(/"/g, '""')}"` : field);
  const record = [...entries.map(([name, data]) => `${csvField(name)},${recordHash(data)},${data.length}`), `${distInfo}/RECORD,,`, ''].join('\n');
  entries.push([`${distInfo}/RECORD`, Buffer.from(record)]);
  const out = path.join(wheelhouse, filename);
  const members = entries.map(([name, data]) => [name, data.toString('hex'), spec.modes?.[name] ?? 0o644, spec.stored?.includes(name) ?? false]);
  await execa('python3', ['-c', WHEEL_WRITER, out], { input: JSON.stringify(members) });
  return out;
}

/**
 * Environment for pip that sees only `wheelhouse`: no index, no user or global pip.conf,
 * so no test waits on network retries or depends on this machine's mirror.
 */
export function offlinePipEnv(wheelhouse: string): Record<string, string> {
  return {
    PIP_CONFIG_FILE: '/dev/null',
    PIP_NO_INDEX: '1',
    PIP_FIND_LINKS: wheelhouse,
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
    PIP_NO_INPUT: '1',
  };
}

/**
 * Stand-ins for the AWS SDK a Lambda runtime carries, at `versions` (default: what
 * lib/runtime-sdk.ts records for python3.12), so the test runners install it offline: boto3,
 * botocore and urllib3 (the dependency whose pins clash with old function pins), each knowing
 * its version and importing what it depends on. The real SDK's other dependencies are left out
 * to keep every pip run short.
 */
export async function buildSdkWheels(wheelhouse: string, versions: RuntimeSdk = RUNTIME_SDK['python3.12']!): Promise<void> {
  const [major, minor] = versions.botocore.split('.').map(Number) as [number, number];
  const module = (name: string, version: string, imports: string[] = []) => ({
    [`${name}/__init__.py`]: `${imports.map((other) => `import ${other}\n`).join('')}__version__ = "${version}"\n`,
  });
  await Promise.all([
    buildWheel(wheelhouse, { name: 'boto3', version: versions.boto3, files: module('boto3', versions.boto3, ['botocore']), requires: [`botocore>=${versions.botocore},<${major}.${minor + 1}.0`] }),
    buildWheel(wheelhouse, { name: 'botocore', version: versions.botocore, files: module('botocore', versions.botocore, ['urllib3']), requires: ['urllib3>=1.25.4,<3'] }),
    buildWheel(wheelhouse, { name: 'urllib3', version: '1.26.18', files: module('urllib3', '1.26.18') }),
  ]);
}

/** A stand-in for python-dateutil (the example's requirement, and botocore's) with the one function the example uses. */
function buildDateutil(wheelhouse: string): Promise<string> {
  return buildWheel(wheelhouse, {
    name: 'python-dateutil',
    version: '2.9.0.post0',
    files: {
      'dateutil/__init__.py': '',
      'dateutil/parser.py': 'from datetime import datetime\n\ndef isoparse(text):\n    return datetime.fromisoformat(text)\n',
    },
  });
}

/** The example's requirement (python-dateutil) and the SDK its Runtime carries, for offline runs of the example. */
export async function buildExampleWheels(wheelhouse: string): Promise<void> {
  await Promise.all([buildDateutil(wheelhouse), buildSdkWheels(wheelhouse)]);
}
