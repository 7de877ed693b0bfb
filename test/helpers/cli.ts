import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The compiled CLI, as users run it (`npm test` builds first). */
export const CLI = path.join(PROJECT_ROOT, 'build/cli/main.js');
export const EXAMPLE = path.join(PROJECT_ROOT, 'examples/hello-python');

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs `lambda-cd ARGS` in a real process, without colour, and never throws on a non-zero exit. */
export async function runCli(args: string[], options: { cwd?: string; env?: Record<string, string | undefined>; timeout?: number } = {}): Promise<CliResult> {
  const result = await execa(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? PROJECT_ROOT,
    env: { NO_COLOR: '1', ...options.env },
    reject: false,
    timeout: options.timeout ?? 120_000,
  });
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
}
