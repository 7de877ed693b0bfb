import path from 'node:path';
import { loadRepository, type RepositoryConfig } from '../lib/contract.js';
import { note, warn } from '../lib/output.js';
import type { ParsedOptions } from './args.js';

/**
 * Loads the repository named by --path/--strict and shows the contract's warnings, and its notes
 * (the Runtime chosen for a config without one) for the commands the notes concern.
 */
export function openRepository(options: ParsedOptions, { notes = false }: { notes?: boolean } = {}): RepositoryConfig {
  const config = loadRepository(options.path as string, { strict: options.strict === true });
  for (const warning of config.warnings) warn(warning.message);
  if (notes) for (const item of config.notes) note(item.message);
  return config;
}

/**
 * Where an output goes: a path the user gave is relative to the current directory (as with
 * any CLI); the default lies inside the repository, so `--path repo` keeps everything there.
 */
export function outputPath(options: ParsedOptions, option: string, root: string, defaultInRepository: string): string {
  const given = options[option];
  return typeof given === 'string' ? path.resolve(given) : path.join(root, defaultInRepository);
}
