/**
 * Layers of a multi-function repository (lambda-cd.yaml's Layers): each built from its own
 * requirements into dist/layers/<Layer>/layer.zip with its packages under python/ (where Lambda
 * looks in /opt), published beside the functions' zips, and declared in the stage template of
 * every function that names it as an AWS::Lambda::LayerVersion (one stack per function and stage,
 * so each function's stack owns its layer version; they share the zip in S3).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import yaml from 'js-yaml';
import { givenOption, givenOptions, withoutOption } from '../lib/argv-options.js';
import { replaceOutputSet, writeFileAtomic } from '../lib/atomic.js';
import { loadRepository } from '../lib/contract.js';
import { ConfigError } from '../lib/errors.js';
import { runStreamingStderr } from '../lib/exec.js';
import { count, displayPath, progress, style, warn } from '../lib/output.js';
import { buildEnvironment, digestFolder, digestInputs, whyRebuild, writeBuildRecord } from '../lib/workspace-inputs.js';
import { serializeTemplate } from '../lib/template.js';
import { readZip, rewriteZip } from '../lib/workspace-zip.js';
import type { Workspace, WorkspaceFunction, WorkspaceLayer } from '../lib/workspace.js';
import type { PackageManifest } from './package.js';

/** Where layers are published (publish's default prefix; the templates name the key). */
const LAYER_PREFIX = 'lambda-cd/';

export interface LayerRunContext {
  workspace: Workspace;
  functions: WorkspaceFunction[];
  args: string[];
  self: string[];
}

// ---------------------------------------------------------------------------------------

export const layerZip = (root: string, layer: string) => path.join(root, 'dist', 'layers', layer, 'layer.zip');

/** A layer's manifest: package's, for layer.zip. */
type LayerManifest = PackageManifest;

/** Builds (or keeps, when unchanged) every layer the selected functions use. */
export async function buildLayers(options: LayerRunContext): Promise<void> {
  const { workspace } = options;
  const used = workspace.layers.filter((layer) => options.functions.some((fn) => fn.layers.includes(layer.name)));
  for (const layer of used) {
    const users = workspace.functions.filter((fn) => fn.layers.includes(layer.name)).map((fn) => ({ fn, config: loadRepository(fn.folder) }));
    const { runtime, architecture } = users[0]!.config;
    const other = users.find((user) => user.config.runtime !== runtime || user.config.architecture !== architecture);
    if (other) {
      throw new ConfigError(`${displayPath(workspace.file)}: Layers.${layer.name}: expected every function using it to share one Runtime and Architecture; ${users[0]!.fn.name} has ${runtime}/${architecture}, ${other.fn.name} ${other.config.runtime}/${other.config.architecture}`);
    }
    const zip = layerZip(workspace.root, layer.name);
    const inputs = digestInputs({ layer: layer.name, folder: digestFolder(layer.folder), runtime, architecture, args: pipArgs(options.args), env: buildEnvironment() });
    const reason = whyRebuild(zip, inputs);
    if (reason === undefined) {
      progress(`package layer ${layer.name}`, `unchanged since the last build: ${displayPath(zip)}`);
      continue;
    }
    progress(`package layer ${layer.name}`, `building (${reason})`);
    await installLayerPackages(options, layer, runtime, architecture, zip);
    await writeBuildRecord(zip, inputs);
  }
}

const PLACEHOLDER = 'lambda_cd_layer_placeholder';

/**
 * A minimal function repository in .lambda-cd/layers/<Layer>/ holding the layer's folder (its
 * requirements.txt and whatever it includes) and a placeholder handler: what package builds and
 * publish uploads for a layer. `fresh` copies the layer's folder again.
 */
