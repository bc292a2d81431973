/**
 * The cache's Lua scripts, one file each in src/lua/ (the build copies them to dist/lua/), read once when the
 * module that runs them loads. Full-line `--` comments document a script's KEYS and ARGV and are not sent to Redis.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The scripts, by file name. */
export type LuaScript = 'apply-event' | 'set-tokens' | 'ensure-generation' | 'release-fill';

/** The script's code, without its comment lines. */
export function luaScript(name: LuaScript): string {
  const source = readFileSync(join(__dirname, 'lua', `${name}.lua`), 'utf8');
  return source.split('\n').filter((line) => !line.trimStart().startsWith('--')).join('\n').trim();
}
