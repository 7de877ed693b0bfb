/**
 * JUnit XML reports, in the shape CodeBuild's report groups (file-format JUNITXML) read:
 * <testsuites> holding <testsuite> elements holding <testcase> elements; a failed case has a
 * <failure message="..."> whose text is the end of the test's output. The cases pytest reports
 * itself are read from its own JUnit file with an XML parser (fast-xml-parser, loaded only when
 * there is such a file) and written again by the same writer as ours.
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
  /** `failure` (an assertion) or `error` (the test could not run): pytest tells them apart. */
  failureKind?: 'failure' | 'error';
}

export interface JUnitSuite {
  name: string;
  timestamp: Date;
  cases: JUnitCase[];
  /** Said by a suite that ran nothing (`no unit tests configured: nothing to run`). */
  note?: string;
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
    const kind = test.failureKind ?? 'failure';
    body.push(`      <${kind}${attributes({ message: test.message ?? 'failed', type: kind })}>${xmlText(outputTail(test.output ?? ''))}</${kind}>`);
  } else if (test.status === 'skipped') {
    body.push(`      <skipped${attributes({ message: test.message ?? 'skipped' })}/>`);
  }
  if (test.output && test.status !== 'failed') body.push(`      <system-out>${xmlText(outputTail(test.output))}</system-out>`);
  return body.length === 0 ? `${open}/>` : `${open}>\n${body.join('\n')}\n    </testcase>`;
}

function suiteCounts(suite: JUnitSuite) {
  const counts = { tests: suite.cases.length, failures: 0, errors: 0, skipped: 0, timeSeconds: 0 };
  for (const test of suite.cases) {
    if (test.status === 'failed' && test.failureKind === 'error') counts.errors++;
    else if (test.status === 'failed') counts.failures++;
    if (test.status === 'skipped') counts.skipped++;
    counts.timeSeconds += test.durationMs / 1000;
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
    const body = suite.cases.map(caseXml);
    if (suite.note !== undefined) {
      body.unshift(`    <properties>\n      <property${attributes({ name: 'lambda-cd.note', value: suite.note })}/>\n    </properties>`);
      body.push(`    <system-out>${xmlText(suite.note)}</system-out>`);
    }
    parts.push(body.length === 0 ? `  <testsuite${head}/>` : `  <testsuite${head}>\n${body.join('\n')}\n  </testsuite>`);
  }
  const head = attributes({ tests: totals.tests, failures: totals.failures, errors: totals.errors, skipped: totals.skipped, time: totals.timeSeconds.toFixed(3) });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites${head}>\n${parts.join('\n')}\n</testsuites>\n`;
}

export async function writeJUnit(file: string, suites: JUnitSuite[]): Promise<void> {
  await writeFileAtomic(file, junitXml(suites));
}

// ---------------------------------------------------------------------------------------
// Reading a framework's JUnit file (pytest --junitxml)
// ---------------------------------------------------------------------------------------

type XmlNode = Record<string, unknown>;
const REPEATED = new Set(['testsuite', 'testcase', 'failure', 'error', 'skipped', 'system-out', 'system-err']);

let parserModule: Promise<typeof import('fast-xml-parser')> | undefined;

/**
 * The test cases of a JUnit file a framework wrote, with their outcome, duration, message and
 * output; undefined when the file is not well-formed XML or holds no test suite (the file's
 * own case then stands for it). Documents with a DOCTYPE are refused: pytest writes none, and
 * entity definitions are a way to make a small file expand without bound.
 */
export async function readFrameworkCases(xml: string): Promise<JUnitCase[] | undefined> {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) return undefined;
  parserModule ??= import('fast-xml-parser');
  const { XMLParser, XMLValidator } = await parserModule;
  if (XMLValidator.validate(xml) !== true) return undefined;
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    textNodeName: '#text',
    alwaysCreateTextNode: true,
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: false,
    // Also decodes character references (&#10; is how pytest writes a newline in a message).
    htmlEntities: true,
    isArray: (name, _path, _leaf, isAttribute) => !isAttribute && REPEATED.has(name),
  });
  const document = parser.parse(xml) as XmlNode;
  // pytest >= 5.1 writes <testsuites><testsuite>; older ones a bare <testsuite>.
  const root = (document.testsuites as XmlNode | undefined) ?? document;
  // node --test writes top-level tests straight under <testsuites>, and nests a describe() as a <testsuite>.
  const suites = (root.testsuite as XmlNode[] | undefined) ?? [];
  const top = (root.testcase as XmlNode[] | undefined) ?? [];
  if (suites.length === 0 && (top.length === 0 || root === document)) return undefined;
  const collect = (suite: XmlNode): JUnitCase[] => [...((suite.testcase as XmlNode[] | undefined) ?? []).map(frameworkCase), ...((suite.testsuite as XmlNode[] | undefined) ?? []).flatMap(collect)];
  return [...top.map(frameworkCase), ...suites.flatMap(collect)];
}

function text(node: unknown): string {
  if (typeof node === 'string') return node;
  const value = (node as XmlNode | undefined)?.['#text'];
  return typeof value === 'string' ? value : '';
}

function attribute(node: XmlNode | undefined, name: string): string | undefined {
  const value = node?.[`@_${name}`];
  return typeof value === 'string' ? value : undefined;
}

function frameworkCase(node: XmlNode): JUnitCase {
  const first = (name: string) => (node[name] as XmlNode[] | undefined)?.[0];
  const failure = first('failure');
  const error = first('error');
  const skipped = first('skipped');
  const problem = failure ?? error;
  const captured = [first('system-out'), first('system-err')].map(text).filter(Boolean).join('\n');
  const time = Number(attribute(node, 'time') ?? 0);
  const base = {
    name: attribute(node, 'name') ?? '(unnamed)',
    classname: attribute(node, 'classname') ?? '',
    durationMs: Number.isFinite(time) ? time * 1000 : 0,
  };
  if (problem) {
    const message = attribute(problem, 'message') ?? (failure ? 'failed' : 'error');
    return { ...base, status: 'failed', failureKind: failure ? 'failure' : 'error', message: firstLine(message), output: [text(problem), captured].filter(Boolean).join('\n') };
  }
  if (skipped) return { ...base, status: 'skipped', message: firstLine(attribute(skipped, 'message') ?? 'skipped'), output: captured || undefined };
  return { ...base, status: 'passed', output: captured || undefined };
}

function firstLine(message: string): string {
  const line = message.split('\n')[0]!.trim();
  return line.length > 300 ? `${line.slice(0, 300)}...` : line;
}