async function layerRepository(workspace: Workspace, layer: WorkspaceLayer, runtime: string, architecture: string, fresh: boolean): Promise<string> {
  const stage = path.join(workspace.root, '.lambda-cd', 'layers', layer.name);
  if (fresh) {
    await rm(stage, { recursive: true, force: true });
    await cp(layer.folder, stage, { recursive: true, verbatimSymlinks: true });
  }
  await mkdir(path.join(stage, 'config', 'PROD'), { recursive: true });
  await mkdir(path.join(stage, 'src'), { recursive: true });
  await writeFile(path.join(stage, 'config', 'config.yaml'), `Name: Layer${layer.name}\nHandler: ${PLACEHOLDER}.handler\nRuntime: ${runtime}\nArchitecture: ${architecture}\n`);
  await writeFile(path.join(stage, 'src', `${PLACEHOLDER}.py`), 'def handler(event, context):\n    return None\n');
  return stage;
}

/** --index-url, --find-links, --allow-sdist, --python, --cache-dir: what a layer's install takes from the command line. */
function pipArgs(args: string[]): string[] {
  const kept: string[] = [];
  for (const name of ['index-url', 'python', 'cache-dir']) {
    const value = givenOption(args, name);
    if (value !== undefined) kept.push(`--${name}`, value);
  }
  for (const location of givenOptions(args, 'find-links')) kept.push('--find-links', location);
  if (args.includes('--allow-sdist')) kept.push('--allow-sdist');
  return kept;
}

/**
 * The layer's packages as Lambda loads a layer: installed for the Runtime under python/. The one
 * place the multi-function layer reaches the Python install path: a minimal function repository
 * holding the layer's requirements is packaged by `lambda-cd package` (every check of a function's
 * requirements applies), and its members move under python/.
 */
async function installLayerPackages(options: LayerRunContext, layer: WorkspaceLayer, runtime: string, architecture: string, zip: string): Promise<void> {
  const { workspace } = options;
  const stage = await layerRepository(workspace, layer, runtime, architecture, true);
  const built = path.join(stage, '.build', 'function.zip');
  const cacheDir = givenOption(options.args, 'cache-dir') ?? process.env.LAMBDA_CD_CACHE_DIR ?? path.join(workspace.root, '.lambda-cd', 'cache');
  const result = await runStreamingStderr(options.self[0]!, [...options.self.slice(1), 'package', ...withoutOption(pipArgs(options.args), 'cache-dir'), '--cache-dir', cacheDir, '--path', stage, '--out', built, '--no-import-check'], {
    cwd: process.cwd(),
    env: { ...process.env, LAMBDA_CD_FUNCTION: undefined, LAMBDA_CD_PATH: undefined },
    onStderrLine: (line) => process.stderr.write(`${style.dim(`[layer ${layer.name}]`)} ${line}\n`),
  });
  if (result.exitCode !== 0) throw Object.assign(new Error(`layer ${layer.name} (${layer.relative}/requirements.txt) did not build (exit ${result.exitCode}); see its lines above`), { exitCode: result.exitCode });
  const inner = JSON.parse(await readFile(`${built}.manifest.json`, 'utf8')) as LayerManifest;
  let manifest: LayerManifest | undefined;
  await replaceOutputSet([
    {
      target: zip,
      produce: async (zipTemp) => {
        const written = await rewriteZip(built, zipTemp, { rename: (name) => (name === `${PLACEHOLDER}.py` ? undefined : `python/${name}`) });
        manifest = { file: 'layer.zip', sha256: written.sha256, zipSize: written.size, unzippedSize: written.unzippedSize, fileCount: written.fileCount, runtime, architecture, distributions: inner.distributions };
      },
    },
    { target: `${zip}.manifest.json`, produce: (manifestTemp) => writeFile(manifestTemp, `${JSON.stringify(manifest, null, 2)}\n`) },
  ]);
  progress(`package layer ${layer.name}`, `${displayPath(zip)}: ${count(inner.distributions.length, 'distribution')} under python/`);
}

/** Normalized as pip compares project names. */
const canonical = (name: string) => name.toLowerCase().replace(/[-_.]+/g, '-');

/**
 * The function's final zip: the built one without the distributions its layers hold at the same
 * version (Lambda loads those from /opt/python). A distribution the function pins at another
 * version stays in its zip, where it wins over the layer's, with a warning.
 */
