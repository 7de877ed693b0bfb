import type { CommandSpec } from '../command.js';

/** Every command, in the order --help lists them, and the module that defines it. */
export const COMMANDS: { name: string; load: () => Promise<{ command: CommandSpec }> }[] = [
  { name: 'unit-test', load: () => import('./unit-test.js') },
  { name: 'package', load: () => import('./package.js') },
  { name: 'create-cf', load: () => import('./create-cf.js') },
  { name: 'integration-test', load: () => import('./integration-test.js') },
  { name: 'publish', load: () => import('./publish.js') },
  { name: 'deploy', load: () => import('./deploy.js') },
  { name: 'generate buildspecs', load: () => import('./generate-buildspecs.js') },
  { name: 'generate pipeline', load: () => import('./generate-pipeline.js') },
  { name: 'generate github-actions', load: () => import('./generate-github-actions.js') },
  { name: 'generate gitlab-ci', load: () => import('./generate-gitlab-ci.js') },
  { name: 'generate ci-bootstrap', load: () => import('./generate-ci-bootstrap.js') },
  { name: 'init', load: () => import('./init.js') },
  { name: 'check', load: () => import('./check.js') },
];

export async function loadCommand(name: string): Promise<CommandSpec> {
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) throw new Error(`no command ${name}`);
  return (await entry.load()).command;
}
