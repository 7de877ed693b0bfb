/**
 * Checks of the values `generate pipeline` and `init` take on their command lines. Each reaches
 * a generated file, so each is checked against what it names (a stage, an image, an address)
 * before anything is written; the writers then store them as YAML data, never as text.
 */
import { MAX_FUNCTION_NAME, PROD_STAGE } from '../lib/contract.js';
import { UsageError } from '../lib/errors.js';
import { escapeControl, safeName } from '../lib/redact.js';
import { EMAIL_PATTERN } from './names.js';

const STAGE_PATTERN = /^[A-Za-z0-9]+$/;
const NAME_PATTERN = /^[A-Za-z0-9_-]+$/;
/** A stage name fits Name+Stage (64 characters) with a one-character Name. */
const MAX_STAGE_NAME = MAX_FUNCTION_NAME - 1;
/** CodePipeline allows 50 stages; the pipeline has Source, Unittests, Build and PROD besides these. */
const MAX_STAGES = 46;
/** E-mail addresses are at most 254 characters (RFC 5321). */
const MAX_EMAIL = 254;
/**
 * A container image reference as Docker and CodeBuild read it: [registry[:port]/]path[:tag][@digest]
 * (https://github.com/distribution/reference, grammar.go).
 */
const IMAGE_REFERENCE = (() => {
  const domainPart = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
  const domain = `${domainPart}(?:\\.${domainPart})*(?::[0-9]+)?`;
  const pathPart = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
  const tag = '[\\w][\\w.-]{0,127}';
  const digest = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
  return new RegExp(`^(?:${domain}/)?${pathPart}(?:/${pathPart})*(?::${tag})?(?:@${digest})?$`);
})();
const MAX_IMAGE = 255 + 1 + 128 + 1 + 71 + 64;

/** A value from the command line, for a message: quoted, control characters escaped, cut short. */
function shown(value: string): string {
  return `"${safeName(value, 80)}"`;
}

/** Pre-production stage names: letters and digits, each once, PROD left out (it is always last). */
export function validateStages(command: string, stages: string[]): void {
  for (const stage of stages) {
    if (stage === PROD_STAGE) throw new UsageError(`${command}: --stages: leave ${PROD_STAGE} out; it is always added as the last stage`);
    if (!STAGE_PATTERN.test(stage)) {
      throw new UsageError(`${command}: --stages expects stage names of letters and digits (they become part of function and stack names), found ${shown(stage)}`);
    }
    if (stage.length > MAX_STAGE_NAME) {
      throw new UsageError(`${command}: --stages expects stage names of at most ${MAX_STAGE_NAME} characters (Name+Stage is a function name, at most ${MAX_FUNCTION_NAME}), found one of ${stage.length}`);
    }
  }
  // Gamma and gamma are one folder on macOS and Windows checkouts, and one name to IAM.
  const duplicate = stages.find((stage, index) => stages.findIndex((other) => other.toLowerCase() === stage.toLowerCase()) !== index);
  if (duplicate) throw new UsageError(`${command}: --stages expects each stage once (case does not count), found ${duplicate} twice`);
  if (stages.length > MAX_STAGES) throw new UsageError(`${command}: --stages expects at most ${MAX_STAGES} stages (CodePipeline allows 50 in a pipeline, 4 are lambda-cd's), found ${stages.length}`);
}

/** --image: a container image reference such as public.ecr.aws/lambda-cd/lambda-cd:0.1.0 or 123456789012.dkr.ecr.eu-west-1.amazonaws.com/lambda-cd@sha256:... */
export function validateImage(command: string, image: string): void {
  if (image.length > MAX_IMAGE || !IMAGE_REFERENCE.test(image)) {
    throw new UsageError(`${command}: --image expects a container image reference ([registry/]repository[:tag][@sha256:digest], e.g. public.ecr.aws/lambda-cd/lambda-cd:0.1.0), found ${shown(image)}`);
  }
}

/** --notify: one e-mail address, as the template's NotificationEmail parameter accepts it. */
export function validateEmail(command: string, email: string): void {
  if (email.length > MAX_EMAIL || escapeControl(email) !== email || !new RegExp(EMAIL_PATTERN).test(email)) {
    throw new UsageError(`${command}: --notify expects an e-mail address, found ${shown(email)}`);
  }
}

/** The longest Name for which Name+Stage fits Lambda's function name limit in every stage. */
export function maxNameLength(stages: string[]): number {
  return MAX_FUNCTION_NAME - Math.max(...[...stages, PROD_STAGE].map((stage) => stage.length));
}

export function validateName(command: string, name: string, stages: string[]): void {
  if (!NAME_PATTERN.test(name)) throw new UsageError(`${command}: --name expects letters, digits, '-' or '_', found ${shown(name)}`);
  const max = maxNameLength(stages);
  if (name.length > max) throw new UsageError(`${command}: --name expects at most ${max} characters so that Name+Stage fits Lambda's ${MAX_FUNCTION_NAME}, found ${name.length}`);
}

/** A valid Name made from a folder name: other characters become '-', too long is cut. */
export function nameFromFolder(folder: string, stages: string[]): string {
  const cleaned = folder.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^[-_]+|[-_]+$/g, '').slice(0, maxNameLength(stages)).replace(/[-_]+$/, '');
  return cleaned === '' ? 'Function' : cleaned;
}
