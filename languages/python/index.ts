/**
 * Python (python3.10 ... python3.14): pip resolves requirements.txt for Lambda's platform and the
 * zip is written from the wheels (runners/package.ts, lib/package-*.ts, lib/wheel*.ts); tests run
 * with src/ and the requirements on PYTHONPATH (test-requirements.ts, tests.ts); the handler's
 * module is imported from the zip on the Runtime's Python (lib/handler-check.ts). See DESIGN.md.
 */
import path from 'node:path';
import type { Language } from '../types.js';
import { PYTHON_TEST_FILES } from './test-files.js';

export const python: Language = {
  id: 'python',
  label: 'Python',
  testFiles: PYTHON_TEST_FILES,
  // Each step's modules load when it runs: every runner loads this file, and `package` should not
  // pay for the test machinery (nor `unit-test` for the zip writer).
  package: async (options) => (await import('../../runners/package.js')).packagePython(options),
  checkHandler: async (options) => (await import('../../lib/handler-check.js')).checkHandler(options),
  async prepareTests({ repository, suite, kind, options, step }) {
    const [{ installTestRequirements }, { pythonLauncher }] = await Promise.all([import('./test-requirements.js'), import('./tests.js')]);
    // Two installs as in 2018: the function's requirements (unit tests only) and the test folder's own.
    const requirementFiles = [...(kind === 'unit' ? [path.join(repository.root, 'requirements.txt')] : []), path.join(suite.absoluteFolder, 'requirements.txt')];
    const requirements = await installTestRequirements({
      python: options.python,
      requirementFiles,
      cacheDir: options.cacheDir,
      pip: options.pip,
      cwd: repository.root,
      step,
      lambda: { runtime: repository.runtime, functionFirst: kind === 'unit' },
    });
    return pythonLauncher(suite.runner, options.python, [path.join(repository.root, 'src'), ...requirements.dirs]);
  },
};
