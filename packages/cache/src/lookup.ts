/**
 * A lookup: the entry and the current tokens of its tags (with the namespace generation and the tokens' seq
 * counter) in one round trip, and the verdict. An entry is valid only while every token it was stored with is still
 * current: the tokens of the tags known before its data was read (`t`), and those of the tags its data showed
 * (`p`, read in a second round trip when the entry has any). A tag never seen gets a first token. Nothing is read
 * while an outage left something owed (see recovery.ts).
 */
import { isCluster, type RedisClient } from '@crm/redis';
import { chunked, TAG_CHUNK } from './chunks';
import { decodeEntry, type Entry } from './entry';
import type { RedisGuard } from './guard';
import { GENERATION_FIELD, LOOKED_UP_AT_FIELD, SEQUENCE_FIELD, type CacheKeys } from './keys';
import type { OutageRecovery } from './recovery';
import { firstToken } from './tokens';

/**
 * What a lookup found. `versions` are the tag tokens read with it (and the seq counter and time of the read): a
 * fill must store those, not newer ones. `invalidated`: an entry was stored under the key but is no longer valid (a
 * tag or the generation changed since, or it was unreadable); false when there was none (RFC 9211 `fwd=miss` and
 * `fwd=uri-miss`).
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

/** MGET of many tags' tokens, 500 keys per command. */
async function readTokens(redis: RedisClient, keys: CacheKeys, tags: string[]): Promise<(string | null)[]> {
  const runs = await Promise.all(chunked(tags).map((run) => redis.mget(...run.map((t) => keys.tag(t)))));
  return runs.flat();
}

/**
 * The entry under `key` and the tokens of `fields`. On a single Redis, one MGET: every key lives on the one server.
 * On a cluster, two commands in parallel, the entry's slot not being the tags' (keys.ts).
 */
async function readEntryAndTokens(redis: RedisClient, keys: CacheKeys, key: string, fields: string[]): Promise<[Buffer | null, (string | null)[]]> {
  if (isCluster(redis) || fields.length >= TAG_CHUNK) return Promise.all([redis.getBuffer(keys.entry(key)), readTokens(redis, keys, fields)]);
  const [raw, ...tokens] = await redis.mgetBuffer(keys.entry(key), ...fields.map((t) => keys.tag(t)));
  return [raw ?? null, tokens.map((token) => token?.toString() ?? null)];
}

/** Looks `key` up with the tokens of `tags`. */
export async function lookUp(ctx: LookupContext, key: string, tags: string[]): Promise<Lookup> {
  const { redis, keys, guard, recovery } = ctx;
  if (!(await recovery.settled())) return { state: 'unavailable' };
  const generation = recovery.generation.value;
  const found = await guard.run(async () => {
    // The generation and the seq counter are read with the tokens (same slot, one MGET): an entry of an older
    // generation is a miss.
    const fields = [GENERATION_FIELD, SEQUENCE_FIELD, ...tags];
    const lookedUpAt = Date.now();
    const [raw, tokens] = await readEntryAndTokens(redis, keys, key, fields);
    const versions: Record<string, string> = { [SEQUENCE_FIELD]: tokens[1] ?? '0', [LOOKED_UP_AT_FIELD]: String(lookedUpAt) };
    const missing: number[] = [];
    fields.forEach((field, i) => {
      const token = tokens[i];
      if (i === 1) return;
      if (token) versions[field] = token;
      else if (i > 1) missing.push(i);
    });
    // A tag never seen (or evicted, or expired) gets a first token; SET NX GET keeps a concurrent writer's token.
    await Promise.all(missing.map(async (i) => {
      const token = firstToken();
      const previous = await redis.set(keys.tag(fields[i]!), token, 'PX', ctx.tokenTtlMs, 'NX', 'GET');
      versions[fields[i]!] = previous ?? token;
    }));
    const entry = decodeEntry(raw);
    // The tags the entry's data showed: current only if each still has the token the entry was stored with.
    const shown = entry ? Object.keys(entry.header.p ?? {}) : [];
    const showsCurrent = shown.length === 0 || (await readTokens(redis, keys, shown)).every((token, i) => token === entry!.header.p![shown[i]!]);
    return { raw, entry, versions, showsCurrent };
  });
  if (!found.ok) return { state: 'unavailable' };
  const { raw, entry, versions, showsCurrent } = found.value;
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
  if (!entry || !showsCurrent || ![GENERATION_FIELD, ...tags].every((t) => entry.header.t[t] === versions[t])) return { state: 'miss', versions, invalidated: raw !== null };
  if (entry.header.f >= Date.now()) return { state: 'hit', entry };
  return { state: 'expired', entry, versions };
}
