import { LambdaCdError, EXIT, UsageError } from '../lib/errors.js';
import { style } from '../lib/output.js';
import { didYouMean } from '../lib/suggest.js';
import { version } from '../lib/version.js';
import { parseArgs } from './args.js';
import type { CommandSpec } from './command.js';
import { COMMANDS, loadCommand } from './commands/index.js';

export async function dispatch(argv: string[]): Promise<number> {
  const [first, second] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    if (first === 'help' && second !== undefined) return dispatch([second, ...argv.slice(2), '--help']);
    process.stdout.write((await help()).mainHelp(await loadAll()));
    return first === undefined ? EXIT.usage : EXIT.ok;
  }
  if (first.startsWith('-')) {
    throw new UsageError(`unknown option ${first}${didYouMean(first, ['--help', '--version'])} (see lambda-cd --help)`);
  }
  const names = COMMANDS.map((c) => c.name);
  const twoWord = second !== undefined ? `${first} ${second}` : undefined;
  let name: string;
  let rest: string[];
  if (twoWord !== undefined && names.includes(twoWord)) {
    name = twoWord;
    rest = argv.slice(2);
  } else if (names.includes(first)) {
    name = first;
    rest = argv.slice(1);
  } else {
    const group = names.filter((n) => n.startsWith(`${first} `));
    if (group.length > 0) {
      const sub = group.map((n) => n.slice(first.length + 1));
      if (second === undefined || second === '--help' || second === '-h') {
        process.stdout.write((await help()).mainHelp(await loadAll(), first));
        return second === undefined ? EXIT.usage : EXIT.ok;
      }
      throw new UsageError(`unknown ${first} target ${JSON.stringify(second)}${didYouMean(second, sub)} (one of: ${sub.join(', ')})`);
    }
    throw new UsageError(`unknown command ${JSON.stringify(first)}${didYouMean(first, names)} (see lambda-cd --help)`);
  }
  // A multi-function root (lambda-cd.yaml) runs the command per function (cli/workspace.ts).
  const atRoot = await (await import('./workspace.js')).runAtWorkspaceRoot(name, rest);
  if (atRoot !== undefined) return atRoot;
  const command = await loadCommand(name);
  const parsed = parseArgs(name, rest, command.options, command.positionals);
  if (parsed.options.help) {
    process.stdout.write((await help()).commandHelp(command));
    return EXIT.ok;
  }
  return command.run(parsed);
}

/** The help texts' module: loaded for --help only, not by every command's start. */
const help = () => import('./help.js');

async function loadAll(): Promise<CommandSpec[]> {
  return Promise.all(COMMANDS.map((c) => loadCommand(c.name)));
}

/** Prints an error as one line on stderr and returns its exit code. */
export function reportError(error: unknown): number {
  if (error instanceof LambdaCdError) {
    process.stderr.write(`${style.red('lambda-cd: error:')} ${error.message}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`${style.red('lambda-cd: internal error:')} ${message} (lambda-cd ${version()}; set LAMBDA_CD_DEBUG=1 for the stack)\n`);
  if (process.env.LAMBDA_CD_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
  return EXIT.environment;
}
