/**
 * pytest's JUnit file read with an XML parser (lib/junit.ts): every outcome pytest writes, older
 * pytest's bare <testsuite>, and files that are not what pytest writes.
 */
import { describe, expect, it } from 'vitest';
import { junitXml, readFrameworkCases } from '../lib/junit.js';

const PYTEST = `<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests"><testsuite name="t.py" errors="1" failures="1" skipped="1" tests="4" time="0.05" timestamp="2026-01-01T00:00:00" hostname="h">
<testcase classname="tests.t" name="test_ok" time="0.001"><system-out>said &lt;hello&gt;</system-out></testcase>
<testcase classname="tests.t" name="test_bad" time="0.020"><failure message="assert 1 == 2&#10;second line">def test_bad():
&gt;   assert 1 == 2</failure></testcase>
<testcase classname="tests.t" name="test_setup" time="0.000"><error message="failed on setup with &quot;RuntimeError: x&quot;">trace</error></testcase>
<testcase classname="tests.t" name="test_skip" time="0.000"><skipped type="pytest.skip" message="later">t.py:9: later</skipped></testcase>
</testsuite></testsuites>`;

describe('readFrameworkCases', () => {
  it('reads each case with its outcome, duration, first message line and output', async () => {
    const cases = await readFrameworkCases(PYTEST);
    expect(cases).toEqual([
      { name: 'test_ok', classname: 'tests.t', durationMs: 1, status: 'passed', output: 'said <hello>' },
      { name: 'test_bad', classname: 'tests.t', durationMs: 20, status: 'failed', failureKind: 'failure', message: 'assert 1 == 2', output: 'def test_bad():\n>   assert 1 == 2' },
      { name: 'test_setup', classname: 'tests.t', durationMs: 0, status: 'failed', failureKind: 'error', message: 'failed on setup with "RuntimeError: x"', output: 'trace' },
      { name: 'test_skip', classname: 'tests.t', durationMs: 0, status: 'skipped', message: 'later', output: undefined },
    ]);
    // Written again by our writer: failures and errors counted apart, text escaped.
    const xml = junitXml([{ name: 'unit-tests', timestamp: new Date(0), cases: cases! }]);
    expect(xml).toMatch(/<testsuites tests="4" failures="1" errors="1" skipped="1"/);
    expect(xml).toContain('<error message="failed on setup with &quot;RuntimeError: x&quot;" type="error">trace</error>');
    expect(xml).toContain('<system-out>said &lt;hello&gt;</system-out>');
  });

  it("reads older pytest's bare <testsuite> root", async () => {
    const cases = await readFrameworkCases('<testsuite name="x" tests="1"><testcase classname="c" name="only" time="0.5"/></testsuite>');
    expect(cases).toEqual([{ name: 'only', classname: 'c', durationMs: 500, status: 'passed', output: undefined }]);
  });

  it('gives up (undefined) on a file that is not well-formed, holds no suite, or carries a DOCTYPE', async () => {
    expect(await readFrameworkCases('<testsuites><testsuite name="x"><testcase name="a"></testsuite>')).toBeUndefined();
    expect(await readFrameworkCases('')).toBeUndefined();
    expect(await readFrameworkCases('<testsuites/>')).toBeUndefined();
    const bomb = '<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><testsuite><testcase name="&b;"/></testsuite>';
    expect(await readFrameworkCases(bomb)).toBeUndefined();
  });
});
