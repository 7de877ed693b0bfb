/**
 * What `deploy` reads from dist/ before it calls AWS, each checked like any input a CI job may
 * have restored from an artifact or cache: the stage's template (written by create-cf for this
 * very --stack?), the package manifest and zip (from the same build?), and the code location
 * publish wrote (naming this zip?).
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import type { Capability } from '@aws-sdk/client-cloudformation';
import yaml from 'js-yaml';
import { describe, isMapping } from './contract.js';
import { ConfigError } from './errors.js';
import { displayPath } from './output.js';
import { safeName } from './redact.js';

/** CloudFormation takes at most this many bytes of template in a request. */
const MAX_TEMPLATE_BODY = 51_200;
const SHA256 = /^[0-9a-f]{64}$/;
/** IAM resource properties that give a resource its own name (CloudFormation then asks for CAPABILITY_NAMED_IAM). */
const IAM_NAME_PROPERTIES = ['RoleName', 'ManagedPolicyName', 'GroupName', 'UserName', 'InstanceProfileName'];

type Json = Record<string, unknown>;

export interface StageTemplate {
  file: string;
  body: string;
  /** The template's parameter names. */
  parameters: string[];
  /** The template's resources: logical id -> type. */
  resources: Record<string, string>;
  /** OutputKeys the template declares. */
  outputs: string[];
  capabilities: Capability[];
  /** Log groups the template names itself (logical id -> LogGroupName). */
  namedLogGroups: Record<string, string>;
}

/**
 * Reads and checks the stage's template: it must be create-cf's for this stack, i.e. export the
 * function as `exportName` (Name+Stack+Stage); a template written for another --stack would
 * deploy exports integration-test never finds.
 */
export function readStageTemplate(file: string, exportName: string, rerun: string): StageTemplate {
  const shown = displayPath(file);
  if (!existsSync(file)) throw new ConfigError(`deploy: ${shown}: no template; run \`${rerun}\` first (or give --template FILE)`);
  const body = readFileSync(file, 'utf8');
  let document: unknown;
  try {
    document = file.endsWith('.json') ? JSON.parse(body) : yaml.load(body);
  } catch (error) {
    throw new ConfigError(`deploy: ${shown}: not a readable template (${safeName((error as Error).message.split('\n')[0] ?? '', 200)}); run \`${rerun}\` again`);
  }
  if (!isMapping(document) || !isMapping(document.Resources)) throw new ConfigError(`deploy: ${shown}: Resources: expected a CloudFormation template with resources, found ${describe(isMapping(document) ? document.Resources : document)}`);
  if (Buffer.byteLength(body) > MAX_TEMPLATE_BODY) {
    throw new ConfigError(`deploy: ${shown}: ${Buffer.byteLength(body)} bytes; CloudFormation takes at most ${MAX_TEMPLATE_BODY} in a request (shorten env or iam files, or write JSON instead of YAML)`);
  }
  const outputs = isMapping(document.Outputs) ? document.Outputs : {};
  const exported = Object.values(outputs).map((output) => (isMapping(output) && isMapping(output.Export) ? output.Export.Name : undefined));
  if (!exported.includes(exportName)) {
    const found = exported.filter((name): name is string => typeof name === 'string').map((name) => safeName(name)).join(', ') || 'none';
    throw new ConfigError(`deploy: ${shown}: exports ${found}, not ${exportName} (Name+Stack+Stage): it was written for another --stack or function; run \`${rerun}\` again`);
  }
  const resources = Object.fromEntries(Object.entries(document.Resources).map(([id, resource]) => [id, isMapping(resource) ? String(resource.Type) : '?']));
  return {
    file,
    body,
    parameters: isMapping(document.Parameters) ? Object.keys(document.Parameters) : [],
    resources,
    outputs: Object.keys(outputs),
    capabilities: capabilitiesFor(document),
    namedLogGroups: Object.fromEntries(
      Object.entries(document.Resources)
        .filter(([, resource]) => isMapping(resource) && resource.Type === 'AWS::Logs::LogGroup' && isMapping(resource.Properties) && typeof resource.Properties.LogGroupName === 'string')
        .map(([id, resource]) => [id, ((resource as Json).Properties as Json).LogGroupName as string]),
    ),
  };
}