export async function withoutLayerPackages(workspace: Workspace, fn: WorkspaceFunction, built: string, finalZip: string): Promise<void> {
  const inner = JSON.parse(await readFile(`${built}.manifest.json`, 'utf8')) as LayerManifest;
  const inLayers = new Map<string, { version: string; layer: string }>();
  for (const name of fn.layers) {
    const manifest = JSON.parse(await readFile(`${layerZip(workspace.root, name)}.manifest.json`, 'utf8')) as LayerManifest;
    for (const dist of manifest.distributions) inLayers.set(canonical(dist.name), { version: dist.version, layer: name });
  }
  const { members, texts } = await readZip(built, (name) => /^[^/]+\.dist-info\/(RECORD|METADATA)$/.test(name));
  const drop = new Set<string>();
  const kept: LayerManifest['distributions'] = [];
  for (const dist of inner.distributions) {
    const layer = inLayers.get(canonical(dist.name));
    if (!layer || layer.version !== dist.version) {
      if (layer) warn(`${fn.name}: ${dist.name} ${dist.version} stays in its zip: layer ${layer.layer} has ${layer.version}, and the function's copy wins in Lambda`);
      kept.push(dist);
      continue;
    }
    const distInfo = [...texts.keys()].find((name) => name.endsWith('/METADATA') && metadataNames(texts.get(name)!, dist));
    if (!distInfo) continue;
    const folder = distInfo.slice(0, -'METADATA'.length);
    for (const line of (texts.get(`${folder}RECORD`) ?? '').split('\n')) {
      const file = line.split(',')[0];
      if (file) drop.add(file);
    }
    for (const member of members) if (member.name.startsWith(folder)) drop.add(member.name);
  }
  let manifest: Record<string, unknown> | undefined;
  await replaceOutputSet([
    {
      target: finalZip,
      produce: async (zipTemp) => {
        const written = await rewriteZip(built, zipTemp, { rename: (name) => (drop.has(name) ? undefined : name) });
        manifest = { ...inner, file: 'function.zip', sha256: written.sha256, zipSize: written.size, unzippedSize: written.unzippedSize, fileCount: written.fileCount, distributions: kept, layers: fn.layers };
      },
    },
    { target: `${finalZip}.manifest.json`, produce: (manifestTemp) => writeFile(manifestTemp, `${JSON.stringify(manifest, null, 2)}\n`) },
  ]);
}

function metadataNames(metadata: string, dist: { name: string; version: string }): boolean {
  const name = /^Name:\s*(.+)$/m.exec(metadata)?.[1]?.trim();
  const version = /^Version:\s*(.+)$/m.exec(metadata)?.[1]?.trim();
  return name !== undefined && canonical(name) === canonical(dist.name) && version === dist.version;
}

function readLayerManifest(workspace: Workspace, layer: string, command: string): LayerManifest {
  const file = `${layerZip(workspace.root, layer)}.manifest.json`;
  try {
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as LayerManifest;
    if (typeof manifest.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(manifest.sha256)) throw new Error('no sha256');
    return manifest;
  } catch {
    throw new ConfigError(`${command}: ${displayPath(file)}: no layer build to use (or not one lambda-cd wrote); run \`lambda-cd package\` at the repository root first`);
  }
}

/** The S3 key a layer's zip is published under (and its template names). */
export const layerKey = (layer: string, sha256: string) => `${LAYER_PREFIX}Layer${layer}/${sha256}.zip`;

