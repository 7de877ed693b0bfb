/**
 * Node.js (nodejs22.x, nodejs24.x): npm ci from package-lock.json for Lambda's platform, optionally
 * bundled by esbuild; tests with node --test; the handler loaded from the zip. See DESIGN.md.
 */
import type { Language } from '../types.js';
import { NODE_TEST_FILES } from './test-files.js';

export const node: Language = {
  id: 'node',
  label: 'Node.js',
  testFiles: NODE_TEST_FILES,
  // Each step's modules load when it runs (every runner loads this file).
  package: async (options) => (await import('./package.js')).packageNode(options),
  checkHandler: async (options) => (await import('./import-check.js')).checkNodeHandler(options),
  prepareTests: async (request) => (await import('./tests.js')).prepareNodeTests(request),
};
