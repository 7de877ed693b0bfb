/**
 * `lambda-cd package`'s resolve without starting Python, for the common case: plain
 * requirements and local wheel sources (DESIGN.md). Returns the wheels pip would install, in
 * pip's install order, or why pip must resolve instead (then it does, exactly as before).
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { sha256File } from '../../../lib/wheel-store.js';
import { mapLimited } from '../../../lib/map-limited.js';
import type { PipOptions } from '../../../lib/python.js';
import { readRequirementInputs, type RequirementInputs } from '../../../lib/requirement-inputs.js';
import { lambdaMarkers } from '../../../lib/lambda-resolve.js';
import type { LambdaTarget } from '../../../lib/wheel-tags.js';
import { effectiveOptions } from './options.js';
import type { SpecifierSet } from './pep440.js';
import { resolveGreedy, wantedFrom, type Wanted } from './resolve.js';
import { candidatesFor, diskReader, type Offer, type SourceReader } from './sources.js';
import { tagRanks } from './tags.js';

export interface LocalResolveRequest {
  requirementsFile: string;
  inputs: RequirementInputs;
  target: LambdaTarget;
  pip: PipOptions;
  python?: string;
  env?: NodeJS.ProcessEnv;
  reader?: SourceReader;
  /** The sha256 of a local file already known (an earlier resolve hashed it and it has the same size and mtime). */
  knownSha256?: (file: string, size: number, mtimeMs: number) => string | undefined;
}

export interface LocalWheel {
  name: string;
  version: string;
  file: string;
  sha256: string;
  /** The index gave this sha256: the copy must match it. */
  sha256FromIndex: boolean;
  requested: boolean;
}

export type LocalResolution = { wheels: LocalWheel[] } | { fallback: string };

/** The marker values pip gets for the target (lib/lambda-resolve.ts), without those the host can decide. */
export function targetEnvironment(target: LambdaTarget): Record<string, string> {
  const { python_full_version: _full, implementation_version: _implementation, ...known } = lambdaMarkers(target);
  return known;
}

export async function resolveWithoutPip(request: LocalResolveRequest): Promise<LocalResolution> {
  const env = request.env ?? process.env;
  if ((env.LAMBDA_CD_RESOLVER ?? '') === 'pip') return { fallback: 'LAMBDA_CD_RESOLVER=pip' };
  const { inputs } = request;
  if (inputs.vcs.length > 0 || inputs.localPaths.length > 0) return { fallback: 'a local path or VCS requirement (pip builds or reads it)' };
  const cwd = path.dirname(request.requirementsFile);
  const options = effectiveOptions({ inputs, pip: request.pip, cwd, env, python: request.python });
  if ('decline' in options) return { fallback: options.decline };
  const environment = targetEnvironment(request.target);
  const requirements: Wanted[] = [];
  for (const line of inputs.requirements) {
    const wanted = wantedFrom(line.text, environment);
    if (wanted === 'skip') continue;
    if ('decline' in wanted) return { fallback: `${path.basename(line.file)} line ${line.line}: ${wanted.decline}` };
    requirements.push(wanted);
  }
  const constraintLines = [...inputs.constraints];
  for (const file of options.constraintFiles) {
    let included: RequirementInputs;
    try {
      included = readRequirementInputs(file, { cwd, findLinksContent: false });
    } catch {
      return { fallback: `the constraint file ${path.basename(file)} (pip reports what is wrong with it)` };
    }
    if (included.optionLines.length > 0 || included.localPaths.length > 0 || included.vcs.length > 0) return { fallback: `the constraint file ${path.basename(file)} sets more than versions` };
    constraintLines.push(...included.requirements, ...included.constraints);
  }
  const constraints = new Map<string, SpecifierSet[]>();
  for (const line of constraintLines) {
    const wanted = wantedFrom(line.text, environment);
    if (wanted === 'skip') continue;
    if ('decline' in wanted || wanted.extras.length > 0) return { fallback: `constraint ${path.basename(line.file)} line ${line.line}: ${'decline' in wanted ? wanted.decline : 'extras'}` };
    constraints.set(wanted.key, [...(constraints.get(wanted.key) ?? []), wanted.specifier]);
  }
  const listings = new Map<string, string[] | undefined>();
  const given = request.reader ?? diskReader;
  // Each find-links folder is listed once per resolve, whatever the number of projects.
  const reader: SourceReader = { ...given, listFolder: (folder) => (listings.has(folder) ? listings.get(folder) : listings.set(folder, given.listFolder(folder)).get(folder)) };
  const ranks = tagRanks(request.target);
  const offers = new Map<string, Offer>();
  const resolution = await resolveGreedy({
    requirements, constraints, environment, pythonVersion: request.target.pythonVersion,
    offer: (key) => offers.get(key) ?? offers.set(key, candidatesFor(key, options.sources, ranks, request.target.pythonVersion, reader)).get(key)!,
    metadata: (candidate) => reader.wheelMetadata(candidate.file),
  });
  if ('decline' in resolution) return { fallback: resolution.decline };
  // The file's own hash, never the index page's word alone: a wheel the cache already holds under
  // the page's #sha256 would otherwise ship in place of the file whose METADATA was read. A page
  // that disagrees with its file is pip's to report (it checks link hashes).
  const wheels = await mapLimited(resolution.wheels, 4, async (pick): Promise<LocalWheel> => ({
    name: pick.name, version: pick.version, file: pick.candidate.file, requested: pick.requested,
    sha256: (await knownHash(pick.candidate.file, request.knownSha256)) ?? (await sha256File(pick.candidate.file)), sha256FromIndex: pick.candidate.sha256 !== undefined,
  }));
  const mismatch = resolution.wheels.find((pick, index) => pick.candidate.sha256 !== undefined && pick.candidate.sha256 !== wheels[index]!.sha256);
  if (mismatch) return { fallback: `the index's #sha256 for ${mismatch.candidate.filename} is not the file's` };
  return { wheels };
}

async function knownHash(file: string, known: LocalResolveRequest['knownSha256']): Promise<string | undefined> {
  if (!known) return undefined;
  const info = await stat(file).catch(() => undefined);
  return info ? known(file, info.size, info.mtimeMs) : undefined;
}
