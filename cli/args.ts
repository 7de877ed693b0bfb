/**
 * Command-line parsing from a declared spec. Small on purpose: it must load fast (the
 * CLI's start-up budget is a few milliseconds) and give errors that name the closest
 * valid option.
 */
import { UsageError } from '../lib/errors.js';
import { safeName } from '../lib/redact.js';
import { didYouMean } from '../lib/suggest.js';

export type OptionType = 'string' | 'boolean' | 'number' | 'list';

export interface OptionSpec {
  /** Long name without the dashes: `--cache-dir` is `cache-dir`. */
  name: string;
  type: OptionType;
  description: string;
  /** The value when neither the option nor its environment variable is given. */
  default?: string | number | boolean | string[];
  /** How to show a computed default in --help, e.g. "number of CPUs". */
  defaultText?: string;
  /** Environment variable read when the option is absent (how pipelines pass stage and stack). */
  env?: string;
  /** Placeholder in --help, e.g. DIR. */
  valueName?: string;
  choices?: readonly string[];
  /** Number options: the smallest accepted value. */
  min?: number;
  /** The command cannot run without it (given as option or through `env`). */
  required?: boolean;
}

export interface PositionalSpec {
  name: string;
  description: string;
  required?: boolean;
}

export type OptionValue = string | number | boolean | string[] | undefined;
export type ParsedOptions = Record<string, OptionValue>;

export interface ParsedArgs {
  options: ParsedOptions;
  positionals: string[];
}

export const HELP_OPTION: OptionSpec = { name: 'help', type: 'boolean', description: 'Show this help and exit.' };

export function parseArgs(command: string, argv: string[], specs: OptionSpec[], positionalSpecs: PositionalSpec[] = []): ParsedArgs {
  const byName = new Map([...specs, HELP_OPTION].map((spec) => [spec.name, spec]));
  const options: ParsedOptions = {};
  const positionals: string[] = [];
  const known = [...specs, HELP_OPTION].map((spec) => `--${spec.name}`);

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    if (arg === '-h') {
      options.help = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      throw new UsageError(`${command}: unknown option ${arg}${didYouMean(arg.replace(/^-+/, '--'), known)} (see lambda-cd ${command} --help)`);
    }
    const equals = arg.indexOf('=');
    const name = arg.slice(2, equals === -1 ? undefined : equals);
    const spec = byName.get(name);
    if (!spec) {
      throw new UsageError(`${command}: unknown option --${name}${didYouMean(`--${name}`, known)} (see lambda-cd ${command} --help)`);
    }
    if (spec.type === 'boolean') {
      if (equals !== -1) throw new UsageError(`${command}: option --${name} takes no value, found ${quoteArg(arg.slice(equals + 1))}`);
      options[name] = true;
      continue;
    }
    let raw: string;
    if (equals !== -1) {
      raw = arg.slice(equals + 1);
    } else {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) {
        throw new UsageError(`${command}: option --${name} needs a value (${spec.valueName ?? 'VALUE'})`);
      }
      raw = next;
      i++;
    }
    const value = convert(command, `--${name}`, spec, raw);
    if (spec.type === 'list') {
      options[name] = [...((options[name] as string[] | undefined) ?? []), value as string];
    } else {
      options[name] = value;
    }
  }

  for (const spec of specs) {
    if (options[spec.name] !== undefined) continue;
    const fromEnv = spec.env ? process.env[spec.env] : undefined;
    if (fromEnv !== undefined && fromEnv !== '') {
      options[spec.name] = spec.type === 'list' ? commaList(fromEnv) : convert(command, `$${spec.env}`, spec, fromEnv);
    } else if (spec.default !== undefined) {
      options[spec.name] = spec.default;
    }
  }

  if (!options.help) {
    const missing = specs.find((spec) => spec.required && options[spec.name] === undefined);
    if (missing) {
      throw new UsageError(`${command}: --${missing.name} ${missing.valueName ?? 'VALUE'} is required${missing.env ? ` (or set ${missing.env})` : ''}`);
    }
    const required = positionalSpecs.filter((p) => p.required).length;
    if (positionals.length < required) {
      throw new UsageError(`${command}: missing ${positionalSpecs[positionals.length]!.name} (see lambda-cd ${command} --help)`);
    }
    if (positionals.length > positionalSpecs.length) {
      throw new UsageError(`${command}: unexpected argument ${quoteArg(positionals[positionalSpecs.length]!)} (see lambda-cd ${command} --help)`);
    }
  }
  return { options, positionals };
}

function convert(command: string, source: string, spec: OptionSpec, raw: string): string | number {
  if (spec.type === 'number') {
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value) || (spec.min !== undefined && value < spec.min)) {
      const bound = spec.min === undefined ? 'a number' : `a number >= ${spec.min}`;
      throw new UsageError(`${command}: ${source} expects ${bound}, found ${quoteArg(raw)}`);
    }
    return value;
  }
  if (spec.choices && !spec.choices.includes(raw)) {
    throw new UsageError(`${command}: ${source} expects one of ${spec.choices.join(', ')}, found ${quoteArg(raw)}${didYouMean(raw, spec.choices)}`);
  }
  return raw;
}

/** Reads an option that a spec with a default guarantees to be present. */
export function stringOption(options: ParsedOptions, name: string): string {
  return options[name] as string;
}

/** Options that every runner takes. */
export const REPOSITORY_OPTIONS: OptionSpec[] = [
  { name: 'path', type: 'string', valueName: 'DIR', env: 'LAMBDA_CD_PATH', defaultText: 'the nearest folder holding config/config.yaml, from the current one up', description: 'The function repository (holds config/config.yaml).' },
  { name: 'strict', type: 'boolean', description: 'Treat configuration warnings (unknown or old keys) as errors.' },
];

/** `Gamma, Beta,` -> ['Gamma', 'Beta']: the comma-separated lists options and variables carry. */
export function commaList(text: string): string[] {
  return text.split(',').map((item) => item.trim()).filter(Boolean);
}

/** A value from the command line in a message: quoted, control characters escaped, cut short. */
function quoteArg(value: string): string {
  return `"${safeName(value, 80)}"`;
}
