/**
 * Names shared by the buildspecs, the pipeline template and `init`: the pipeline refers to
 * files and artifacts the buildspecs produce, so both read them from here.
 */
import { version } from '../lib/version.js';

/**
 * The image the pipeline's CodeBuild projects run by default (the template's ImageUri parameter),
 * as .github/workflows/release.yml pushes it (also to ghcr.io/lambda-cd/lambda-cd).
 */
export const PUBLISHED_IMAGE_REPOSITORY = 'public.ecr.aws/lambda-cd/lambda-cd';
export const GHCR_IMAGE_REPOSITORY = 'ghcr.io/lambda-cd/lambda-cd';
/**
 * Runtimes with an image variant `<version>-pythonX.Y` (a glibc base carrying that Python plus
 * Node.js, so unit tests run on the Runtime's Python with the manylinux wheels that ship); the
 * release workflow builds exactly these. `<version>` alone is the Alpine image.
 */
export const IMAGE_PYTHON_VARIANTS = ['python3.10', 'python3.11', 'python3.12', 'python3.13', 'python3.14'] as const;
export function defaultImageUri(runtime?: string): string {
  const variant = IMAGE_PYTHON_VARIANTS.find((name) => name === runtime);
  return `${PUBLISHED_IMAGE_REPOSITORY}:${version()}${variant ? `-${variant}` : ''}`;
}

/** The pipeline steps that run in CodeBuild, each with its buildspec. */
export const BUILD_STEPS = ['unittests', 'build', 'integrationtests'] as const;
export type BuildStep = (typeof BUILD_STEPS)[number];

export const BUILDSPEC_DIR = 'buildspecs';
export function buildspecFile(step: BuildStep): string {
  return `buildspec-${step}.yml`;
}

/** Output artifact of the Build action; the deploy actions read the templates from it. */
export const SOURCE_ARTIFACT = 'SourceOutput';
export const BUILD_ARTIFACT = 'BuildOutput';

/** Repository-relative files the build step leaves in its output artifact. */
export const STACK_TEMPLATE = (stage: string) => `dist/stack${stage}.json`;
export const CODE_LOCATION_FILE = 'dist/code-location.json';
export const PACKAGE_MANIFEST_FILE = 'dist/function.zip.manifest.json';

/** Where `publish` puts zips in the artifact bucket: <prefix><Name>/<sha256>.zip. */
export const PUBLISH_PREFIX = 'lambda-cd/';
/** Where CodeBuild keeps each project's cache in the artifact bucket. */
export const CACHE_PREFIX = 'lambda-cd-cache/';

/** Environment variables the pipeline sets on its CodeBuild actions (the runners' fallbacks). */
export const ENV = {
  stack: 'LAMBDA_CD_STACK',
  stage: 'LAMBDA_CD_STAGE',
  functionStack: 'LAMBDA_CD_FUNCTION_STACK',
  artifactBucket: 'LAMBDA_CD_ARTIFACT_BUCKET',
  stages: 'LAMBDA_CD_STAGES',
} as const;

/** Reports the runners write by default, relative to the repository. */
export const REPORTS_DIR = '.lambda-cd/reports';
export const CACHE_GLOB = '.lambda-cd/cache/**/*';
