/**
 * The 2018 system's iam.py files build their role with troposphere (and awacs for policies),
 * often through the 2018 helper library awslambdacontinuousdelivery.tools.iam (lambda-cd ships
 * its own, lib/bundled-python.ts, which builds troposphere objects too). Such a repository must
 * work unchanged, also in our image, which does not ship troposphere: when a stage's Python file
 * imports any of them and --python lacks troposphere or awacs, both are installed once into the
 * cache (isolated, like test requirements) and put on that file's PYTHONPATH.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cacheFailure } from '../../lib/atomic.js';
import type { RepositoryConfig } from '../../lib/contract.js';
import { EnvironmentError, LambdaCdError } from '../../lib/errors.js';
import { run } from '../../lib/exec.js';
import { displayPath, progress } from '../../lib/output.js';
import type { PipOptions } from '../../lib/python.js';
import { findStageFile } from '../../lib/stage-files.js';
import { installTestRequirements } from './test-requirements.js';

const TOOLS = ['troposphere', 'awacs'];
/** `import troposphere`, `from awacs.aws import ...`, `from awslambdacontinuousdelivery.tools.iam import ...`, `from awslambdacontinuousdelivery.tools import iam`. */
const IMPORTS_TOOLS = new RegExp(`^\\s*(from|import)\\s+(${TOOLS.join('|')}|awslambdacontinuousdelivery\\.tools\\.iam)\\b|^\\s*from\\s+awslambdacontinuousdelivery\\.tools\\s+import\\s+[^#\\n]*\\biam\\b`, 'm');

export interface StagePythonToolsOptions {
  config: RepositoryConfig;
  stages: string[];
  python: string;
  cacheDir: string;
  pip: PipOptions;
  /** Progress label: the command running the stage files. */
  step: string;
}

/** PYTHONPATH folders that give the stages' Python files troposphere and awacs; none when not needed. */
export async function stagePythonTools(options: StagePythonToolsOptions): Promise<string[]> {
  const users = options.stages
    .flatMap((stage) => ['env', 'iam'].map((base) => findStageFile(options.config, stage, base, ['py'])))
    .filter((file) => file !== undefined && IMPORTS_TOOLS.test(readFileSync(file.file, 'utf8')));
  if (users.length === 0) return [];
  const probe = await run(options.python, ['-c', `import ${TOOLS.join(', ')}`]);
  if (probe.exitCode === 0) return [];

  const requirements = path.join(options.cacheDir, 'create-cf', 'requirements.txt');
  const wanted = `${TOOLS.join('\n')}\n`;
  if (!existsSync(requirements) || readFileSync(requirements, 'utf8') !== wanted) {
    // A read-only, full or blocked cache folder is the environment's problem (exit 3), named as such.
    await mkdir(path.dirname(requirements), { recursive: true }).then(() => writeFile(requirements, wanted)).catch((error: unknown) => Promise.reject(cacheFailure(options.cacheDir, error)));
  }
  const first = users[0]!.shown;
  progress(options.step, `${first} uses troposphere, which ${options.python} lacks: installing ${TOOLS.join(' and ')} for it (cached)`);
  try {
    const installed = await installTestRequirements({ python: options.python, requirementFiles: [requirements], cacheDir: options.cacheDir, pip: options.pip, cwd: options.config.root, step: options.step, label: 'troposphere and awacs for the stage files' });
    return installed.dirs;
  } catch (error) {
    // pip's reason, without the name of our own generated requirements file.
    const reason = (error instanceof LambdaCdError ? error.message : String(error)).replace(`${displayPath(requirements)}: `, '');
    const direct = /^\s*(from|import)\s+(troposphere|awacs)\b/m.test(readFileSync(users[0]!.file, 'utf8'));
    throw new EnvironmentError(
      `${first}: ${direct ? 'imports troposphere' : 'imports awslambdacontinuousdelivery.tools.iam, which needs troposphere'}, which ${options.python} lacks, and installing ${TOOLS.join(' and ')} failed (${reason}); ` +
        `install them for that interpreter (${options.python} -m pip install ${TOOLS.join(' ')}) or return a plain dict`,
    );
  }
}
