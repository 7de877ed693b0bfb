/**
 * `lambda-cd package`: the deployment zip, in named steps (as aws-lambda-builders' python_pip
 * workflow lists its actions):
 *   1. collect src/                      the function's code, names checked
 *   2. requirement wheels                which wheels, verified (the cache, or pip resolving)
 *   3. what pip would place              per wheel, without unpacking it; tags checked
 *   4. lay out                           one file per name, clashes refused, Lambda's limits
 *   5. write                             src/ compressed, wheel members copied still deflated,
 *                                        checks on the finished zip, zip + manifest replaced as a pair
 * pip only resolves; no file is unpacked to disk and deflated again. The zip holds what the
 * wheels place first, then src/: with the requirements unchanged, steps 3 and 4 for the wheels
 * are skipped and their part of the last zip copied verbatim (lib/package-deps-block.ts).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { discardOutputs, removeDeadTemporaries, removeOnInterrupt, replaceOutputSet, temporaryName } from '../lib/atomic.js';
import type { RepositoryConfig } from '../lib/contract.js';
import { usableCpus } from '../lib/cpus.js';
import { CheckFailedError, ConfigError, EnvironmentError } from '../lib/errors.js';
import { languageOf } from '../languages/index.js';
import { count, displayPath, formatBytes, formatDuration, progress, thousands, warn } from '../lib/output.js';
import { keepDepsBlock, type DepsBlock } from '../lib/package-deps-block.js';
import { largest, layOut, type SourceFile } from '../lib/package-layout.js';
import { CorruptCachedWheels, requirementWheels, StalePipVersion, type Requirements } from '../lib/package-requirements.js';
import { collectSourceFiles } from '../lib/package-source.js';
import type { PipOptions } from '../lib/python.js';
import { escapeControl } from '../lib/redact.js';
import { RUNTIMES } from '../lib/runtimes.js';
import { timed } from '../lib/timings.js';
import { WheelStore } from '../lib/wheel-store.js';
import type { LambdaTarget } from '../lib/wheel-tags.js';
import { MAX_ZIP_ENTRIES, compareNames, compressFiles, directoryEntries, fitsInMemory, writeZip, type ZipEntry, type ZipPrefix, type ZipWrittenParts } from '../lib/zip.js';

/** Lambda's limits for a .zip function: 250 MB unzipped (with layers), 50 MB for direct upload. */
export const LAMBDA_LIMITS = { maxUnzippedBytes: 250 * 1024 * 1024, warnZippedBytes: 50 * 1024 * 1024 };

export interface PackageOptions {
  repository: RepositoryConfig;
  outFile: string;
  cacheDir: string;
  python: string;
  allowSdist: boolean;
  pip: PipOptions;
  /** Lower limits (tests; users leaving room for layers). Defaults: LAMBDA_LIMITS. */
  limits?: Partial<typeof LAMBDA_LIMITS>;
  /** Import the handler from the built zip before it is put in place (lib/handler-check.ts); default true. */
  importCheck?: boolean;
}

export interface ManifestDistribution {
  name: string;
  version: string;
  /** Python: the wheel's tags (which platform it was built for). */
  wheelTag?: string;
  /** Node.js with Bundle: esbuild: whether the bundle holds the package. */
  bundled?: boolean;
}

export interface PackageManifest {
  file: string;
  sha256: string;
  zipSize: number;
  unzippedSize: number;
  fileCount: number;
  runtime: string;
  architecture: string;
  distributions: ManifestDistribution[];
}

export interface PackageResult {
  zipPath: string;
  manifestPath: string;
  manifest: PackageManifest;
  /** True when the requirements came from the cache (no pip run). */
  cacheHit: boolean;
}

/** The zip of the repository's language (languages/; Python's steps are below). */
export async function runPackage(options: PackageOptions): Promise<PackageResult> {
  return languageOf(options.repository).package(options);
}

