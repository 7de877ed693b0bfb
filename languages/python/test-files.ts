/** Which files of a test folder are Python test files (apart from tests.ts, which loads only when tests run). */
import type { TestFileKind } from '../../lib/test-execution.js';

export const PYTHON_TEST_FILES: TestFileKind = { extensions: ['.py'], exclude: ['__init__.py', 'conftest.py'], describe: '*.py files' };
