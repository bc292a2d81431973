/**
 * Token values: a tag's version (a new one invalidates it) and a fill lock's owner.
 *
 * A tag token is `<seq>:<random>`. `seq` comes from one counter per namespace (`{<ns>:tags}:~seq`), incremented
 * by every script that writes tokens, so it orders writes: a token whose seq is above the counter a lookup read was
 * written after that lookup. Tokens a reader creates for a tag never written (first tokens) have seq 0.
 */
import { randomFillSync } from 'node:crypto';

/** Random bytes drawn 1,024 tokens at a time: one call into the CSPRNG instead of one per token (a list's fill makes 20). */
const pool = Buffer.alloc(6 * 1_024);
let drawn = pool.length;

/** 48 random bits, base64url. */
function random48(): string {
  if (drawn === pool.length) {
    randomFillSync(pool);
    drawn = 0;
  }
  drawn += 6;
  return pool.toString('base64url', drawn - 6, drawn);
}

/** A new random value, never reused: the time (so values sort roughly by age) and 48 random bits. */
export const newToken = () => `${Date.now().toString(36)}.${random48()}`;

/** The random part of a tag token (the seq is added by the script that writes it). */
export const tokenSuffix = random48;

/** A first token: what a reader gives a tag no write has given one yet (seq 0). */
export const firstToken = () => `0:${tokenSuffix()}`;

/**
 * How long a fill may take, from its lookup to its store, and still store: a slower one stores nothing. It bounds how
 * long a write's token must outlive the write for every fill in flight to see it (store-tags.lua).
 */
export const FILL_MAX_AGE_MS = 30_000;

/** How long a token lives when the write gave it to a tag nobody had read: twice the longest fill. */
export const UNREAD_TOKEN_MS = 2 * FILL_MAX_AGE_MS;