/** Python: requirements.txt installed for Lambda from the wheels, plus src/. */
export async function packagePython(options: PackageOptions): Promise<PackageResult> {
  // pip's version is part of what the cache records, but asking Python costs a process start:
  // on a cache hit it is asked in parallel and checked before finishing; a resolve reports it.
  let asked: Promise<string> | undefined;
  const pip = () => {
    asked ??= import('../lib/python.js').then(({ pipVersion }) => pipVersion(options.python));
    asked.catch(() => undefined); // awaited where it matters; no requirements need no Python
    return asked;
  };
  // The previous zip and manifest no longer describe the sources, whatever happens next
  // (a failure, Ctrl-C, kill -9): none is left to be deployed by mistake.
  const manifestPath = `${options.outFile}.manifest.json`;
  await timed('discard outputs', () => discardOutputs([options.outFile, manifestPath]));
  // What killed runs left (kill -9, a stopped container), whether or not this run needs pip.
  await timed('remove dead temporaries', () => Promise.all([path.dirname(options.outFile), path.join(options.cacheDir, 'package'), path.join(options.cacheDir, 'wheels')].map(removeDeadTemporaries)));
  let useBlock = true;
  for (let attempt = 1; ; attempt++) {
    try {
      return await packageOnce(options, pip, manifestPath, useBlock);
    } catch (error) {
      // The kept zip part cannot serve this build (src/ replaces an installed file), or is corrupt: from the wheels, once more.
      if (error instanceof BlockUnusable || error instanceof CorruptDepsBlock) {
        if (error instanceof CorruptDepsBlock) await error.block.discard();
        useBlock = false;
        attempt--;
        continue;
      }
      // The cache entry turned out unusable while the zip was being written: discard it, once, and build again.
      if (attempt > 1) throw error;
      if (error instanceof StalePipVersion) await rm(error.entryDir, { recursive: true, force: true });
      else if (error instanceof CorruptCachedWheels) for (const wheel of error.wheels) await new WheelStore(path.join(options.cacheDir, 'wheels')).discardCorrupt(wheel.sha256, wheel.label);
      else throw error;
    }
  }
}

/** The kept deps part does not apply: src/ replaces one of its files, or a name is a file in one and a folder in the other. */
class BlockUnusable extends Error {}

/** The kept deps part's bytes no longer hash to its name. */
class CorruptDepsBlock extends Error {
  constructor(readonly block: DepsBlock) {
    super('corrupt kept zip part');
  }
}

async function packageOnce(options: PackageOptions, pip: () => Promise<string>, manifestPath: string, useBlock: boolean): Promise<PackageResult> {
  const started = performance.now();
  const { repository } = options;
  const limits = { ...LAMBDA_LIMITS, ...Object.fromEntries(Object.entries(options.limits ?? {}).filter(([, value]) => value !== undefined)) };
  const target = lambdaTarget(repository);

  const src = await timed('collect src/', () => collectSourceFiles(repository.root)); // 1
  const requirements = await timed('requirement wheels', () => requirementWheels({ // 2
    root: repository.root, requirementsFile: path.join(repository.root, 'requirements.txt'), cacheDir: options.cacheDir, python: options.python, pip: options.pip,
    allowSdist: options.allowSdist, target, runtime: repository.runtime, pipVersion: pip, depsBlock: useBlock,
  }));
  if (requirements?.block) return fromBlock(options, manifestPath, started, limits, src, requirements, requirements.block, pip);
  try {
    return await fromWheels(options, manifestPath, started, limits, target, src, requirements, pip);
  } catch (error) {
    // Anything odd about a cached wheel (a member that does not inflate, data missing) is first a question of its hash.
    await requirements?.verified;
    throw error;
  }
}

async function fromWheels(options: PackageOptions, manifestPath: string, started: number, limits: typeof LAMBDA_LIMITS, target: LambdaTarget, src: SourceFile[], requirements: Requirements | undefined, pip: () => Promise<string>): Promise<PackageResult> {
  const { repository } = options;
  // Loaded here: a src-only rebuild (fromBlock) opens no wheel.
  const { whatPipWouldPlace } = await import('../lib/package-install.js');
  const wheels = requirements ? await timed('what pip would place', () => whatPipWouldPlace(requirements, options.python, target, repository.runtime)) : []; // 3
  const layout = await timed('lay out', () => layOut(src, wheels)); // 4
  checkLimits({ ...layout, entries: layout.fileCount + layout.folders.length }, limits);

  const distributions = wheels.map(({ install }) => ({ name: install.name, version: install.version, wheelTag: install.wheelTag, distInfo: install.distInfo }))
    .sort((a, b) => compareNames(a.distInfo, b.distInfo)).map(({ name, version, wheelTag }) => ({ name, version, wheelTag }));
  // The deps part is the wheels' alone unless src/ replaces one of their files: then it is not kept for reuse.
  const keep = requirements && !requirements.block && layout.shadowed === 0 && wheels.length > 0 ? requirements : undefined;
  const srcBytes = src.reduce((sum, file) => sum + file.size, 0);
  return finish(options, manifestPath, started, limits, {
    layout, distributions, requirements, pip,
    first: { toCompress: layout.depsToCompress, ready: [...layout.ready, ...layout.depsFolders] },
    keep: keep && ((zip, part) => keepDepsBlock(keep.entryDir, zip, part, {
      wheels: keep.recorded, distributions, groups: layout.groups.filter((group) => group.label !== SRC_GROUP), unzippedSize: layout.unzippedSize - srcBytes,
      fileCount: layout.fileCount - layout.srcCount, warnings: layout.warnings,
    })),
  });
}

