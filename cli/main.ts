#!/usr/bin/env node
/**
 * lambda-cd's entry point. Start-up cost matters (every build phase starts one), so this file
 * imports nothing heavy: `--version` reads package.json and exits; a command loads its own
 * spec module, and that loads its runner only when it runs.
 */
import { enableCompileCache } from './compile-cache.js';
import { version } from '../lib/version.js';

enableCompileCache();

// `lambda-cd ... | head`: a reader that stops early is not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

async function main(argv: string[]): Promise<number> {
  if (argv[0] === '--version' || argv[0] === '-V') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const { dispatch } = await import('./dispatch.js');
  return dispatch(argv);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  async (error: unknown) => {
    const { reportError } = await import('./dispatch.js');
    process.exitCode = reportError(error);
  },
);
