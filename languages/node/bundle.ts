/**
 * `Bundle: esbuild`: the handler and everything it imports in one minified file with its source
 * map, as SAM's esbuild build method and CDK's NodejsFunction do. @aws-sdk/* stays external
 * (Lambda's Node.js runtimes provide the SDK v3); the target is the Runtime's Node.js version.
 * ESM handlers (.mjs, or .js under "type": "module") become <module>.mjs with a require() shim
 * for CommonJS dependencies; CommonJS ones <module>.js. Files of src/ that are not code (data,
 * templates) are zipped beside the bundle, since the code may read them at run time.
 */
import path from 'node:path';
import type { RepositoryConfig } from '../../lib/contract.js';
import { CheckFailedError, EnvironmentError } from '../../lib/errors.js';
import { progress } from '../../lib/output.js';
import type { SourceFile } from '../../lib/package-layout.js';
import { toPosix } from '../../lib/paths.js';
import { excerpt } from '../../lib/redact.js';
import { NODE_RUNTIMES } from '../../lib/runtimes.js';

/** Files the bundle replaces (code esbuild reads); everything else in src/ is zipped as it is. */
const CODE = /\.(m|c)?(j|t)sx?$|\.json$|\.map$/;
const ESM_BANNER = "import { createRequire as __lambdaCdCreateRequire } from 'node:module'; const require = __lambdaCdCreateRequire(import.meta.url);";

export interface BundleOptions {
  repository: RepositoryConfig;
  src: SourceFile[];
  /** The production dependencies installed for Lambda (undefined: none). */
  nodeModules?: string;
  moduleType: 'module' | 'commonjs';
}

type Esbuild = typeof import('esbuild');

/** The zip's code files: the bundle, its map, and src/'s files that are not code. */
export async function bundleHandler(options: BundleOptions): Promise<{ files: SourceFile[]; bundled: Set<string> }> {
  const { repository } = options;
  const esbuild = await loadEsbuild();
  const handlerFile = repository.handlerFile;
  const esm = handlerFile.endsWith('.mjs') || (handlerFile.endsWith('.js') && options.moduleType === 'module');
  const module = handlerFile.replace(/^src\//, '').replace(/\.(m|c)?js$/, '');
  const outName = `${module}${esm ? '.mjs' : '.js'}`;
  const srcDir = path.join(repository.root, 'src');
  const target = `node${NODE_RUNTIMES[repository.runtime]!.nodeVersion}`;
  progress('package', `bundling ${handlerFile} with esbuild ${esbuild.version} (${esm ? 'ESM' : 'CommonJS'}, ${target}, minified, source map, @aws-sdk/* external)`);
  let result: Awaited<ReturnType<Esbuild['build']>>;
  try {
    result = await esbuild.build({
      entryPoints: [path.join(repository.root, handlerFile)],
      absWorkingDir: repository.root,
      outfile: path.join(srcDir, outName),
      bundle: true, minify: true, sourcemap: true, write: false, metafile: true, logLevel: 'silent',
      platform: 'node', target, format: esm ? 'esm' : 'cjs',
      external: ['@aws-sdk/*'],
      nodePaths: options.nodeModules ? [options.nodeModules] : [],
      ...(esm ? { banner: { js: ESM_BANNER } } : {}),
      legalComments: 'none',
    });
  } catch (error) {
    const errors = (error as { errors?: { text: string; location?: { file: string; line: number } | null }[] }).errors ?? [];
    const first = errors[0];
    const where = first?.location ? `${toPosix(first.location.file)}:${first.location.line}: ` : '';
    throw new CheckFailedError(`${handlerFile}: esbuild could not bundle the handler: ${where}${excerpt(first?.text ?? String(error), { maxLines: 1 })}${errors.length > 1 ? ` (and ${errors.length - 1} more errors)` : ''}`);
  }
  // The source map names the installed packages by where this build put them: name them as node_modules/ instead.
  const installed = options.nodeModules ? toPosix(path.relative(srcDir, options.nodeModules)) : undefined;
  const files: SourceFile[] = (result.outputFiles ?? []).map((output) => {
    let data = Buffer.from(output.contents);
    if (output.path.endsWith('.map') && installed) {
      const map = JSON.parse(data.toString('utf8')) as { sources: string[] };
      map.sources = map.sources.map((source) => (source.startsWith(`${installed}/`) ? `../node_modules/${source.slice(installed.length + 1)}` : source));
      data = Buffer.from(JSON.stringify(map));
    }
    const name = toPosix(path.relative(srcDir, output.path));
    return { name, path: output.path, executable: false, data, size: data.length };
  });
  const names = new Set(files.map((file) => file.name));
  const assets = options.src.filter((file) => !CODE.test(file.name) && !names.has(file.name));
  return { files: [...files, ...assets], bundled: bundledPackages(Object.keys(result.metafile?.inputs ?? {})) };
}

/** Which installed packages the bundle holds (from esbuild's metafile inputs). */
export function bundledPackages(inputs: string[]): Set<string> {
  const names = new Set<string>();
  for (const input of inputs) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match) names.add(match[1]!);
  }
  return names;
}

async function loadEsbuild(): Promise<Esbuild> {
  try {
    return await import('esbuild');
  } catch (error) {
    throw new EnvironmentError(`Bundle: esbuild needs the esbuild package next to lambda-cd, and it cannot be loaded (${excerpt(String((error as Error).message ?? error), { maxLines: 1 })}); install it with npm install esbuild, or remove Bundle`);
  }
}