/** Uploads the zip of every layer `functions` use (already there: not again), as publish does a function's. */
export async function publishLayers(options: LayerRunContext): Promise<number> {
  const { workspace } = options;
  let exitCode = 0;
  for (const layer of workspace.layers.filter((l) => options.functions.some((fn) => fn.layers.includes(l.name)))) {
    const manifest = readLayerManifest(workspace, layer.name, 'publish');
    const repository = await layerRepository(workspace, layer, manifest.runtime, manifest.architecture, !existsSync(path.join(workspace.root, '.lambda-cd', 'layers', layer.name)));
    const passed: string[] = [];
    for (const name of ['bucket', 'region', 'profile']) {
      const value = givenOption(options.args, name);
      if (value !== undefined) passed.push(`--${name}`, value);
    }
    const zip = layerZip(workspace.root, layer.name);
    const result = await runStreamingStderr(options.self[0]!, [...options.self.slice(1), 'publish', ...passed, '--prefix', LAYER_PREFIX, '--path', repository, '--zip', zip, '--out', path.join(path.dirname(zip), 'code-location.json')], {
      cwd: process.cwd(),
      env: { ...process.env, LAMBDA_CD_FUNCTION: undefined, LAMBDA_CD_PATH: undefined },
      onStderrLine: (line) => process.stderr.write(`${style.dim(`[layer ${layer.name}]`)} ${line}\n`),
    });
    exitCode = Math.max(exitCode, result.exitCode);
  }
  return exitCode;
}

/**
 * Declares the function's layers in each stage template create-cf wrote to `outDir`: one
 * AWS::Lambda::LayerVersion per layer, named after its zip's sha256 (a changed layer is a new
 * resource, so a new layer version), in the function's Layers. The function version create-cf
 * named after the zip and the settings a version freezes is renamed after the layers too: a
 * changed layer publishes a new function version, an unchanged one leaves the template as it was.
 */
export async function attachLayers(workspace: Workspace, fn: WorkspaceFunction, outDir: string): Promise<void> {
  if (fn.layers.length === 0) return;
  const manifests = fn.layers.map((name) => ({ name, manifest: readLayerManifest(workspace, name, 'create-cf') }));
  const files = (await readdir(outDir)).filter((file) => /^stack.+\.(json|yaml)$/.test(file));
  const updated: Record<string, string> = {};
  for (const file of files) {
    const absolute = path.join(outDir, file);
    const text = await readFile(absolute, 'utf8');
    const json = file.endsWith('.json');
    const template = (json ? JSON.parse(text) : yaml.load(text)) as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
    const resources = template.Resources;
    const functionId = Object.keys(resources).find((id) => resources[id]!.Type === 'AWS::Lambda::Function');
    const versionId = Object.keys(resources).find((id) => resources[id]!.Type === 'AWS::Lambda::Version');
    if (!functionId || !versionId) continue;
    const properties = resources[functionId]!.Properties;
    const refs: unknown[] = [];
    for (const { name, manifest } of manifests) {
      const id = `Layer${name}${manifest.sha256.slice(0, 12)}`;
      if (resources[id]) continue; // already attached (create-cf rewrote nothing since)
      resources[id] = {
        Type: 'AWS::Lambda::LayerVersion',
        Properties: {
          LayerName: `${properties.FunctionName as string}-${name}`,
          Description: `lambda-cd layer ${name}: zip ${manifest.sha256.slice(0, 12)}`,
          Content: { S3Bucket: { Ref: 'S3Storage' }, S3Key: layerKey(name, manifest.sha256) },
          CompatibleRuntimes: [manifest.runtime],
          CompatibleArchitectures: [manifest.architecture],
        },
      };
      refs.push({ Ref: id });
    }
    if (refs.length === 0) continue;
    properties.Layers = [...((properties.Layers as unknown[] | undefined) ?? []), ...refs];
    const oldKey = versionId.slice(`${functionId}Version`.length);
    const newKey = createHash('sha256').update(`${oldKey}:${manifests.map(({ name, manifest }) => `${name}=${manifest.sha256}`).join(',')}`).digest('hex').slice(0, oldKey.length);
    // The key is 16 random-looking hex digits: it occurs only where create-cf used it (the version's id, its description, references).
    const rendered = serializeTemplate(template, json ? 'json' : 'yaml');
    updated[absolute] = oldKey.length === 16 ? rendered.split(oldKey).join(newKey) : rendered;
  }
  for (const [file, text] of Object.entries(updated)) await writeFileAtomic(file, text);
}