const SRC_GROUP = 'src/ (your code)';

/** src/ changed only: the kept deps part is copied as it is (verified as it is copied), src/ compressed and added. */
async function fromBlock(options: PackageOptions, manifestPath: string, started: number, limits: typeof LAMBDA_LIMITS, src: SourceFile[], requirements: Requirements, block: DepsBlock, pip: () => Promise<string>): Promise<PackageResult> {
  // What the full layout would warn about (src/ replacing an installed file) or refuse (a file and a folder of one name): built from the wheels.
  const allFolders = directoryEntries(src.map((file) => file.name));
  if (src.some((file) => block.has(file.name) || block.has(`${file.name}/`)) || allFolders.some((folder) => block.has(folder.name.slice(0, -1)))) throw new BlockUnusable();
  for (const text of block.warnings) warn(escapeControl(text));
  const srcFolders = allFolders.filter((folder) => !block.has(folder.name));
  const srcBytes = src.reduce((sum, file) => sum + file.size, 0);
  const groups = src.length > 0 ? [...block.groups, { label: SRC_GROUP, bytes: srcBytes }].sort((a, b) => b.bytes - a.bytes || compareNames(a.label, b.label)) : block.groups;
  const folderCount = block.entryCount - block.fileCount + srcFolders.length;
  const layout = {
    srcToCompress: src, srcFolders, unzippedSize: block.unzippedSize + srcBytes, fileCount: block.fileCount + src.length, srcCount: src.length, groups,
  };
  checkLimits({ ...layout, entries: layout.fileCount + folderCount }, limits);
  return finish(options, manifestPath, started, limits, { layout, distributions: block.distributions, requirements, pip, first: block.prefix, block });
}

interface ZipPlan {
  layout: { srcToCompress: SourceFile[]; srcFolders: ZipEntry[]; unzippedSize: number; fileCount: number; srcCount: number; groups: { label: string; bytes: number }[] };
  distributions: ManifestDistribution[];
  requirements: Requirements | undefined;
  pip: () => Promise<string>;
  /** The deps part: to compress and copy from the wheels, or kept from an earlier build. */
  first: { toCompress: SourceFile[]; ready: ZipEntry[] } | ZipPrefix;
  /** The kept part in `first` (verified when copied). */
  block?: DepsBlock;
  /** Keeps the written deps part for the next build. */
  keep?: (zip: string, part: ZipWrittenParts['first']) => Promise<void>;
}

async function finish(options: PackageOptions, manifestPath: string, started: number, limits: typeof LAMBDA_LIMITS, plan: ZipPlan): Promise<PackageResult> {
  const { repository } = options;
  const { layout, requirements, pip } = plan;
  const unzipped = formatBytes(layout.unzippedSize);
  progress('package', `zipping ${count(layout.fileCount, 'file')} (${unzipped}): ${thousands(layout.srcCount)} from src/, ${thousands(layout.fileCount - layout.srcCount)} installed${plan.block ? ' (their zip part kept from the last build)' : ''}`);
  const manifest = await writePackage(options, manifestPath, plan, async (written) => { // 5
    await timed('await wheel hashes', () => requirements?.verified);
    if (requirements?.cacheHit && !requirements.pipConfirmed && requirements.pip !== (await pip())) throw new StalePipVersion(requirements.entryDir);
    return {
      file: path.basename(options.outFile), sha256: written.sha256, zipSize: written.size, unzippedSize: layout.unzippedSize, fileCount: layout.fileCount,
      runtime: repository.runtime, architecture: repository.architecture, distributions: plan.distributions,
    };
  });
  if (manifest.zipSize > limits.warnZippedBytes) {
    warn(`${displayPath(options.outFile)} is ${formatBytes(manifest.zipSize)}, over ${formatBytes(limits.warnZippedBytes)}: too large for direct upload to Lambda (deploy it from S3); largest: ${largest(layout.groups, formatBytes)}`);
  }
  progress('package', `${displayPath(options.outFile)}: ${formatBytes(manifest.zipSize)} zipped, ${unzipped} unzipped, ${count(layout.fileCount, 'file')}, ${count(plan.distributions.length, 'distribution')} (${formatDuration(performance.now() - started)})`);
  return { zipPath: options.outFile, manifestPath, manifest, cacheHit: requirements?.cacheHit ?? false };
}

function lambdaTarget(repository: RepositoryConfig): LambdaTarget {
  const runtime = RUNTIMES[repository.runtime];
  if (!runtime) throw new ConfigError(`${displayPath(repository.configFile)}: Runtime: ${repository.runtime} is not a Python runtime lambda-cd knows`);
  return { pythonVersion: runtime.pythonVersion, glibcMinor: runtime.glibcMinor, architecture: repository.architecture };
}

