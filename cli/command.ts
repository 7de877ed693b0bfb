import type { OptionSpec, ParsedArgs, PositionalSpec } from './args.js';

/**
 * One CLI command: what --help shows, and `run`, which parses nothing itself: it calls the
 * runner with typed options and prints the result. Runners are imported inside `run`, so
 * `--help` and other commands never load them.
 */
export interface CommandSpec {
  /** `unit-test`, or `generate pipeline` for a sub-command. */
  name: string;
  summary: string;
  /** What the command reads and what it writes, for --help. */
  reads: string;
  writes: string;
  options: OptionSpec[];
  positionals?: PositionalSpec[];
  examples: string[];
  /** Extra paragraphs for --help (exit codes beyond the usual, environment variables). */
  notes?: string[];
  /** Returns the exit code. Throws LambdaCdError for usage, configuration and environment failures. */
  run(args: ParsedArgs): Promise<number>;
}
