/**
 * V8's compile cache for lambda-cd's own modules (Node >= 22.1, `module.enableCompileCache`):
 * every build phase starts a CLI process, and with the cache it loads compiled code instead of
 * parsing some 400 KB of JavaScript again. Where the user or the image chose already
 * (NODE_COMPILE_CACHE, NODE_DISABLE_COMPILE_CACHE) nothing changes; older Node has no such call.
 *
 * The folder is the user's own (`<OS cache dir>/lambda-cd/node-compile-cache`), never a cache CI
 * restores (--cache-dir / LAMBDA_CD_CACHE_DIR): compiled code read from there would run as ours,
 * and those folders are untrusted. A home that is not the user's or not writable (a container
 * user without one, sudo keeping HOME) means no cache. Nothing here ever fails a command.
 */
import { accessSync, constants, statSync } from 'node:fs';
import module from 'node:module';
import { homedir } from 'node:os';
import path from 'node:path';

/** Where the cache goes for this user, or undefined when there is no folder of theirs for it. */
export function compileCacheDir(env: NodeJS.ProcessEnv = process.env, home = safeHomedir(), platform = process.platform): string | undefined {
  const xdg = env.XDG_CACHE_HOME;
  const base = platform === 'win32' ? env.LOCALAPPDATA
    : platform === 'darwin' ? home && path.join(home, 'Library', 'Caches')
    : xdg && path.isAbsolute(xdg) ? xdg : home && path.join(home, '.cache');
  if (!base || !home || home === '/') return undefined;
  return ownWritable(home) ? path.join(base, 'lambda-cd', 'node-compile-cache') : undefined;
}

type Enable = (dir?: string) => { status: number; directory?: string };

/** Turns the cache on when this Node has it and nobody chose otherwise; returns the folder used. */
export function enableCompileCache(env: NodeJS.ProcessEnv = process.env, enable = (module as { enableCompileCache?: Enable }).enableCompileCache, home?: string): string | undefined {
  if (!enable || env.NODE_COMPILE_CACHE !== undefined || env.NODE_DISABLE_COMPILE_CACHE !== undefined) return undefined;
  try {
    const dir = compileCacheDir(env, home ?? safeHomedir());
    if (!dir) return undefined;
    const result = enable(dir);
    // status: 1 enabled, 2 already enabled; 0 failed (a folder it could not create): silently none.
    return result.status === 1 || result.status === 2 ? result.directory ?? dir : undefined;
  } catch {
    return undefined;
  }
}

function safeHomedir(): string | undefined {
  try {
    return homedir();
  } catch {
    return undefined;
  }
}

/** The folder is the current user's (where Unix says who that is) and writable. */
function ownWritable(dir: string): boolean {
  try {
    const info = statSync(dir);
    if (!info.isDirectory() || (process.getuid && info.uid !== process.getuid())) return false;
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