/** What CloudFormation asks to be acknowledged for this template. */
function capabilitiesFor(document: Json): Capability[] {
  const resources = Object.values(document.Resources as Json).filter(isMapping);
  const iam = resources.filter((resource) => typeof resource.Type === 'string' && resource.Type.startsWith('AWS::IAM::'));
  const capabilities: Capability[] = [];
  if (iam.length > 0) {
    const named = iam.some((resource) => isMapping(resource.Properties) && IAM_NAME_PROPERTIES.some((key) => (resource.Properties as Json)[key] !== undefined));
    capabilities.push(named ? 'CAPABILITY_NAMED_IAM' : 'CAPABILITY_IAM');
  }
  if (document.Transform !== undefined || JSON.stringify(document).includes('"Fn::Transform"')) capabilities.push('CAPABILITY_AUTO_EXPAND');
  return capabilities;
}

export interface CodeLocation {
  bucket: string;
  key: string;
}

export interface PackageState {
  /** The zip's sha256, as the package manifest records it. */
  sha256: string;
  zipSize?: number;
  /** The location publish recorded, when it names this zip (and --bucket, when given). */
  location?: CodeLocation;
  /** Why the recorded location cannot be used (missing, unreadable, another zip, another bucket). */
  staleReason?: string;
  zipExists: boolean;
}

/**
 * Decides whether dist/code-location.json names the zip of the current build: its S3Key ends in
 * the zip's sha256 (publish's content-addressed key) and the manifest records that sha256. When
 * the zip itself is there, it must match its manifest (a restored dist/ may mix two builds).
 */
export async function packageState(files: { manifest: string; zip: string; codeLocation: string }, bucket: string | undefined): Promise<PackageState> {
  const manifest = readManifest(files.manifest);
  const zipExists = existsSync(files.zip);
  if (zipExists) {
    const actual = await sha256File(files.zip);
    if (actual !== manifest.sha256) {
      throw new ConfigError(`deploy: ${displayPath(files.zip)} (sha256 ${actual.slice(0, 12)}...) does not match ${displayPath(files.manifest)} (sha256 ${manifest.sha256.slice(0, 12)}...): they come from different builds; run \`lambda-cd package\` again`);
    }
  }
  const state: PackageState = { sha256: manifest.sha256, zipSize: manifest.zipSize, zipExists };
  const shown = displayPath(files.codeLocation);
  if (!existsSync(files.codeLocation)) return { ...state, staleReason: `${shown} does not exist` };
  let location: CodeLocation;
  try {
    location = parseCodeLocation(readFileSync(files.codeLocation, 'utf8'));
  } catch (error) {
    return { ...state, staleReason: `${shown} is not publish's output (${(error as Error).message})` };
  }
  const named = /(?:^|\/)([0-9a-f]{64})\.zip$/.exec(location.key)?.[1];
  if (named !== manifest.sha256) {
    return { ...state, staleReason: `${shown} names ${named ? `the zip ${named.slice(0, 12)}...` : `s3://${safeName(location.bucket)}/${safeName(location.key)}`}, but the package is ${manifest.sha256.slice(0, 12)}...` };
  }
  if (bucket !== undefined && bucket !== location.bucket) {
    return { ...state, staleReason: `${shown} names the bucket ${safeName(location.bucket)}, not ${bucket} (--bucket)` };
  }
  return { ...state, location };
}

function readManifest(file: string): { sha256: string; zipSize?: number } {
  const shown = displayPath(file);
  if (!existsSync(file)) throw new ConfigError(`deploy: ${shown}: no package manifest; run \`lambda-cd package\` first`);
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(`deploy: ${shown}: not valid JSON (${safeName((error as Error).message, 200)}); run \`lambda-cd package\` again`);
  }
  if (!isMapping(manifest) || typeof manifest.sha256 !== 'string' || !SHA256.test(manifest.sha256)) {
    throw new ConfigError(`deploy: ${shown}: sha256: expected the zip's sha256 (64 hex digits), found ${describe(isMapping(manifest) ? manifest.sha256 : manifest)}; run \`lambda-cd package\` again`);
  }
  return { sha256: manifest.sha256, zipSize: typeof manifest.zipSize === 'number' ? manifest.zipSize : undefined };
}

/** {"Parameters": {"S3Storage": bucket, "S3Key": key}}, as publish writes it. */
function parseCodeLocation(text: string): CodeLocation {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new Error('not valid JSON');
  }
  const parameters = isMapping(document) ? document.Parameters : undefined;
  if (!isMapping(parameters) || typeof parameters.S3Storage !== 'string' || typeof parameters.S3Key !== 'string' || parameters.S3Storage === '' || parameters.S3Key === '') {
    throw new Error('expected Parameters.S3Storage and Parameters.S3Key');
  }
  return { bucket: parameters.S3Storage, key: parameters.S3Key };
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
