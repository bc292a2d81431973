import { createHash } from 'node:crypto';

/** Serialises with sorted object keys, so parameter order never changes a key. */
export function canonicalJson(value: unknown): string {
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
