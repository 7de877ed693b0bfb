/** Which files of a test folder are Node.js test files (apart from tests.ts, which loads only when tests run). */
import type { TestFileKind } from '../../lib/test-execution.js';

export const NODE_TEST_FILES: TestFileKind = { extensions: ['.mjs', '.js', '.cjs'], exclude: [], describe: '*.js, *.mjs or *.cjs files' };
