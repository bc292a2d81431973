export { ResponseCache, etagOf, type ResponseCacheOptions, type Lookup, type CacheStats, type ReplayableEvent, type ReplayPage, type ReplaySource, type AppliedEvent } from './response-cache';
export { cacheResponse, type CacheResponseOptions, type CacheMiddlewareContext } from './middleware';
export { CircuitBreaker } from './breaker';
export { cacheKey, canonicalJson } from './keys';
export { encodeEntry, decodeEntry, type Entry, type EntryHeader } from './entry';
export type { CacheResult } from './stats';
export { DEFAULT_TTLS, ttlFor } from './ttl';
export { routeCache, cacheAdminRoutes, type RouteCacheOptions, type RequestInvalidation } from './routes';
