/** The response cache's core (`@crm/cache`); its Express adapter is `@crm/cache/express`. */

/** The response cache: lookup, store, invalidation by events, fill locks, stats (see response-cache.ts). */
export { ResponseCache } from './response-cache';
/** What a lookup found: hit, expired (servable as stale), miss (with the tokens a fill stores), or unavailable. */
export type { Lookup } from './lookup';
/** The consistency auditor's read-only look at one entry: none, valid (servable now, with its tags), invalid, unavailable. */
export type { Inspection } from './inspect';
/** The consistency auditor's system-wide counters in the stats. */
export type { AuditorCounts } from './stats';
/** Thrown by applyEventOrThrow when Redis does not take an event (code `E_CACHE_UNAVAILABLE`, the failure as `cause`). */
export { CacheUnavailableError } from './errors';
export { linkTo } from './trace-links';
