import { REPOSITORY_OPTIONS } from '../args.js';
import type { CommandSpec } from '../command.js';
import { UsageError } from '../../lib/errors.js';
import { openRepository, outputPath } from '../repository.js';
import { CACHE_DIR_OPTION, FIND_LINKS_OPTION, INDEX_URL_OPTION, PYTHON_OPTION, cacheDir, pipOptions, pythonOption } from './shared-options.js';

export const command: CommandSpec = {
  name: 'package',
  summary: "Build the deployment zip: requirements.txt as installed for Lambda's platform, plus src/.",
  reads: "config/config.yaml (Runtime, Architecture), requirements.txt, src/; pip's configuration and PIP_* variables",
  writes: 'dist/function.zip and dist/function.zip.manifest.json (sha256, sizes, installed distributions)',
  options: [
    ...REPOSITORY_OPTIONS,
    { name: 'out', type: 'string', valueName: 'FILE', defaultText: 'dist/function.zip in the repository', description: 'Where the zip is written (atomically).' },
    CACHE_DIR_OPTION,
    INDEX_URL_OPTION,
    FIND_LINKS_OPTION,
    { name: 'allow-sdist', type: 'boolean', description: 'Build a requirement from its source distribution when no wheel fits (pure Python only).' },
    { ...PYTHON_OPTION, description: 'Python interpreter that runs pip; also the one that checks the handler imports when it has the Runtime\'s version (else python3.X from PATH).' },
    { name: 'no-import-check', type: 'boolean', description: "Skip importing the handler's module from the built zip (on a Python of the Runtime's version) before the zip is written." },
    { name: 'json', type: 'boolean', description: 'Print the manifest as JSON on stdout.' },
  ],
  examples: ['lambda-cd package', 'lambda-cd package --path examples/hello-python --out /tmp/function.zip --json'],
  notes: [
    'Only wheels Lambda can load are used: manylinux up to the runtime\'s glibc, the function\'s CPU architecture, ABI cpXY/abi3/none.',
    'Environment markers (`; python_version < "3.12"`, `; platform_machine == "aarch64"`) are judged for the Runtime and Architecture, not for the build host.',
    'The zip is written from the wheel files (deflated members copied as they are), holding what pip install --target would place. Plain requirements over local wheels (find-links folders, file:// indexes) are resolved without starting pip, with pip\'s rules; anything else (network indexes, URLs, hashes, other pip options) is resolved by pip, which installs nothing. LAMBDA_CD_RESOLVER=pip always uses pip; LAMBDA_CD_TIMINGS=1 says why pip was needed and times each step.',
    'Not packed: bin/ scripts and *.data/scripts|headers|data of installed packages, __pycache__/ and *.pyc, .git/ and other VCS folders, tool caches, requirements*.txt.',
    'The cache (--cache-dir) keeps wheels by sha256 and which wheels were chosen for the requirements\' content; everything read from it is verified (hashes, CRCs) and rebuilt when it does not check out.',
    "Before the zip is written, the handler's module is imported from it alone (plus boto3/botocore, as Lambda provides them) on --python when it has the Runtime's Python version, else on python3.X from PATH, in a child process without AWS credentials; an import error fails the build (exit 1) naming the distribution it came from. Without such a Python the check is skipped, with a line saying so.",
    'Node.js functions (Runtime nodejs22.x, nodejs24.x): npm ci --omit=dev from package-lock.json for linux, the Architecture\'s CPU and glibc, no install scripts run (one that would compile native code without a prebuilt linux binary is exit 2); Bundle: esbuild in config.yaml bundles the handler (minified, source map, @aws-sdk/* external).',
    'LAMBDA_CD_MAX_UNZIPPED_BYTES lowers the 250 MB unzipped limit (to leave room for layers); LAMBDA_CD_WARN_ZIP_BYTES the 50 MB warning.',
  ],
  async run({ options }) {
    const repository = openRepository(options, { notes: true });
    const { runPackage, LAMBDA_LIMITS } = await import('../../runners/package.js');
    const result = await runPackage({
      repository,
      outFile: outputPath(options, 'out', repository.root, 'dist/function.zip'),
      cacheDir: cacheDir(options, repository.root),
      python: pythonOption(options),
      allowSdist: options['allow-sdist'] === true,
      limits: {
        maxUnzippedBytes: byteLimit('LAMBDA_CD_MAX_UNZIPPED_BYTES', LAMBDA_LIMITS.maxUnzippedBytes),
        warnZippedBytes: byteLimit('LAMBDA_CD_WARN_ZIP_BYTES', LAMBDA_LIMITS.warnZippedBytes),
      },
      pip: pipOptions(options),
      importCheck: options['no-import-check'] !== true,
    });
    if (options.json) process.stdout.write(`${JSON.stringify(result.manifest, null, 2)}\n`);
    else process.stdout.write(`${result.zipPath}\nsha256 ${result.manifest.sha256}\n`);
    await githubReport(result.manifest);
    return 0;
  },
};

/** A byte count from the environment that lowers one of Lambda's limits; undefined keeps it. */
function byteLimit(variable: string, lambdaLimit: number): number | undefined {
  const value = process.env[variable];
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value) || Number(value) === 0 || Number(value) > lambdaLimit) {
    throw new UsageError(`${variable}: expected a number of bytes from 1 to ${lambdaLimit} (Lambda's own limit), found ${JSON.stringify(value)}`);
  }
  return Number(value);
}

/** In GitHub Actions: the zip's sha256 as a step output, its size in the job summary. */
async function githubReport(manifest: { sha256: string; zipSize: number; unzippedSize: number; fileCount: number }): Promise<void> {
  const { githubOutputs, githubSummary } = await import('../../lib/github.js');
  const { count, formatBytes } = await import('../../lib/output.js');
  githubOutputs({ 'zip-sha256': manifest.sha256 });
  if (process.env.GITHUB_STEP_SUMMARY) githubSummary(`### lambda-cd package: ${formatBytes(manifest.zipSize)} zip (${formatBytes(manifest.unzippedSize)} unzipped, ${count(manifest.fileCount, 'file')}), sha256 \`${manifest.sha256}\`\n`);
}
