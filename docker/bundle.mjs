#!/usr/bin/env node
/**
 * Bundles the CLI into one ESM file with no node_modules tree (what the image ships):
 *   node docker/bundle.mjs [OUTFILE]     default build/bundle/lambda-cd.mjs
 * Prints the bundle's size. Dynamic imports (each command, its runner, the AWS SDK)
 * stay lazy inside the one file: esbuild wraps each module in a function that runs on first
 * import, so `--version` and `--help` evaluate none of the heavy modules.
 */
import { chmodSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outfile = path.resolve(process.argv[2] ?? path.join(root, 'build/bundle/lambda-cd.mjs'));
const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));

await build({
  absWorkingDir: root,
  entryPoints: ['cli/main.ts'],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  // Licences of the bundled packages stay in the file, at its end.
  legalComments: 'eof',
  // lib/version.ts reads package.json unless this is defined; the bundle has no package.json.
  define: { __LAMBDA_CD_VERSION__: JSON.stringify(version) },
  // CommonJS dependencies call require() for Node's built-ins; an ESM file has no require.
  banner: { js: "import { createRequire as __lambdaCdRequire } from 'node:module'; const require = __lambdaCdRequire(import.meta.url);" },
  // Bundle: esbuild loads esbuild at run time (its JS API finds its own binary and cannot be bundled).
  external: ['esbuild'],
  logLevel: 'warning',
});

chmodSync(outfile, 0o755);
const bytes = statSync(outfile).size;
process.stderr.write(`bundle: ${path.relative(process.cwd(), outfile)} (${(bytes / 1024 / 1024).toFixed(2)} MB, version ${version})\n`);
