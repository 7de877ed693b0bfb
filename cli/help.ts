import { WORKSPACE_COMMANDS } from './workspace.js';
import { version } from '../lib/version.js';
import type { OptionSpec } from './args.js';
import type { CommandSpec } from './command.js';

const EXIT_CODES = 'Exit codes: 0 ok, 1 tests or checks failed, 2 bad usage or configuration, 3 environment or AWS failure.';

export function mainHelp(commands: CommandSpec[], group?: string): string {
  const shown = group ? commands.filter((c) => c.name.startsWith(`${group} `)) : commands;
  const width = Math.max(...shown.map((c) => c.name.length));
  const lines = [
    `lambda-cd ${version()}: continuous delivery for Python AWS Lambda functions`,
    '',
    `Usage: lambda-cd ${group ?? '<command>'} ${group ? '<target>' : ''} [options]`.replace(/\s+\[/, ' ['),
    '',
    'Commands:',
    ...shown.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `lambda-cd <command> --help` for what a command reads and writes, its options and an example.',
    'Every command that reads a repository takes --path DIR; without it, the repository is the nearest folder holding config/config.yaml, from the current one up (as git finds .git).',
    EXIT_CODES,
    '',
  ];
  return lines.join('\n');
}

export function commandHelp(command: CommandSpec): string {
  const positionals = (command.positionals ?? []).map((p) => (p.required ? ` <${p.name}>` : ` [${p.name}]`)).join('');
  const lines = [`Usage: lambda-cd ${command.name}${positionals} [options]`, '', command.summary, '', `Reads:  ${command.reads}`, `Writes: ${command.writes}`, ''];
  if (command.positionals?.length) {
    lines.push('Arguments:');
    for (const p of command.positionals) lines.push(`  ${p.name.padEnd(24)}${p.description}`);
    lines.push('');
  }
  lines.push('Options:');
  const options = [...command.options, { name: 'help', type: 'boolean', description: 'Show this help.' } as OptionSpec];
  for (const option of options) {
    const flag = `--${option.name}${option.type === 'boolean' ? '' : ` ${option.valueName ?? 'VALUE'}`}`;
    lines.push(`  ${flag.padEnd(24)}${option.description}${describeDefault(option)}`);
  }
  if (WORKSPACE_COMMANDS.includes(command.name)) {
    lines.push('', 'At a multi-function root (lambda-cd.yaml), for every function unless one is named:',
      `  ${'--function NAME'.padEnd(24)}Only this function (LAMBDA_CD_FUNCTION); an unknown name lists the known ones.`,
      `  ${'--jobs N'.padEnd(24)}Functions at once (default: the CPUs available); outputs go under dist/<Function>/.`);
  }
  lines.push('', 'Examples:', ...command.examples.map((e) => `  ${e}`));
  if (command.notes?.length) lines.push('', ...command.notes);
  lines.push('', exitCodes(command), '');
  return lines.join('\n');
}

/** A command's exit codes: only the test runners speak of tests (package's 1 is its checks). */
function exitCodes(command: CommandSpec): string {
  const failed = command.name.endsWith('test') ? 'tests failed' : command.name === 'package' ? 'the handler import check or a size limit failed' : 'checks failed';
  return `Exit codes: 0 ok, 1 ${failed}, 2 bad usage or configuration, 3 environment or AWS failure.`;
}

function describeDefault(option: OptionSpec): string {
  const parts: string[] = [];
  if (option.required) parts.push('required');
  if (option.choices) parts.push(`one of ${option.choices.join(', ')}`);
  if (option.defaultText !== undefined) parts.push(`default: ${option.defaultText}`);
  else if (option.default !== undefined && option.type !== 'boolean') parts.push(`default: ${Array.isArray(option.default) ? option.default.join(',') : option.default}`);
  if (option.type === 'list') parts.push('repeatable');
  if (option.env) parts.push(`env ${option.env}`);
  return parts.length ? ` (${parts.join('; ')})` : '';
}
