/**
 * Wheel tags (PEP 425/427/600) judged against a Lambda target: which wheels Lambda can
 * load, and in words why a wheel cannot be used. pip picks the wheel (we give it the
 * platform list); this module tells the user why nothing fitted, and re-checks what pip
 * installed.
 */
import { wheelMachine, type Architecture } from './runtimes.js';

export interface LambdaTarget {
  /** "3.12" */
  pythonVersion: string;
  glibcMinor: number;
  architecture: Architecture;
}

export interface WheelTag {
  python: string;
  abi: string;
  platform: string;
}

export interface WheelFilename {
  /** Normalized project name (PEP 503). */
  name: string;
  version: string;
  tags: WheelTag[];
}

/** Legacy manylinux names and the glibc minor each stands for. */
const LEGACY_MANYLINUX: Record<string, number> = { manylinux1: 5, manylinux2010: 12, manylinux2014: 17 };
/** The oldest glibc that manylinux wheels for each machine were ever built against. */
const OLDEST_GLIBC: Record<string, number> = { x86_64: 5, aarch64: 17 };

export function normalizeProjectName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** Expands a compressed tag set (`cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64`). */
export function expandTags(tagSet: string): WheelTag[] {
  const [pythons, abis, platforms] = tagSet.split('-');
  if (!pythons || !abis || !platforms) return [];
  return pythons.split('.').flatMap((python) => abis.split('.').flatMap((abi) => platforms.split('.').map((platform) => ({ python, abi, platform }))));
}

/** `name-version(-build)?-python-abi-platform.whl`, or undefined when it is not a wheel file name. */
export function parseWheelFilename(filename: string): WheelFilename | undefined {
  const match = /^([^-]+)-([^-]+)(?:-\d[^-]*)?-([^-]+-[^-]+-[^-]+)\.whl$/.exec(filename);
  if (!match) return undefined;
  return { name: normalizeProjectName(match[1]!), version: match[2]!, tags: expandTags(match[3]!) };
}

/** The `--platform` values for pip: every manylinux tag Lambda's glibc and CPU accept, newest first. */
export function lambdaPlatformTags(target: LambdaTarget): string[] {
  const machine = wheelMachine(target.architecture);
  const tags: string[] = [];
  for (let minor = target.glibcMinor; minor >= OLDEST_GLIBC[machine]!; minor--) tags.push(`manylinux_2_${minor}_${machine}`);
  for (const [legacy, minor] of Object.entries(LEGACY_MANYLINUX).reverse()) {
    if (minor <= target.glibcMinor && minor >= OLDEST_GLIBC[machine]!) tags.push(`${legacy}_${machine}`);
  }
  return tags;
}

export function cpythonTag(pythonVersion: string): string {
  return `cp${pythonVersion.replace('.', '')}`;
}

/** Why one tag does not load on the target, as a short category; undefined when it does. */
export type Mismatch =
  | { kind: 'python'; detail: string }
  | { kind: 'host-only'; detail: string }
  | { kind: 'other-os'; detail: string }
  | { kind: 'architecture'; detail: string }
  | { kind: 'glibc'; detail: string; glibcMinor: number };

function pythonMismatch(tag: WheelTag, target: LambdaTarget): Mismatch | undefined {
  const [major, minor] = target.pythonVersion.split('.').map(Number) as [number, number];
  const interpreter = cpythonTag(target.pythonVersion);
  const { python, abi } = tag;
  const pythonOk =
    python === interpreter || python === `py${major}` || python === `py${major}${minor}` ||
    (/^(py|cp)\d+$/.test(python) && abi !== interpreter && (abi === 'abi3' || abi === 'none') && versionAtMost(python, major, minor));
  const abiOk = abi === 'none' || abi === 'abi3' || abi === interpreter;
  if (pythonOk && abiOk) return undefined;
  return { kind: 'python', detail: `${python}-${abi}` };
}

/** `cp38` with abi3 loads on 3.12; `py37` with none does too. */
function versionAtMost(python: string, major: number, minor: number): boolean {
  const digits = python.replace(/^(py|cp)/, '');
  if (Number(digits[0]) !== major) return false;
  const tagMinor = digits.length > 1 ? Number(digits.slice(1)) : 0;
  return tagMinor <= minor;
}

