/**
 * Every Redis key the cache uses, built here and nowhere else: the contract's response keys (`cacheKey`), and,
 * per namespace, tag tokens, applied-event markers, the generation, the probe, entries, fill locks and the stats hash.
 */
import { createHash } from 'node:crypto';

/** Serialises with sorted object keys, so parameter order never changes a key. */
function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/*
 * Redis Cluster rule: a command (MGET, MSET, a Lua script, a MULTI) may only touch keys of one hash slot.
 * The cache lays its keys out so every multi-key command stays in one slot:
 * - tag tokens and applied-event markers: `{<ns>:tags}:<tag>`, `{<ns>:tags}:~applied:<id>@<ms>`; one hash tag, one
 *   slot, so MGET of an entry's tags, MSET of an invalidation and the apply-event script (marker + tokens) are one command;
 *   so are the tags' reader sets and the readers' markers (`{<ns>:tags}:~readers:<tag>`, `~taken:<reader>`,
 *   `~stored:<reader>`), so recording a reader and taking an event's readers are one script each; and a traced
 *   write's span (`{<ns>:tags}:~write:<seq>`), set by the apply-event script;
 * - a refill's used marker `<ns>:<key>:used:<id>`: no hash tag, single-key commands only;
 * - entries `<ns>:<key>`, fill locks `<ns>:<key>:fill` and the stats hash `<ns>:stats`: no hash tag, spread over
 *   the masters, and only ever used by single-key commands (GET, SET, EXISTS, HINCRBY, a one-key EVAL);
 * - whatever spans masters (SCAN + UNLINK of a namespace, DBSIZE, INFO, CONFIG GET) runs on each master, one key per UNLINK.
 * Never add a multi-key command over entry keys, nor a key outside `{<ns>:tags}` to a script that touches tags.
 */

/**
 * The contract's key: `<prefix>:<operation>:<hash of the validated, normalised parameters>`.
 * Parameters are validated (unknown ones rejected) before they get here, so keys are bounded.
 */
export function cacheKey(prefix: string, operation: string, params: unknown): string {
  const hash = createHash('sha256').update(canonicalJson(params)).digest('base64url').slice(0, 22);
  return `${prefix}:${operation}:${hash}`;
}

/**
 * The field of a lookup's `versions` (and so of a stored entry's tokens) that holds the namespace generation:
 * an entry is valid only while the generation it was filled under is still the server's.
 */
export const GENERATION_FIELD = '~gen';

/**
 * Fields a lookup adds to `versions` for the fill's store, never stored as tokens: the tokens' seq counter as the
 * lookup read it, and when it was read (see store-tags.lua and ResponseCache.store).
 */
export const SEQUENCE_FIELD = '~seq';
export const LOOKED_UP_AT_FIELD = '~at';

/** The keys of one namespace (see the layout above). */
export class CacheKeys {
  constructor(readonly namespace: string) {}

  /** A tag's token. Tag tokens live in one hash slot (`{<ns>:tags}`), so reading several is one MGET even on a cluster. */
  tag(tag: string): string {
    return `{${this.namespace}:tags}:${tag}`;
  }

  /** The marker of an applied event, in the tags' slot (set by the same script as its tokens). */
  applied(eventId: string, occurredAtMs: number): string {
    return this.tag(`~applied:${eventId}@${occurredAtMs}`);
  }

  /** The namespace generation, read with the tag tokens (same slot, one MGET). */
  get generation(): string {
    return this.tag(GENERATION_FIELD);
  }

  /** The counter of token writes (see tokens.ts); never expires, so never goes back. */
  get sequence(): string {
    return this.tag(SEQUENCE_FIELD);
  }

  /** A key nothing stores, read to learn whether the tags' master answers. */
  get probe(): string {
    return this.tag('~probe');
  }

  /** The recent readers of a tag's entries (read-driven refills, see readers.ts), in the tags' slot. */
  readers(tag: string): string {
    return this.tag(`~readers:${tag}`);
  }

  /**
   * The prefix of a reader's markers in the tags' slot: `<prefix>~taken:<reader>` (a refill is pending)
   * and `<prefix>~stored:<reader>` (when its entry was last stored, by a refill or a client's fill); take-readers.lua
   * builds them from it.
   */
  get readerMarkers(): string {
    return this.tag('');
  }

  /** The prefix of a traced write's span, kept under its tokens' seq (`<prefix><seq>`, see trace-links.ts). */
  get writeSpans(): string {
    return this.tag('~write:');
  }

  /** Set while a reader's refill is pending: the writes meanwhile take it no more (see readerMarkers). */
  taken(reader: string): string {
    return `${this.readerMarkers}~taken:${reader}`;
  }

  /** When a reader's entry was last stored, and by whom (see readerMarkers). */
  stored(reader: string): string {
    return `${this.readerMarkers}~stored:${reader}`;
  }

  /** Set by the first hit on one refill of an entry (counts it as used once across replicas); an entry's slot. */
  refillUsed(key: string, refillId: string): string {
    return `${this.entry(key)}:used:${refillId}`;
  }

  /** A stored response. */
  entry(key: string): string {
    return `${this.namespace}:${key}`;
  }

  /** Who fills a missing entry right now. */
  fillLock(key: string): string {
    return `${this.entry(key)}:fill`;
  }

  /** The hash of hit and miss counters (never deleted with the namespace). */
  get stats(): string {
    return `${this.namespace}:stats`;
  }

  /**
   * SCAN patterns of the keys under `<prefix>`: `organisations` matches `organisations:*` and nothing like
   * `organisations-x`; no prefix, the whole namespace (entries, locks and the tags' slot).
   */
  scanPatterns(prefix: string): string[] {
    return prefix ? [`${this.namespace}:${prefix}:*`] : [`${this.namespace}:*`, `{${this.namespace}:tags}:*`];
  }
}
