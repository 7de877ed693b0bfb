/**
 * The image's ENTRYPOINT for `docker run IMAGE <command>` (CodeBuild replaces it and calls
 * `lambda-cd` from PATH, so nothing here is needed there). In the same process, before the CLI loads:
 * - Run as whoever owns the mounted repository: `docker run -v "$PWD:/src" IMAGE package` starts as
 *   root, and without this dist/ and .lambda-cd/ would be root-owned files the user cannot delete.
 *   Set LAMBDA_CD_KEEP_ROOT=1 to stay root; with `--user` (or rootless engines, where the mount
 *   looks root-owned) nothing changes.
 * - In GitHub Actions (action.yml), take the command from the action's inputs.
 * - Give a user without a home (`--user 1234:1234` has none in /etc/passwd) a writable HOME,
 *   so pip's and Python's caches work.
 */
import { accessSync, constants, statSync } from 'node:fs';

function dropToOwnerOfWorkdir() {
  if (process.getuid?.() !== 0 || process.env.LAMBDA_CD_KEEP_ROOT === '1') return;
  const { uid, gid } = statSync(process.cwd());
  if (uid === 0) return;
  process.setgroups([gid]);
  process.setgid(gid);
  process.setuid(uid);
  // Root's HOME (/root) is not this user's; let the check below pick one.
  if (process.env.HOME === '/root') delete process.env.HOME;
}

function writable(dir) {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * GitHub's Docker action (action.yml) hands its inputs over as INPUT_COMMAND and INPUT_ARGS:
 * split at white space into the argument list, with no shell and no globbing in between.
 */
function argumentsFromActionInputs() {
  const command = process.env.INPUT_COMMAND?.trim();
  if (!command) return;
  const words = (text) => (text ?? '').split(/\s+/).filter(Boolean);
  process.argv.splice(2, Infinity, ...words(command), ...words(process.env.INPUT_ARGS));
}

argumentsFromActionInputs();
dropToOwnerOfWorkdir();
const home = process.env.HOME;
if (!home || home === '/' || !writable(home)) process.env.HOME = '/tmp';

// The bundle sits next to this file (/usr/local/lib/lambda-cd/).
await import(new URL('./lambda-cd.mjs', import.meta.url).href);
