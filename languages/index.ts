/** The language of a function, from its Runtime: the one place runners choose it. */
import type { RepositoryConfig } from '../lib/contract.js';
import type { LanguageId } from '../lib/runtimes.js';
import { node } from './node/index.js';
import { python } from './python/index.js';
import type { Language } from './types.js';

const LANGUAGES: Record<LanguageId, Language> = { python, node };

export function languageOf(repository: Pick<RepositoryConfig, 'language'>): Language {
  return LANGUAGES[repository.language];
}

export type { Language, TestPreparation } from './types.js';
