/**
 * The Python files lambda-cd ships (python/ in this repository): lambda-cd's implementation of
 * the 2018 helper library `awslambdacontinuousdelivery.tools`, which 2018 iam.py files import.
 * The folder sits beside the code in every install form: `python/` next to `build/` in the npm
 * package and a checkout, `python/` next to the bundle in the image.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the folder is, relative to this module compiled (build/lib/), bundled (one file), or run by tsx (lib/). */
const CANDIDATES = ['../../python/', './python/', '../python/'];

let found: string | null | undefined;

/** The folder holding `awslambdacontinuousdelivery/tools/`, or undefined when this install lacks it. */
export function bundledPythonDir(): string | undefined {
  if (found === undefined) {
    found = CANDIDATES.map((relative) => fileURLToPath(new URL(relative, import.meta.url)))
      .find((dir) => existsSync(path.join(dir, 'awslambdacontinuousdelivery', 'tools', '__init__.py'))) ?? null;
  }
  return found ?? undefined;
}
