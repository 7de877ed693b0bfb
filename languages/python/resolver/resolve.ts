/**
 * The common case of pip's resolve, without pip: greedy, in pip's pin order, each project gets the
 * newest candidate (lib sources.ts ranks them) that every specifier seen so far allows, its
 * METADATA read from the wheel, its Requires-Dist expanded for the target's markers and the
 * extras asked for. Wherever pip's backtracking resolver could answer differently (a later
 * specifier excludes a version already chosen, no candidate, a dependency cycle, a pre-release or
 * yanked file in play, a marker on a variable the host decides) it declines, and pip resolves.
 * The result is in pip's install order (Resolver.get_installation_order).
 */
import { normalizeProjectName } from '../../../lib/wheel-tags.js';
import { parseCoreMetadata } from './metadata.js';
import { compareVersions, isPrerelease, isValidVersion, parseSpecifierSet, type SpecifierSet } from './pep440.js';
import { evaluateMarker, markerVariables, parseRequirement } from './pep508.js';
import type { Candidate, Offer } from './sources.js';

/** Marker variables whose target value is known without Python (lib/lambda-resolve.ts gives pip the same). */
const KNOWN_MARKERS = new Set(['python_version', 'implementation_name', 'platform_python_implementation', 'platform_machine', 'sys_platform', 'platform_system', 'os_name', 'extra']);

/**
 * pip gets the host's python_full_version and implementation_version when the host's minor
 * version is the target's (else X.Y.0): a marker on them is judged here only when its answer is
 * the same for every patch release, tried from .0 to .40 and .999 (literals beyond .40 decline).
 */
const FULL_VERSION_MARKERS = new Set(['python_full_version', 'implementation_version']);

function hostPatchReleases(markerText: string): number[] | undefined {
  if ([...markerText.matchAll(/\d+\.\d+\.(\d+)/g)].some((match) => Number(match[1]) > 40)) return undefined;
  return [...Array.from({ length: 41 }, (_, patch) => patch), 999];
}

function fullVersion(environment: Record<string, string>, patch: number | undefined): Record<string, string> {
  if (patch === undefined) return {};
  const version = `${environment.python_version}.${patch}`;
  return { python_full_version: version, implementation_version: version };
}

export interface Wanted {
  key: string;
  extras: string[];
  specifier: SpecifierSet;
}

export interface ResolveInput {
  /** The user's requirements whose markers hold. */
  requirements: Wanted[];
  /** Constraint specifiers by project key. */
  constraints: Map<string, SpecifierSet[]>;
  /** Marker values of the target (no `extra`). */
  environment: Record<string, string>;
  /** "3.12" */
  pythonVersion: string;
  offer(key: string): Offer;
  /** The wheel's dist-info folders and METADATA text. */
  metadata(candidate: Candidate): Promise<{ distInfo: string[]; metadata?: string } | undefined>;
}

export interface Picked {
  key: string;
  /** As METADATA spells them. */
  name: string;
  version: string;
  candidate: Candidate;
  requested: boolean;
}

export type Resolution = { wheels: Picked[] } | { decline: string };

interface Chosen extends Picked {
  requiresDist: string[];
  providesExtra: string[];
  /** METADATA gives a Requires-Python: pip adds an edge to its Python vertex. */
  requiresPython: boolean;
}

/** pip's REQUIRES_PYTHON_IDENTIFIER: a vertex of its result graph, so it shapes the install order. */
const PYTHON_VERTEX = '<Python from Requires-Python>';

interface Node {
  key: string;
  extras: string[];
  children: Set<string>;
}

class Decline extends Error {}

/** pip 23 compares extras as written, later pips normalized (PEP 685): only spellings all agree on. */
const SIMPLE_EXTRA = /^[a-z0-9]+$/;

function identifier(key: string, extras: string[]): string {
  return extras.length === 0 ? key : `${key}[${[...extras].sort().join(',')}]`;
}

