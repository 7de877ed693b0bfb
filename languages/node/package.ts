/**
 * `lambda-cd package` for a Node.js function, in named steps (as aws-lambda-builders' nodejs_npm
 * workflow lists its actions; see DESIGN.md):
 *   1. collect src/                 the function's code (lib/package-source.ts, shared with Python)
 *   2. production dependencies      `npm ci --omit=dev` for linux/<cpu>/glibc, into the cache keyed
 *                                   on the lock file; install scripts judged, compressed once
 *   3. bundle (Bundle: esbuild)     the handler and what it imports in one file, @aws-sdk/* external
 *   4. lay out                      src/ (or the bundle) + node_modules/, Lambda's limits
 *   5. write                        the shared writer: reproducible zip, handler import check on it,
 *                                   zip + manifest replaced as a pair
 */
import path from 'node:path';
import { discardOutputs, removeDeadTemporaries } from '../../lib/atomic.js';
import type { PackageManifest, PackageOptions, PackageResult } from '../../runners/package.js';
import { checkLimits, LAMBDA_LIMITS, writePackage } from '../../runners/package.js';
import { ConfigError } from '../../lib/errors.js';
import { count, displayPath, formatBytes, formatDuration, progress, thousands, warn } from '../../lib/output.js';
import type { SourceFile } from '../../lib/package-layout.js';
import { collectSourceFiles } from '../../lib/package-source.js';
import { safeName } from '../../lib/redact.js';
import { compareNames, directoryEntries, type ZipEntry } from '../../lib/zip.js';
import { bundleHandler } from './bundle.js';
import { productionDependencies, type Dependencies } from './dependencies.js';
import { readNpmProject } from './lockfile.js';

export async function packageNode(options: PackageOptions): Promise<PackageResult> {
  const started = performance.now();
  const { repository } = options;
  // The previous zip and manifest no longer describe the sources, whatever happens next.
  const manifestPath = `${options.outFile}.manifest.json`;
  await discardOutputs([options.outFile, manifestPath]);
  await removeDeadTemporaries(path.dirname(options.outFile));
  const limits = { ...LAMBDA_LIMITS, ...Object.fromEntries(Object.entries(options.limits ?? {}).filter(([, value]) => value !== undefined)) };
  const project = readNpmProject(repository.root);

  let src: SourceFile[] = await collectSourceFiles(repository.root); // 1
  const dependencies = await productionDependencies({ project, repository, cacheDir: options.cacheDir, keepTree: repository.bundle === 'esbuild' }); // 2
  let deps = dependencies;
  let bundled = new Set<string>();
  if (repository.bundle === 'esbuild') { // 3
    ({ files: src, bundled } = await bundleHandler({ repository, src, nodeModules: dependencies.nodeModules, moduleType: project?.moduleType ?? 'commonjs' }));
    deps = { ...dependencies, entries: [] };
  }
  // Lambda reads a .js file as ESM only under a package.json saying "type": "module"; the zip's root is src/, so it gets one.
  if (repository.bundle !== 'esbuild' && project?.moduleType === 'module' && !src.some((file) => file.name === 'package.json')) {
    const data = Buffer.from('{\n  "type": "module"\n}\n');
    src = [...src, { name: 'package.json', path: 'package.json', executable: false, data, size: data.length }];
  }
  const layout = layOut(src, deps); // 4
  checkLimits({ ...layout, entries: layout.fileCount + layout.folders.length }, limits);

  const unzipped = formatBytes(layout.unzippedSize);
  progress('package', `zipping ${count(layout.fileCount, 'file')} (${unzipped}): ${thousands(layout.srcCount)} from ${repository.bundle === 'esbuild' ? 'the bundle' : 'src/'}, ${thousands(layout.fileCount - layout.srcCount)} from node_modules/`);
  const manifest = await writePackage(options, manifestPath, { first: { toCompress: [], ready: layout.ready }, layout: { srcToCompress: layout.toCompress, srcFolders: layout.folders } }, async (written): Promise<PackageManifest> => ({ // 5
    file: path.basename(options.outFile), sha256: written.sha256, zipSize: written.size, unzippedSize: layout.unzippedSize, fileCount: layout.fileCount,
    runtime: repository.runtime, architecture: repository.architecture,
    distributions: dependencies.packages.map(({ name, version }) => ({ name, version, ...(repository.bundle === 'esbuild' ? { bundled: bundled.has(name) } : {}) })),
  }));
  if (manifest.zipSize > limits.warnZippedBytes) {
    warn(`${displayPath(options.outFile)} is ${formatBytes(manifest.zipSize)}, over ${formatBytes(limits.warnZippedBytes)}: too large for direct upload to Lambda (deploy it from S3)`);
  }
  progress('package', `${displayPath(options.outFile)}: ${formatBytes(manifest.zipSize)} zipped, ${unzipped} unzipped, ${count(layout.fileCount, 'file')}, ${count(dependencies.packages.length, 'npm package')} (${formatDuration(performance.now() - started)})`);
  return { zipPath: options.outFile, manifestPath, manifest, cacheHit: dependencies.cacheHit };
}

/** The zip's content: src/ to compress, node_modules/ entries ready to copy, every folder entry. */
interface NodeLayout {
  toCompress: SourceFile[]; ready: ZipEntry[]; folders: ZipEntry[];
  unzippedSize: number; fileCount: number; srcCount: number; groups: { label: string; bytes: number }[];
}

/**
 * What goes into the zip, by name: node_modules/ as npm installed it, then src/ (src/ wins a
 * name both have, with a warning). A file and a folder of one name cannot both be extracted.
 */
function layOut(src: SourceFile[], deps: Pick<Dependencies, 'entries' | 'packages'>): NodeLayout {
  const srcNames = new Set(src.map((file) => file.name));
  const shadowed = deps.entries.filter((entry) => srcNames.has(entry.name));
  if (shadowed.length > 0) warn(`src/ replaces ${count(shadowed.length, 'installed file')} of the same name (${shadowed.slice(0, 3).map((entry) => safeName(entry.name)).join(', ')})`);
  const ready: ZipEntry[] = deps.entries.filter((entry) => !srcNames.has(entry.name));
  const names = [...src.map((file) => file.name), ...ready.map((entry) => entry.name)];
  const folders = directoryEntries(names);
  const all = new Set(names);
  const clash = folders.find((folder) => all.has(folder.name.slice(0, -1)));
  if (clash) throw new ConfigError(`${safeName(clash.name.slice(0, -1))} is a file in src/, but node_modules/ needs a folder of that name: a zip holding both cannot be extracted; rename it`);

  const groups = new Map<string, number>();
  const srcBytes = src.reduce((sum, file) => sum + file.size, 0);
  groups.set('src/ (your code)', srcBytes);
  for (const entry of ready) {
    const match = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(entry.name);
    const label = match ? match[1]! : entry.name;
    groups.set(label, (groups.get(label) ?? 0) + entry.size);
  }
  const unzippedSize = srcBytes + ready.reduce((sum, entry) => sum + entry.size, 0);
  return {
    toCompress: src, ready, unzippedSize, fileCount: src.length + ready.length, srcCount: src.length, folders,
    groups: [...groups].map(([label, bytes]) => ({ label, bytes })).sort((a, b) => b.bytes - a.bytes || compareNames(a.label, b.label)),
  };
}