function platformMismatch(platform: string, target: LambdaTarget): Mismatch | undefined {
  if (platform === 'any') return undefined;
  const machine = wheelMachine(target.architecture);
  if (/^(linux|musllinux)_/.test(platform)) return { kind: 'host-only', detail: platform };
  const modern = /^manylinux_(\d+)_(\d+)_(.+)$/.exec(platform);
  const legacy = /^(manylinux1|manylinux2010|manylinux2014)_(.+)$/.exec(platform);
  if (!modern && !legacy) return { kind: 'other-os', detail: platform };
  const wheelMachineName = modern ? modern[3]! : legacy![2]!;
  if (wheelMachineName !== machine) return { kind: 'architecture', detail: wheelMachineName };
  const glibcMinor = modern ? (Number(modern[1]) === 2 ? Number(modern[2]) : Infinity) : LEGACY_MANYLINUX[legacy![1]!]!;
  if (glibcMinor > target.glibcMinor) return { kind: 'glibc', detail: platform, glibcMinor };
  return undefined;
}

/** Why this tag cannot load on the target; undefined when it can. */
export function tagMismatch(tag: WheelTag, target: LambdaTarget): Mismatch | undefined {
  return platformMismatch(tag.platform, target) ?? pythonMismatch(tag, target);
}

export function tagsCompatible(tags: WheelTag[], target: LambdaTarget): boolean {
  return tags.some((tag) => tagMismatch(tag, target) === undefined);
}

export function formatTags(tags: WheelTag[]): string {
  const unique = (values: string[]) => [...new Set(values)].join('.');
  return `${unique(tags.map((t) => t.python))}-${unique(tags.map((t) => t.abi))}-${unique(tags.map((t) => t.platform))}`;
}

/**
 * One sentence saying why none of `files` (the wheel and sdist file names an index offers
 * for one project) can be used on the target. The most useful reason comes first.
 */
export function explainNoCompatibleWheel(files: string[], target: LambdaTarget, runtime: string): string {
  const wheels = files.map(parseWheelFilename).filter((w): w is WheelFilename => w !== undefined);
  const sdists = files.filter((f) => /\.(tar\.gz|zip|tar\.bz2|tgz)$/.test(f));
  const machine = wheelMachine(target.architecture);
  const reasons: string[] = [];
  const mismatches = wheels.flatMap((w) => w.tags.map((t) => tagMismatch(t, target))).filter((m): m is Mismatch => m !== undefined);
  const of = (kind: Mismatch['kind']) => mismatches.filter((m) => m.kind === kind);
  const list = (values: string[]) => [...new Set(values)].sort().join(', ');
  if (of('glibc').length > 0) {
    const oldest = Math.min(...of('glibc').map((m) => (m as { glibcMinor: number }).glibcMinor));
    reasons.push(`its ${machine} wheels need glibc 2.${oldest} or newer, but ${runtime} runs on glibc 2.${target.glibcMinor}`);
  }
  if (of('architecture').length > 0) {
    reasons.push(`no wheel for ${target.architecture} (${machine}); wheels exist only for ${list(of('architecture').map((m) => m.detail))}`);
  }
  if (of('python').length > 0) reasons.push(`no wheel for CPython ${target.pythonVersion}; wheels exist for ${list(of('python').map((m) => m.detail))}`);
  if (of('host-only').length > 0) reasons.push(`only ${list(of('host-only').map((m) => m.detail))} wheels, which Lambda cannot load (not manylinux)`);
  if (of('other-os').length > 0 && reasons.length === 0) reasons.push(`only wheels for other systems (${list(of('other-os').map((m) => m.detail))})`);
  if (sdists.length > 0) reasons.push(wheels.length === 0 ? 'only a source distribution (sdist) is offered, no wheel' : 'besides these only a source distribution (sdist)');
  if (reasons.length === 0) return 'the configured index and find-links offer no file for it';
  return reasons.join('; ');
}
