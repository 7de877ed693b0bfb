/**
 * CloudFormation's short-form tags (!Ref, !Sub, !GetAtt) for js-yaml, so the generated
 * template reads like a hand-written one and tests can load it back.
 */
import yaml from 'js-yaml';
import { escapeControl } from '../lib/redact.js';

export class Intrinsic {
  constructor(readonly fn: 'Ref' | 'Sub' | 'GetAtt', readonly value: string) {}
}

export const ref = (name: string) => new Intrinsic('Ref', name);
/** `${Name}` placeholders are resolved by CloudFormation, not here. */
export const sub = (text: string) => new Intrinsic('Sub', text);
export const getAtt = (resource: string, attribute: string) => new Intrinsic('GetAtt', `${resource}.${attribute}`);

const types = (['Ref', 'Sub', 'GetAtt'] as const).map(
  (fn) =>
    new yaml.Type(`!${fn}`, {
      kind: 'scalar',
      predicate: (data: unknown) => data instanceof Intrinsic && data.fn === fn,
      represent: (data: object) => (data as Intrinsic).value,
      construct: (data: string) => new Intrinsic(fn, data),
    }),
);

export const CFN_SCHEMA = yaml.DEFAULT_SCHEMA.extend(types);

export function dumpYaml(document: unknown): string {
  return yaml.dump(document, { schema: CFN_SCHEMA, lineWidth: -1, noRefs: true, quotingType: "'" });
}

export function loadYaml(text: string): unknown {
  return yaml.load(text, { schema: CFN_SCHEMA });
}

/**
 * `# line` comments for a generated file's header. A line break in a value would end the
 * comment and start YAML of its own (a top-level key in a template), so control characters are
 * escaped here whatever the callers validated.
 */
export function yamlComments(lines: string[]): string {
  return lines.map((line) => `# ${escapeControl(line)}\n`).join('');
}
