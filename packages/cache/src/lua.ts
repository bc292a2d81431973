/**
 * The cache's Lua scripts, one file each in src/lua/ (the build copies them to dist/lua/), read once when the
 * module that runs them loads. Full-line `--` comments document a script's KEYS and ARGV and are not sent to Redis.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RedisClient } from '@crm/redis';

/** The scripts, by file name. */
export type LuaScript = 'apply-event' | 'set-tokens' | 'store-tags' | 'ensure-generation' | 'release-fill' | 'record-reader' | 'take-readers' | 'mark-refilled';

/** The script's code, without its comment lines. */
export function luaScript(name: LuaScript): string {
  const source = readFileSync(join(__dirname, 'lua', `${name}.lua`), 'utf8');
  return source.split('\n').filter((line) => !line.trimStart().startsWith('--')).join('\n').trim();
}

/** A script ready to run by its SHA (sent whole once per server that does not know it yet). */
export interface LoadedScript {
  code: string;
  sha: string;
}

export function loadScript(name: LuaScript): LoadedScript {
  const code = luaScript(name);
  return { code, sha: createHash('sha1').update(code).digest('hex') };
}

/**
 * Runs a script with an explicit key count: EVALSHA, then EVAL when the server does not know it. Scripts whose
 * number of keys varies run this way rather than through `defineCommand`: on a cluster with auto-pipelining, ioredis
 * routes a defined command by a key count fixed at definition.
 */
export async function runScript<T>(redis: RedisClient, script: LoadedScript, keys: string[], args: (string | number)[]): Promise<T> {
  try {
    return (await redis.evalsha(script.sha, keys.length, ...keys, ...args)) as T;
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return (await redis.eval(script.code, keys.length, ...keys, ...args)) as T;
  }
}
