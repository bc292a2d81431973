/** The response cache's core (`@crm/cache`); its Express adapter is `@crm/cache/express`. */

/** The response cache: lookup, store, invalidation by events, fill locks, stats (see response-cache.ts). */
export { ResponseCache } from './response-cache';
/** What a lookup found: hit, expired (servable as stale), miss (with the tokens a fill stores), or unavailable. */
export type { Lookup } from './lookup';
/** Thrown by applyEventOrThrow when Redis does not take an event (code `E_CACHE_UNAVAILABLE`, the failure as `cause`). */
export { CacheUnavailableError } from './errors';
