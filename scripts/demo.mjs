// `npm run demo`: runs the offline runners on the bundled examples and shows what each produced:
// examples/hello-python (pip resolves python-dateutil through pip's own configuration), then
// examples/hello-node (npm ci from its package-lock.json: @node-rs/crc32 and its platform package
// for Lambda, from npm's registry). `npm run demo -- node` (or `npm run demo:node`) runs only one.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'build/cli/main.js');
const EXAMPLES = { python: 'examples/hello-python', node: 'examples/hello-node' };
const chosen = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(EXAMPLES);

function step(title, args) {
  console.log(`\n=== lambda-cd ${args.join(' ')}   (${title})`);
  const result = spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit' });
  if (result.status !== 0) {
    console.log(`\nlambda-cd ${args[0]} exited ${result.status}`);
    process.exit(result.status ?? 1);
  }
}

for (const language of chosen) {
  const relative = EXAMPLES[language];
  if (!relative) {
    console.error(`demo: expected one of ${Object.keys(EXAMPLES).join(', ')}, found ${language}`);
    process.exit(2);
  }
  const example = path.join(root, relative);
  step('unit tests', ['unit-test', '--path', example]);
  step('deployment zip', ['package', '--path', example]);
  step('one template per stage', ['create-cf', '--path', example, '--stack', 'DemoPipeline']);

  console.log(`\n=== what was produced in ${relative}:`);
  for (const dir of ['dist', '.lambda-cd/reports']) {
    const full = path.join(example, dir);
    for (const name of readdirSync(full).sort()) {
      console.log(`  ${path.join(dir, name).padEnd(44)} ${statSync(path.join(full, name)).size} bytes`);
    }
  }
}

// What a newcomer does next: the same runners on a repository of their own (README: From `lambda-cd init` to deployed).
console.log(`
=== next: your own function
  npm install -g .                    # or npm link: lambda-cd on PATH from this clone
  lambda-cd init my-function && cd my-function
  lambda-cd unit-test && lambda-cd package && lambda-cd create-cf --stack MyPipeline
  lambda-cd generate pipeline --notify you@example.com   # stages, Name and Runtime from config/config.yaml
  aws cloudformation deploy --template-file pipeline.yaml --stack-name MyPipeline --capabilities CAPABILITY_NAMED_IAM \\
    --parameter-overrides RepositoryName=my-function NotificationEmail=you@example.com
  (or, without a pipeline: lambda-cd deploy --stack MyPipeline --stage Gamma --bucket YOUR_BUCKET)
README.md "From lambda-cd init to deployed" walks through each step; GitHub Actions and GitLab CI too.`);
