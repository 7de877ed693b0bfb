/**
 * The README shows the generated GitHub Actions workflow and GitLab CI file for the repository
 * `lambda-cd init orders --stages Gamma` makes: they must be exactly what the commands write.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT, runCli } from './helpers/cli.js';
import { tempDir } from './helpers/repo.js';

function readmeBlock(readme: string, command: string): string {
  const marker = `<!-- readme: ${command} -->\n\`\`\`yaml\n`;
  const start = readme.indexOf(marker);
  expect(start, `README has no block for ${command}`).toBeGreaterThan(0);
  const body = readme.slice(start + marker.length);
  return body.slice(0, body.indexOf('```\n'));
}

describe('README', () => {
  it('the GitHub Actions and GitLab CI sections are the generated files', async () => {
    const readme = await readFile(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
    const root = path.join(await tempDir(), 'orders');
    expect((await runCli(['init', root, '--stages', 'Gamma'])).exitCode).toBe(0);
    for (const [target, file] of [['github-actions', '.github/workflows/lambda-cd.yml'], ['gitlab-ci', '.gitlab-ci.yml']] as const) {
      const result = await runCli(['generate', target, '--path', root, '--stack', 'OrdersPipeline']);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(readmeBlock(readme, `lambda-cd generate ${target} --stack OrdersPipeline`)).toBe(await readFile(path.join(root, file), 'utf8'));
    }
  });
});
