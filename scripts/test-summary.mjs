// Prints vitest's JSON results as the plain closing line CI reads: exactly "N passed, N failed"
// (skipped tests, if any, on the line before it).
import { existsSync, readFileSync } from 'node:fs';

const file = process.argv[2];
if (!file || !existsSync(file)) {
  console.log('0 passed, 1 failed');
  console.error(`test-summary: no results at ${file}: the test run did not finish`);
  process.exit(0);
}
const results = JSON.parse(readFileSync(file, 'utf8'));
const skipped = results.numPendingTests + results.numTodoTests;
// A test file that failed to load counts as a failure even though it ran no test.
const brokenFiles = results.testResults.filter((r) => r.status === 'failed' && r.assertionResults.length === 0).length;
const failed = results.numFailedTests + brokenFiles;
if (skipped) console.log(`${skipped} skipped`);
console.log(`${results.numPassedTests} passed, ${failed} failed`);
