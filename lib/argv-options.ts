/** Reading and removing one option in a raw argument list (a multi-function root hands the rest on to each function's run). */

/** The value of `--name VALUE` or `--name=VALUE` (the last one given). */
export function givenOption(args: string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === `--${name}` && i + 1 < args.length) value = args[++i];
    else if (args[i]!.startsWith(`--${name}=`)) value = args[i]!.slice(name.length + 3);
  }
  return value;
}

/** Every value of a repeatable `--name VALUE` / `--name=VALUE`. */
export function givenOptions(args: string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === `--${name}` && i + 1 < args.length) values.push(args[++i]!);
    else if (args[i]!.startsWith(`--${name}=`)) values.push(args[i]!.slice(name.length + 3));
  }
  return values;
}

/** `args` without `--name VALUE` / `--name=VALUE`. */
export function withoutOption(args: string[], name: string): string[] {
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === `--${name}`) i++;
    else if (!args[i]!.startsWith(`--${name}=`)) kept.push(args[i]!);
  }
  return kept;
}
