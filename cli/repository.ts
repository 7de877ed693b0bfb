import { statSync } from 'node:fs';
import path from 'node:path';
import { loadRepository, type RepositoryConfig } from '../lib/contract.js';
import { ConfigError, UsageError } from '../lib/errors.js';
import { note, warn } from '../lib/output.js';
import { safeName } from '../lib/redact.js';
import { didYouMean } from '../lib/suggest.js';
import type { ParsedOptions } from './args.js';

/** The file that makes a folder a function repository (what discovery looks for). */
export const REPOSITORY_MARKER = path.join('config', 'config.yaml');
/** The file that makes a folder the root of a multi-function repository (lib/workspace.ts). */
export const WORKSPACE_MARKER = 'lambda-cd.yaml';

/**
 * The nearest folder, from `start` up to the filesystem root, holding config/config.yaml or a
 * multi-function root's lambda-cd.yaml (as git finds .git), or undefined. A marker that is not a regular file still counts: the contract then
 * says what is wrong with it, rather than discovery skipping to a parent repository.
 */
export function findRepositoryRoot(start: string): string | undefined {
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    if (statSync(path.join(dir, REPOSITORY_MARKER), { throwIfNoEntry: false }) !== undefined) return dir;
    if (statSync(path.join(dir, WORKSPACE_MARKER), { throwIfNoEntry: false }) !== undefined) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/**
 * The repository a command works on: --path (or LAMBDA_CD_PATH) when given, taken as it is;
 * otherwise the nearest folder up from the current one with config/config.yaml.
 */
export function repositoryRoot(options: ParsedOptions): string {
  if (typeof options.path === 'string') return path.resolve(options.path);
  const found = findRepositoryRoot(process.cwd());
  if (found === undefined) {
    throw new ConfigError(
      `no function repository here: no ${REPOSITORY_MARKER} (or ${WORKSPACE_MARKER}) in ${safeName(process.cwd(), 200)} or any folder above it (run the command inside a repository, give --path DIR, or create one with lambda-cd init)`,
    );
  }
  return found;
}

/** The repository root when there is one (given or found), else undefined: for commands that can work without. */
export function optionalRepositoryRoot(options: ParsedOptions): string | undefined {
  return typeof options.path === 'string' ? path.resolve(options.path) : findRepositoryRoot(process.cwd());
}

/**
 * Loads the repository named by --path (or found from the current folder) and shows the
 * contract's warnings, and its notes (the Runtime chosen for a config without one) for the
 * commands the notes concern.
 */
export function openRepository(options: ParsedOptions, { notes = false }: { notes?: boolean } = {}): RepositoryConfig {
  const config = loadRepository(repositoryRoot(options), { strict: options.strict === true });
  for (const warning of config.warnings) warn(warning.message);
  if (notes) for (const item of config.notes) note(item.message);
  return config;
}

/**
 * --stage must name one of the repository's stages: checked before any AWS call, so a typo
 * never reaches CloudFormation as a stack that does not exist.
 */
export function requireStage(command: string, repository: RepositoryConfig, stage: string | undefined): void {
  if (stage === undefined || repository.stages.includes(stage)) return;
  throw new UsageError(
    `${command}: --stage expects one of the repository's stages ${repository.stages.join(', ')} (the folders in config/), found ${JSON.stringify(safeName(stage, 80))}${didYouMean(stage, repository.stages)}`,
  );
}

/**
 * Where an output goes: a path the user gave is relative to the current directory (as with
 * any CLI); the default lies inside the repository, so `--path repo` keeps everything there.
 */
export function outputPath(options: ParsedOptions, option: string, root: string, defaultInRepository: string): string {
  const given = options[option];
  return typeof given === 'string' ? path.resolve(given) : path.join(root, defaultInRepository);
}

/** Prints a command's result as JSON on stdout (the only thing on stdout with --json). */
export function printJson(result: unknown): void {
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