/** A requirement line as a Wanted, or a decline (a URL, an unreadable line, a marker we cannot judge). */
export function wantedFrom(text: string, environment: Record<string, string>, extras: string[] = ['']): Wanted | 'skip' | { decline: string } {
  const requirement = parseRequirement(text);
  if (!requirement) return { decline: `a requirement pip may read otherwise (${text.slice(0, 80)})` };
  if (requirement.url !== undefined) return { decline: `a direct reference (${requirement.name} @ ...)` };
  if (requirement.marker !== undefined) {
    const variables = [...markerVariables(requirement.marker)];
    const unknown = variables.find((variable) => !KNOWN_MARKERS.has(variable) && !FULL_VERSION_MARKERS.has(variable));
    if (unknown) return { decline: `a marker on ${unknown}, which pip judges for the build host` };
    const patches = variables.some((variable) => FULL_VERSION_MARKERS.has(variable)) ? hostPatchReleases(requirement.marker.text) : [undefined];
    if (!patches) return { decline: `a marker on python_full_version pip judges for the build host's patch release (${text.slice(0, 80)})` };
    // Per patch release: does the marker hold for any of the extras asked?
    const holds = patches.map((patch) => {
      const results = extras.map((extra) => evaluateMarker(requirement.marker!, { ...environment, extra, ...fullVersion(environment, patch) }));
      return results.some((result) => result === undefined) ? undefined : results.some(Boolean);
    });
    if (holds.some((result) => result === undefined)) return { decline: `a marker pip may judge otherwise (${text.slice(0, 80)})` };
    if (new Set(holds).size > 1) return { decline: `a marker whose answer depends on the build host's Python patch release (${text.slice(0, 80)})` };
    if (!holds[0]) return 'skip';
  }
  // After the marker: a requirement that does not apply (`; extra == "crt"`) need not be read further.
  const specifier = typeof requirement.specifier === 'string' ? readSpecifier(requirement.specifier) : requirement.specifier;
  if (!specifier) return { decline: `a version specifier pip versions read differently or not at all (${text.slice(0, 80)})` };
  const requested = [...requirement.extras].map((extra) => extra.toLowerCase());
  const odd = requested.find((extra) => !SIMPLE_EXTRA.test(extra));
  if (odd !== undefined) return { decline: `an extra whose spelling pip versions compare differently ([${odd}])` };
  return { key: normalizeProjectName(requirement.name), extras: [...new Set(requested)].sort(), specifier };
}

/**
 * A specifier set, with `<V` for a pre-release V (`botocore<2.0a.0`, common in AWS's packages)
 * read as `<=V,!=V`: the same versions whatever the packaging generation, only its default
 * admission of pre-releases differs (21.3 no, 26 yes), which this resolver never relies on (it
 * treats the set as naming a pre-release, and declines if one would be chosen).
 */
function readSpecifier(text: string): SpecifierSet | undefined {
  const direct = parseSpecifierSet(text);
  if (direct) return direct;
  const parts = text.split(',').map((part) => part.trim()).filter((part) => part !== '');
  const rewritten = parts.flatMap((part) => {
    const less = /^<\s*([^=<>!~\s]+)$/.exec(part);
    return less && isValidVersion(less[1]!) && isPrerelease(less[1]!) ? [`<=${less[1]}`, `!=${less[1]}`] : [part];
  });
  return rewritten.length === parts.length ? undefined : parseSpecifierSet(rewritten.join(','));
}

/** pip 23's safe_extra, which it applies to Provides-Extra. */
function safeExtra(extra: string): string {
  return extra.replace(/[^A-Za-z0-9.-]+/g, '_').toLowerCase();
}

export async function resolveGreedy(input: ResolveInput): Promise<Resolution> {
  try {
    return { wheels: await resolve(input) };
  } catch (error) {
    if (error instanceof Decline) return { decline: error.message };
    throw error;
  }
}

