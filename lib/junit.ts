/**
 * JUnit XML reports, in the shape CodeBuild's report groups (file-format JUNITXML) read:
 * <testsuites> holding <testsuite> elements holding <testcase> elements; a failed case has a
 * <failure message="..."> whose text is the end of the test's output.
 */
import { hostname } from 'node:os';
import { writeFileAtomic } from './atomic.js';

export type CaseStatus = 'passed' | 'failed' | 'skipped';

export interface JUnitCase {
  name: string;
  classname: string;
  durationMs: number;
  status: CaseStatus;
  /** One line: why it failed or was skipped. */
  message?: string;
  /** The test's output (its tail goes into the report). */
  output?: string;
}

export interface JUnitSuite {
  name: string;
  timestamp: Date;
  cases: JUnitCase[];
  /** Test cases a framework wrote itself (pytest's own JUnit), already valid XML. */
  embedded?: { xml: string; tests: number; failures: number; errors: number; skipped: number; timeSeconds: number }[];
}

/** Lines of output kept in a report: enough to see the error, small enough for the viewer. */
const TAIL_LINES = 80;
const TAIL_CHARS = 16_000;

/** The last lines of `text`, without terminal colour codes. */
export function outputTail(text: string, lines = TAIL_LINES): string {
  const plain = text.replace(/\u001b\[[0-9;?]*[ -/]*[@-~]/g, '');
  const tail = plain.trimEnd().split('\n').slice(-lines).join('\n');
  return tail.length > TAIL_CHARS ? `...${tail.slice(-TAIL_CHARS)}` : tail;
}

/** Text as XML 1.0 content: escaped, with characters XML cannot hold replaced by U+FFFD. */
export function xmlText(text: string): string {
  return text
    .replace(/[^\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

function attributes(values: Record<string, string | number>): string {
  return Object.entries(values).map(([key, value]) => ` ${key}="${xmlText(String(value)).replace(/\n/g, '&#10;')}"`).join('');
}

const seconds = (ms: number) => (ms / 1000).toFixed(3);

function caseXml(test: JUnitCase): string {
  const open = `    <testcase${attributes({ classname: test.classname, name: test.name, time: seconds(test.durationMs) })}`;
  const body: string[] = [];
  if (test.status === 'failed') {
    body.push(`      <failure${attributes({ message: test.message ?? 'failed', type: 'failure' })}>${xmlText(outputTail(test.output ?? ''))}</failure>`);
  } else if (test.status === 'skipped') {
    body.push(`      <skipped${attributes({ message: test.message ?? 'skipped' })}/>`);
  }
  if (test.output && test.status !== 'failed') body.push(`      <system-out>${xmlText(outputTail(test.output))}</system-out>`);
  return body.length === 0 ? `${open}/>` : `${open}>\n${body.join('\n')}\n    </testcase>`;
}

function suiteCounts(suite: JUnitSuite) {
  const counts = { tests: suite.cases.length, failures: 0, errors: 0, skipped: 0, timeSeconds: 0 };
  for (const test of suite.cases) {
    if (test.status === 'failed') counts.failures++;
    if (test.status === 'skipped') counts.skipped++;
    counts.timeSeconds += test.durationMs / 1000;
  }
  for (const part of suite.embedded ?? []) {
    counts.tests += part.tests;
    counts.failures += part.failures;
    counts.errors += part.errors;
    counts.skipped += part.skipped;
    counts.timeSeconds += part.timeSeconds;
  }
  return counts;
}

export function junitXml(suites: JUnitSuite[]): string {
  const totals = { tests: 0, failures: 0, errors: 0, skipped: 0, timeSeconds: 0 };
  const parts: string[] = [];
  for (const suite of suites) {
    const counts = suiteCounts(suite);
    for (const key of Object.keys(totals) as (keyof typeof totals)[]) totals[key] += counts[key];
    const head = attributes({
      name: suite.name,
      tests: counts.tests,
      failures: counts.failures,
      errors: counts.errors,
      skipped: counts.skipped,
      time: counts.timeSeconds.toFixed(3),
      timestamp: suite.timestamp.toISOString().replace(/\.\d+Z$/, ''),
      hostname: hostname(),
    });
    const cases = [...suite.cases.map(caseXml), ...(suite.embedded ?? []).map((part) => part.xml)];
    parts.push(`  <testsuite${head}>\n${cases.join('\n')}\n  </testsuite>`);
  }
  const head = attributes({ tests: totals.tests, failures: totals.failures, errors: totals.errors, skipped: totals.skipped, time: totals.timeSeconds.toFixed(3) });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites${head}>\n${parts.join('\n')}\n</testsuites>\n`;
}

export async function writeJUnit(file: string, suites: JUnitSuite[]): Promise<void> {
  await writeFileAtomic(file, junitXml(suites));
}

/**
 * The <testcase> elements and counts of a JUnit file a framework wrote (pytest's --junitxml),
 * to embed in our report; undefined when the file holds no test suite.
 */
export function readFrameworkCases(xml: string): JUnitSuite['embedded'] {
  const suites = [...xml.matchAll(/<testsuite\b([^>]*?)(?:\/>|>([\s\S]*?)<\/testsuite>)/g)];
  if (suites.length === 0) return undefined;
  return suites.map(([, attrs, inner]) => {
    const number = (name: string) => Number(new RegExp(`\\b${name}="([\\d.]+)"`).exec(attrs ?? '')?.[1] ?? 0);
    const xmlInner = (inner ?? '').replace(/<properties>[\s\S]*?<\/properties>/g, '').trim();
    return { xml: xmlInner, tests: number('tests'), failures: number('failures'), errors: number('errors'), skipped: number('skipped'), timeSeconds: number('time') };
  });
}
