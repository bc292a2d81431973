/**
 * A lookup: the entry and the current tokens of its tags (with the namespace generation) in one round trip, and
 * the verdict. An entry is valid only while every token it was stored with is still current; a tag never seen gets
 * a first token. Nothing is read while an outage left something owed (see recovery.ts).
 */
import type { RedisClient } from '@crm/redis';
import { chunked } from './chunks';
import { decodeEntry, type Entry } from './entry';
import type { RedisGuard } from './guard';
import { GENERATION_FIELD, type CacheKeys } from './keys';
import type { OutageRecovery } from './recovery';
import { newToken } from './tokens';

/**
 * What a lookup found. `versions` are the tag tokens read with it: a fill must store those, not newer ones.
 * `invalidated`: an entry was stored under the key but is no longer valid (a tag or the generation changed since,
 * or it was unreadable); false when there was none (RFC 9211 `fwd=miss` and `fwd=uri-miss`).
 */
export type Lookup =
  | { state: 'hit'; entry: Entry }
  | { state: 'expired'; entry: Entry; versions: Record<string, string> }
  | { state: 'miss'; versions: Record<string, string>; invalidated: boolean }
  | { state: 'unavailable' };

/** What a lookup reads with. */
export interface LookupContext {
  redis: RedisClient;
  keys: CacheKeys;
  guard: RedisGuard;
  recovery: OutageRecovery;
  /** How long a first token lives (the longest entry plus grace). */
  tokenTtlMs: number;
}

/** Looks `key` up with the tokens of `tags`. */
export async function lookUp(ctx: LookupContext, key: string, tags: string[]): Promise<Lookup> {
  const { redis, keys, guard, recovery } = ctx;
  if (!(await recovery.settled())) return { state: 'unavailable' };
  const generation = recovery.generation.value;
  const found = await guard.run(async () => {
    // The generation is read with the tokens (same slot, one MGET): an entry of an older generation is a miss.
    const fields = [GENERATION_FIELD, ...tags];
    const tagKeys = fields.map((t) => keys.tag(t));
    const [raw, tokens] = await Promise.all([
      redis.getBuffer(keys.entry(key)),
      Promise.all(chunked(tagKeys).map((run) => redis.mget(...run))).then((runs) => runs.flat()),
    ]);
    const versions: Record<string, string> = {};
    const missing: number[] = [];
    fields.forEach((field, i) => {
      const token = tokens[i];
      if (token) versions[field] = token;
      else if (i > 0) missing.push(i);
    });
    // A tag never seen (or evicted, or expired) gets a fresh token; SET NX GET keeps a concurrent writer's token.
    await Promise.all(missing.map(async (i) => {
      const token = newToken();
      const previous = await redis.set(tagKeys[i]!, token, 'PX', ctx.tokenTtlMs, 'NX', 'GET');
      versions[fields[i]!] = previous ?? token;
    }));
    return { raw, versions };
  });
  if (!found.ok) return { state: 'unavailable' };
  const { raw, versions } = found.value;
  if (versions[GENERATION_FIELD] !== generation) {
    // Another replica started a new generation (it saw the restart first), or the key is gone (DELETE /cache):
    // check again. The entry read was of another generation: a miss, filled under the one checked now (the
    // tokens were read before the fill reads its data, as always).
    recovery.generation.reset();
    const checked = await recovery.generation.ensure();
    return checked.state === 'verified'
      ? { state: 'miss', versions: { ...versions, [GENERATION_FIELD]: checked.value }, invalidated: raw !== null }
      : { state: 'unavailable' };
  }
  const entry = decodeEntry(raw);
  if (!entry || ![GENERATION_FIELD, ...tags].every((t) => entry.header.t[t] === versions[t])) return { state: 'miss', versions, invalidated: raw !== null };
  if (entry.header.f >= Date.now()) return { state: 'hit', entry };
  return { state: 'expired', entry, versions };
}
