/**
 * A read-only look at one stored entry, for the consistency auditor (services/cache-worker/src/auditor): the entry
 * under a key, judged by the same lookup a request makes (lookup.ts), with the tags the entry was stored with.
 * It counts nothing in the stats and stores nothing.
 */
import { decodeEntry, type Entry } from './entry';
import { GENERATION_FIELD } from './keys';
import { lookUp, type LookupContext } from './lookup';

/**
 * What is stored under a key: nothing, an entry a request would serve now (`valid`: every tag token and the
 * generation still match, and it is fresh), or one it would not (invalidated, of another generation, or past its TTL).
 */
export type Inspection =
  | { state: 'none' }
  | { state: 'valid'; entry: Entry; tags: string[] }
  | { state: 'invalid' }
  | { state: 'unavailable' };

/** Reads the entry under `key`, then looks it up with its own tags. */
export async function inspectEntry(ctx: LookupContext, key: string): Promise<Inspection> {
  const read = await ctx.guard.run(() => ctx.redis.getBuffer(ctx.keys.entry(key)));
  if (!read.ok) return { state: 'unavailable' };
  const stored = decodeEntry(read.value);
  if (!stored) return { state: 'none' };
  // An entry records the token of each of its tags (and the generation): its tags are those names.
  const tags = Object.keys(stored.header.t).filter((tag) => tag !== GENERATION_FIELD);
  const found = await lookUp(ctx, key, tags);
  if (found.state === 'hit') return { state: 'valid', entry: found.entry, tags };
  if (found.state === 'unavailable') return { state: 'unavailable' };
  return { state: 'invalid' };
}