// ---------------------------------------------------------------------------------------
// 4. Lambda's limits
// ---------------------------------------------------------------------------------------

export function checkLimits(layout: { unzippedSize: number; entries: number; groups: { label: string; bytes: number }[] }, limits: typeof LAMBDA_LIMITS): void {
  if (layout.unzippedSize > limits.maxUnzippedBytes) {
    throw new CheckFailedError(`the function would be ${formatBytes(layout.unzippedSize)} unzipped, over Lambda's limit of ${formatBytes(limits.maxUnzippedBytes)} (function and layers together); largest: ${largest(layout.groups, formatBytes)}`);
  }
  const { entries } = layout;
  if (entries > MAX_ZIP_ENTRIES) {
    throw new CheckFailedError(`the function has ${thousands(entries)} files and folders, more than a zip without zip64 holds (${MAX_ZIP_ENTRIES}); largest: ${largest(layout.groups, formatBytes)}`);
  }
}

// ---------------------------------------------------------------------------------------
// 5. Write the zip and its manifest
// ---------------------------------------------------------------------------------------

/**
 * Compresses src/ and the generated dist-info files (in memory when few and small, else in
 * parallel), writes the zip (the deps part first: wheel members copied still deflated, or the
 * kept part copied whole, its hash checked on the way), runs the checks on the finished
 * temporary zip, and replaces the zip and manifest as a pair.
 */
/** What writePackage needs of a plan: the deps part (to compress and copy, or kept whole) and src/. */
export type ZipWritePlan = Pick<ZipPlan, 'first' | 'block' | 'keep'> & { layout: Pick<ZipPlan['layout'], 'srcToCompress' | 'srcFolders'> };

export async function writePackage(options: PackageOptions, manifestPath: string, plan: ZipWritePlan, describe: (written: { sha256: string; size: number }) => Promise<PackageManifest>): Promise<PackageManifest> {
  const work = path.join(path.dirname(options.outFile), temporaryName('work'));
  const release = removeOnInterrupt(work);
  try {
    const depsToCompress = 'toCompress' in plan.first ? plan.first.toCompress : [];
    const toCompress = [...depsToCompress, ...plan.layout.srcToCompress];
    // A few small files (a src-only rebuild) are deflated into memory: no blob files, no folder for them.
    if (!fitsInMemory(toCompress)) await mkdir(work, { recursive: true }).catch(() => undefined); // a folder in the way is reported by the zip's own write
    const compressed = await timed('compress', () => compressFiles(toCompress, path.join(work, 'blob'), { concurrency: Math.max(2, usableCpus()), inMemory: true }).catch((error: unknown) => {
      throw (error as NodeJS.ErrnoException).code === 'ENOSPC' ? new EnvironmentError(`${displayPath(path.dirname(options.outFile))}: no space left on the device`) : error;
    }));
    const first: ZipEntry[] | ZipPrefix = 'toCompress' in plan.first ? [...compressed.slice(0, depsToCompress.length), ...plan.first.ready] : plan.first;
    const entries: ZipEntry[] = [...compressed.slice(depsToCompress.length), ...plan.layout.srcFolders];
    let manifest: PackageManifest | undefined;
    await replaceOutputSet([
      {
        target: options.outFile,
        produce: async (zip) => {
          const written = await timed('write zip', () => writeZip(zip, entries, { first })).catch((error: unknown) => {
            // A kept part shorter than its record says (no system error: our own check) is a corrupt one;
            // one another run removed meanwhile is just gone.
            const { code, path: failed } = error as NodeJS.ErrnoException;
            if (plan.block && !code) throw new CorruptDepsBlock(plan.block);
            if (plan.block && code === 'ENOENT' && failed === plan.block.prefix.file) throw new BlockUnusable();
            throw error;
          });
          if (plan.block && !plan.block.verify(written.first.hash)) throw new CorruptDepsBlock(plan.block);
          manifest = await describe(written);
          // Checks on the finished zip, before it replaces anything: the handler must import from it
          // (a failure leaves no zip behind, nor an earlier one).
          await timed('import check', () => languageOf(options.repository).checkHandler({ zipFile: zip, repository: options.repository, python: options.python, enabled: options.importCheck !== false, cacheDir: options.cacheDir }));
          if (plan.keep) await timed('keep deps part', () => plan.keep!(zip, written.first));
        },
      },
      { target: manifestPath, produce: (file) => writeFile(file, `${JSON.stringify(manifest, null, 2)}\n`) },
    ]);
    return manifest!;
  } finally {
    release();
    await rm(work, { recursive: true, force: true });
  }
}