async function resolve(input: ResolveInput): Promise<Picked[]> {
  const specs = new Map<string, SpecifierSet[]>();
  const nodes = new Map<string, Node>();
  const chosen = new Map<string, Chosen>();
  const rootChildren = new Set<string>();
  const queue: string[] = [];
  const requested = new Set(input.requirements.map((wanted) => wanted.key));
  // What pip's provider.get_preference reads: requirements on each identifier and their parents.
  const information = new Map<string, { parents: (string | null)[]; pinned: boolean; unfree: boolean; direct: boolean }>();
  const depths = new Map<string | null, number>([[null, 0]]);
  const requestedOrder = new Map<string, number>();
  input.requirements.forEach((wanted, index) => {
    const id = identifier(wanted.key, wanted.extras);
    if (!requestedOrder.has(id)) requestedOrder.set(id, index);
  });
  const inform = (id: string, parent: Node | undefined, specifier: SpecifierSet | undefined) => {
    const info = information.get(id) ?? { parents: [], pinned: false, unfree: false, direct: false };
    info.parents.push(parent ? identifier(parent.key, parent.extras) : null);
    if (specifier) {
      info.pinned ||= specifier.specifiers.some((one) => one.operator.startsWith('=='));
      info.unfree ||= specifier.specifiers.length > 0;
    } else {
      info.direct = true; // an extras candidate's requirement on its exact base
    }
    information.set(id, info);
  };
  /** The queued identifier pip pins next, and its depth (provider.get_preference without backtracking). */
  const next = (): string => {
    let best: { id: string; key: (number | string)[]; depth: number } | undefined;
    for (const id of queue) {
      const info = information.get(id)!;
      const order = requestedOrder.get(id);
      const depth = order !== undefined ? 1 : Math.min(...info.parents.map((parent) => depths.get(parent) ?? Infinity)) + 1;
      const key = [info.direct ? 0 : 1, info.pinned ? 0 : 1, depth, order ?? Infinity, info.unfree ? 0 : 1, id];
      if (!best || compareKeys(key, best.key) < 0) best = { id, key, depth };
    }
    queue.splice(queue.indexOf(best!.id), 1);
    depths.set(best!.id, best!.depth);
    return best!.id;
  };

  const require = (parent: Node | undefined, wanted: Wanted) => {
    const id = identifier(wanted.key, wanted.extras);
    inform(id, parent, wanted.specifier);
    specs.set(wanted.key, [...(specs.get(wanted.key) ?? []), wanted.specifier]);
    const pinned = chosen.get(wanted.key);
    if (pinned && !allows(wanted.specifier, pinned.version)) {
      throw new Decline(`${wanted.key} ${pinned.version} was chosen before a requirement (${wanted.specifier.text}) excluded it: pip backtracks`);
    }
    if (!nodes.has(id)) {
      nodes.set(id, { key: wanted.key, extras: wanted.extras, children: new Set() });
      queue.push(id);
    }
    (parent ? parent.children : rootChildren).add(id);
  };

  for (const wanted of input.requirements) require(undefined, wanted);
  while (queue.length > 0) {
    // In pip's order, not breadth-first: which specifiers are known when a project is chosen decides its version.
    const node = nodes.get(next())!;
    const pick = chosen.get(node.key) ?? (await choose(node.key, input, [...(specs.get(node.key) ?? []), ...(input.constraints.get(node.key) ?? [])], requested));
    chosen.set(node.key, pick);
    let contexts = [''];
    if (node.extras.length > 0) {
      const base = identifier(node.key, []);
      if (!nodes.has(base)) {
        nodes.set(base, { key: node.key, extras: [], children: new Set() });
        queue.push(base);
      }
      node.children.add(base);
      inform(base, node, undefined);
      const provided = new Set(pick.providesExtra.map(safeExtra));
      const valid = node.extras.filter((extra) => provided.has(extra));
      if (valid.length > 0) contexts = valid; // an extra the wheel lacks: pip warns and goes on without it
    }
    // pip's base candidate (not an extras one) depends on the Python vertex when METADATA has a Requires-Python.
    if (node.extras.length === 0 && pick.requiresPython) node.children.add(PYTHON_VERTEX);
    for (const line of pick.requiresDist) {
      const wanted = wantedFrom(line, input.environment, contexts);
      if (wanted === 'skip') continue;
      if ('decline' in wanted) throw new Decline(`${pick.name} ${pick.version}: ${wanted.decline}`);
      require(node, wanted);
    }
  }
  for (const [key, pick] of chosen) {
    const against = [...(specs.get(key) ?? []), ...(input.constraints.get(key) ?? [])];
    if (!against.every((specifier) => allows(specifier, pick.version))) throw new Decline(`${key} ${pick.version} does not satisfy every requirement on it`);
  }
  const graph = new Map<string | null, Set<string>>([[null, rootChildren], ...[...nodes].map(([id, node]) => [id, node.children] as [string, Set<string>])]);
  if ([...chosen.values()].some((pick) => pick.requiresPython)) graph.set(PYTHON_VERTEX, new Set());
  if (hasCycle(graph)) throw new Decline('a dependency cycle (pip breaks it at a point of its own)');
  const weights = topologicalWeights(graph, new Set(chosen.keys()));
  return [...chosen.values()].sort((a, b) => weights.get(b.key)! - weights.get(a.key)! || (a.key < b.key ? 1 : a.key > b.key ? -1 : 0));
}

