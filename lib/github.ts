/**
 * GitHub Actions' files for a step's results: outputs ($GITHUB_OUTPUT, which later steps read as
 * steps.<id>.outputs.<name> and the action declares in action.yml) and the job summary
 * ($GITHUB_STEP_SUMMARY, Markdown on the run's page). Both are appended to only when GitHub sets
 * them, so the same command prints the same everywhere else. A file that cannot be written is a
 * warning: the command's own work is done.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { warn } from './output.js';

function append(variable: string, text: string): void {
  const file = process.env[variable];
  if (!file) return;
  try {
    appendFileSync(file, text);
  } catch (error) {
    warn(`cannot append to $${variable} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): the step's ${variable === 'GITHUB_OUTPUT' ? 'outputs' : 'summary'} are missing`);
  }
}

/** name<<DELIMITER ... DELIMITER: a value may hold any character, a newline included. */
export function githubOutputs(outputs: Record<string, string | number | undefined>): void {
  let text = '';
  for (const [name, value] of Object.entries(outputs)) {
    if (value === undefined) continue;
    const delimiter = `lambda_cd_${randomBytes(8).toString('hex')}`;
    text += `${name}<<${delimiter}\n${value}\n${delimiter}\n`;
  }
  if (text) append('GITHUB_OUTPUT', text);
}

export function githubSummary(markdown: string): void {
  append('GITHUB_STEP_SUMMARY', markdown.endsWith('\n') ? markdown : `${markdown}\n`);
}

/** Text from names and AWS as a Markdown table cell: no pipes, no HTML, one line. */
export function markdownCell(text: string): string {
  return text.replace(/[\\|`*_<>[\]]/g, (char) => `\\${char}`).replace(/[\r\n]+/g, ' ');
}

/** A test run's counts for the job summary: `unit-test: 12 passed, 1 failed` and the failed files. */
export function githubTestSummary(title: string, suite: { passed: number; failed: number; skipped: number; outcomes: { name: string; status: string; detail: string }[] }): void {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  const failed = suite.outcomes.filter((outcome) => outcome.status === 'failed');
  githubSummary([
    `### lambda-cd ${markdownCell(title)}: ${suite.passed} passed, ${suite.failed} failed${suite.skipped ? `, ${suite.skipped} skipped` : ''}`,
    ...(failed.length ? ['', ...failed.map((outcome) => `- ${markdownCell(outcome.name)}: ${markdownCell(outcome.detail)}`)] : []),
    '',
  ].join('\n'));
}
