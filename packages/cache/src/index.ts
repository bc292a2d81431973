export { ResponseCache, etagOf, type ResponseCacheOptions, type Lookup, type CacheStats } from './response-cache';
export { cacheResponse, type CacheResponseOptions, type CacheMiddlewareContext } from './middleware';
export { CircuitBreaker } from './breaker';
export { cacheKey, canonicalJson } from './keys';
export { createCacheRedis, checkCacheEvictionPolicy, checkQueueEvictionPolicy } from './redis';
export { encodeEntry, decodeEntry, type Entry, type EntryHeader } from './entry';
export type { CacheResult } from './stats';
export { DEFAULT_TTLS, ttlFor } from './ttl';
export { routeCache, cacheAdminRoutes, type RouteCacheOptions } from './routes';