/** The newest version the specifiers allow, its best file, with METADATA that agrees and a Requires-Python that admits the target. */
async function choose(key: string, input: ResolveInput, specifiers: SpecifierSet[], requested: Set<string>): Promise<Chosen> {
  const offer = input.offer(key);
  if ('decline' in offer) throw new Decline(offer.decline);
  const applicable = offer.candidates.filter((candidate) => specifiers.every((specifier) => allows(specifier, candidate.version)));
  if (applicable.length === 0) throw new Decline(`no local wheel of ${key} fits (pip says why)`);
  const kept = applicable.filter((candidate) => !candidate.yanked);
  if (kept.length === 0) throw new Decline(`only yanked files of ${key} fit`);
  const finals = kept.filter((candidate) => !isPrerelease(candidate.version));
  if (finals.length === 0) throw new Decline(`only pre-releases of ${key} fit`);
  const pool = specifiers.some((specifier) => specifier.mentionsPrerelease) ? kept : finals;
  pool.sort((a, b) => compareVersions(b.version, a.version) || a.tagRank - b.tagRank || compareBuild(b.build, a.build));
  const best: Candidate[] = [];
  for (const candidate of pool) if (best.length === 0 || compareVersions(best[best.length - 1]!.version, candidate.version) !== 0) best.push(candidate);
  for (const candidate of best) {
    if (isPrerelease(candidate.version)) throw new Decline(`a pre-release of ${key} would be chosen`);
    const read = await input.metadata(candidate);
    if (!read || read.distInfo.length !== 1 || !normalizeProjectName(read.distInfo[0]!).startsWith(key) || read.metadata === undefined) {
      throw new Decline(`${candidate.filename}: no single readable .dist-info/METADATA (pip reports it)`);
    }
    const metadata = parseCoreMetadata(read.metadata);
    if (!metadata) throw new Decline(`${candidate.filename}: METADATA pip may read otherwise`);
    if (normalizeProjectName(metadata.name) !== key || compareVersions(metadata.version, candidate.version) !== 0) {
      throw new Decline(`${candidate.filename}: its METADATA names ${metadata.name} ${metadata.version} (pip reports the mismatch)`);
    }
    if (metadata.requiresPython !== undefined) {
      const allowed = parseSpecifierSet(metadata.requiresPython);
      if (!allowed) throw new Decline(`${candidate.filename}: an unreadable Requires-Python`);
      if (!allows(allowed, `${input.pythonVersion}.0`)) continue;
    }
    return {
      key, name: metadata.name, version: metadata.version, candidate, requested: requested.has(key),
      requiresDist: metadata.requiresDist, providesExtra: metadata.providesExtra, requiresPython: (parseSpecifierSet(metadata.requiresPython ?? '')?.specifiers.length ?? 0) > 0,
    };
  }
  throw new Decline(`no wheel of ${key} admits Python ${input.pythonVersion} (pip says why)`);
}

function compareKeys(a: (number | string)[], b: (number | string)[]): number {
  for (let index = 0; index < a.length; index++) {
    if (a[index]! < b[index]!) return -1;
    if (a[index]! > b[index]!) return 1;
  }
  return 0;
}

/** specifier.contains(version, prereleases=True), as pip's resolver asks it; where pip's packaging versions disagree, pip decides. */
function allows(specifier: SpecifierSet, version: string): boolean {
  const answer = specifier.decide(version, { prereleases: true });
  if (answer === undefined) throw new Decline(`${version} against ${specifier.text}: pip versions differ on it`);
  return answer;
}

/** pip compares build tags as (number, rest); a file without one sorts first. */
function compareBuild(a: [number, string] | undefined, b: [number, string] | undefined): number {
  if (!a || !b) return (a ? 1 : 0) - (b ? 1 : 0);
  return a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0);
}

function hasCycle(graph: Map<string | null, Set<string>>): boolean {
  const state = new Map<string | null, 'open' | 'done'>();
  const visit = (node: string | null): boolean => {
    if (state.get(node) === 'done') return false;
    if (state.get(node) === 'open') return true;
    state.set(node, 'open');
    for (const child of graph.get(node) ?? []) if (visit(child)) return true;
    state.set(node, 'done');
    return false;
  };
  return visit(null);
}

/**
 * pip's get_topological_weights: leaves pruned round by round (weight = nodes left - 1), then the
 * longest path from the root for what remains. Only project keys get weights.
 */
export function topologicalWeights(input: Map<string | null, Set<string>>, keys: Set<string>): Map<string, number> {
  const graph = new Map([...input].map(([node, children]) => [node, new Set(children)]));
  const weights = new Map<string, number>();
  for (;;) {
    const leaves = [...graph.keys()].filter((node): node is string => node !== null && graph.get(node)!.size === 0);
    if (leaves.length === 0) break;
    const weight = graph.size - 1;
    for (const leaf of leaves) if (keys.has(leaf)) weights.set(leaf, weight);
    for (const leaf of leaves) graph.delete(leaf);
    for (const children of graph.values()) for (const leaf of leaves) children.delete(leaf);
  }
  const path = new Set<string | null>();
  const visit = (node: string | null) => {
    if (path.has(node)) return;
    path.add(node);
    for (const child of graph.get(node) ?? []) visit(child);
    path.delete(node);
    if (node === null || !keys.has(node)) return;
    weights.set(node, Math.max(weights.get(node) ?? 0, path.size));
  };
  visit(null);
  return weights;
}
