/** Checks of the names `generate pipeline` and `init` take on their command lines. */
import { MAX_FUNCTION_NAME, PROD_STAGE } from '../lib/contract.js';
import { UsageError } from '../lib/errors.js';

const STAGE_PATTERN = /^[A-Za-z0-9]+$/;
const NAME_PATTERN = /^[A-Za-z0-9_-]+$/;

/** Pre-production stage names: letters and digits, each once, PROD left out (it is always last). */
export function validateStages(command: string, stages: string[]): void {
  for (const stage of stages) {
    if (stage === PROD_STAGE) throw new UsageError(`${command}: --stages: leave ${PROD_STAGE} out; it is always added as the last stage`);
    if (!STAGE_PATTERN.test(stage)) {
      throw new UsageError(`${command}: --stages expects stage names of letters and digits (they become part of function and stack names), found ${JSON.stringify(stage)}`);
    }
  }
  const duplicate = stages.find((stage, index) => stages.indexOf(stage) !== index);
  if (duplicate) throw new UsageError(`${command}: --stages expects each stage once, found ${duplicate} twice`);
}

/** The longest Name for which Name+Stage fits Lambda's function name limit in every stage. */
export function maxNameLength(stages: string[]): number {
  return MAX_FUNCTION_NAME - Math.max(...[...stages, PROD_STAGE].map((stage) => stage.length));
}

export function validateName(command: string, name: string, stages: string[]): void {
  if (!NAME_PATTERN.test(name)) throw new UsageError(`${command}: --name expects letters, digits, '-' or '_', found ${JSON.stringify(name)}`);
  const max = maxNameLength(stages);
  if (name.length > max) throw new UsageError(`${command}: --name expects at most ${max} characters so that Name+Stage fits Lambda's ${MAX_FUNCTION_NAME}, found ${name.length}`);
}

/** A valid Name made from a folder name: other characters become '-', too long is cut. */
export function nameFromFolder(folder: string, stages: string[]): string {
  const cleaned = folder.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^[-_]+|[-_]+$/g, '').slice(0, maxNameLength(stages)).replace(/[-_]+$/, '');
  return cleaned === '' ? 'Function' : cleaned;
}
