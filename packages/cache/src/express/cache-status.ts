/**
 * The RFC 9211 `Cache-Status` header of a cacheable GET: one list member (RFC 8941), the cache's name then its
 * parameters. Every value here is an sf-token or an sf-integer by construction (the types admit no other), so
 * nothing needs escaping.
 */

/**
 * The cache's name in the header: the same in every deployment, whatever CACHE_NAMESPACE is, so clients and
 * dashboards can match it (the namespace only separates keys in Redis).
 */
export const CACHE_STATUS_NAME = 'crm-cache';

/** Why an answer was not a plain hit or miss: `stale` (past its TTL, served because the database failed), `cache-unavailable` (Redis down). */
export type CacheStatusDetail = 'stale' | 'cache-unavailable';

/** Why the request went to the database: no entry for the key, an entry no longer valid, or the cache not used. */
export type CacheStatusFwd = 'uri-miss' | 'miss' | 'bypass';

/** What the cache did for one response. */
export type CacheStatus =
  /** Served from the cache; `ttl` is the freshness left in seconds (negative when served stale). */
  | { hit: true; ttl: number; detail?: CacheStatusDetail }
  /** Answered from the database; `stored` when the response was written to the cache, `collapsed` when it is another request's fill. */
  | { fwd: CacheStatusFwd; stored?: boolean; collapsed?: boolean; detail?: CacheStatusDetail };

/** The header's value, e.g. `crm-cache; hit; ttl=297` or `crm-cache; fwd=uri-miss; stored`. */
export function formatCacheStatus(status: CacheStatus): string {
  const params = 'hit' in status
    ? ['hit', `ttl=${Math.trunc(status.ttl)}`]
    : [`fwd=${status.fwd}`, ...(status.stored ? ['stored'] : []), ...(status.collapsed ? ['collapsed'] : [])];
  if (status.detail) params.push(`detail=${status.detail}`);
  return [CACHE_STATUS_NAME, ...params].join('; ');
}

/** Whole seconds of freshness left for an entry fresh until `freshUntil` (epoch ms): rounded down, negative once past. */
export function freshnessLeft(freshUntil: number, now = Date.now()): number {
  return Math.floor((freshUntil - now) / 1_000);
}
