/**
 * Podman for the container tests: builds the image from the repository's Dockerfile over a
 * local Debian base (docker/build-test-base.sh), since no registry or Alpine archive is reachable.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { execa, type Options } from 'execa';
import { PROJECT_ROOT } from './cli.js';

const ENV = { CONTAINERS_CONF: path.resolve(process.env.CONTAINERS_CONF ?? path.join(PROJECT_ROOT, 'docker/podman-test.conf')) };

export interface PodmanResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export async function podman(args: string[], options: Options = {}): Promise<PodmanResult> {
  const result = await execa('podman', args, { reject: false, timeout: 300_000, ...options, env: { ...ENV, ...options.env } });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** Why podman cannot run here, or undefined when it can. */
export async function podmanUnavailable(): Promise<string | undefined> {
  const info = await podman(['info', '--format', '{{.Host.OCIRuntime.Name}}']).catch((error: Error) => ({ exitCode: -1, stdout: '', stderr: error.message }));
  if (info.exitCode === 0) return undefined;
  const firstLine = info.stderr.split('\n').find((line) => line.trim()) ?? `exit ${info.exitCode}`;
  return `podman cannot run (${firstLine.trim()}); .ci/run installs it: apt-get install -y podman buildah runc debootstrap`;
}

export interface TestImage {
  image: string;
  runtimeBase: string;
  buildBase: string;
  /** The local base's Python (major.minor): the image is built as that Python variant (PYTHON_VERSION). */
  pythonVersion: string;
}

/** The podman build flags every test build uses: this machine's CA bundle and npm cache for the build stage. */
async function buildFlags(): Promise<string[]> {
  const npmCache = (await execa('npm', ['config', 'get', 'cache'])).stdout.trim();
  return ['--network', 'host', '-v', '/etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro', '-v', `${npmCache}:/var/cache/npm`];
}

/**
 * A build of the Dockerfile that is expected to stop early (a base that is not there, a variant
 * check), with the local build base so that the (cached) build stage passes: podman's result.
 */
export async function tryBuild(buildBase: string, buildArgs: Record<string, string>): Promise<PodmanResult> {
  const args = Object.entries({ BUILD_BASE: buildBase, ...buildArgs }).flatMap(([name, value]) => ['--build-arg', `${name}=${value}`]);
  return podman(['build', '--pull=never', ...(await buildFlags()), ...args, PROJECT_ROOT], { timeout: 600_000 });
}

/** Throws with podman's output when a command fails. */
async function checked(args: string[], options: Options = {}): Promise<string> {
  const result = await podman(args, options);
  if (result.exitCode !== 0) throw new Error(`podman ${args.slice(0, 2).join(' ')} failed (exit ${result.exitCode}):\n${result.stderr.slice(-4000)}`);
  return result.stdout.trim();
}

/**
 * Builds the image from the Dockerfile as users do, with only the bases swapped: the build stage's
 * npm uses this machine's CA bundle and npm cache, so it downloads nothing that `npm ci` fetched.
 */
export async function buildTestImage(tag: string): Promise<TestImage> {
  const bases = await execa(path.join(PROJECT_ROOT, 'docker/build-test-base.sh'), { env: ENV, timeout: 600_000 });
  const [runtimeBase, buildBase] = bases.stdout.trim().split('\n');
  const { version } = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
  const revision = (await execa('git', ['rev-parse', 'HEAD'], { cwd: PROJECT_ROOT, reject: false })).stdout || 'unknown';
  const previous = (await podman(['image', 'inspect', '--format', '{{.Id}}', tag])).stdout.trim();
  const pythonVersion = (await checked(['run', '--rm', '--network', 'none', '--entrypoint', 'python3', runtimeBase!, '-c', 'import sys; print("%d.%d" % sys.version_info[:2])'])).trim();
  await checked([
    'build', '--quiet', ...(await buildFlags()),
    '--build-arg', `RUNTIME_BASE=${runtimeBase}`,
    '--build-arg', `PYTHON_VERSION=${pythonVersion}`,
    '--build-arg', `BUILD_BASE=${buildBase}`,
    '--build-arg', 'SYSTEM_PACKAGES=',
    '--build-arg', `VERSION=${version}`,
    '--build-arg', `REVISION=${revision}`,
    '--build-arg', 'SOURCE=https://example.test/lambda-cd',
    '-t', tag, PROJECT_ROOT,
  ], { timeout: 600_000 });
  // The image this build replaced would otherwise stay behind untagged, one per run.
  const current = await checked(['image', 'inspect', '--format', '{{.Id}}', tag]);
  if (previous && previous !== current) await podman(['rmi', previous]);
  return { image: tag, runtimeBase: runtimeBase!, buildBase: buildBase!, pythonVersion };
}

/** The image's size in bytes as podman counts it (uncompressed layers). */
export async function imageSize(image: string): Promise<number> {
  return Number(await checked(['image', 'inspect', '--format', '{{.Size}}', image]));
}
