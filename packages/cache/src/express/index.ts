/**
 * `@crm/cache/express`: the response cache as Express sees it. The core (`@crm/cache`) knows nothing of Express
 * or of the CRM's routes; this adapter does.
 */

/** The middleware of one cached route, and its options. */
export { cacheResponse, type CacheResponseOptions, type CacheMiddlewareContext } from './middleware';
/** The headers every cached response carries, as OpenAPI header objects (for the API's document). */
export { CACHE_RESPONSE_HEADERS } from './respond';
/** How an API names the reader of a request, for read-driven refills. */
export type { ReaderTracking, ReadBy } from './readers';
/** The contract's cache admin routes (stats, invalidation, clearing). */
export { cacheAdminRoutes, type RequestInvalidation } from './routes';
/** What a cached route answered from: hit, miss, stale, bypass or error (for metrics). */
export type { CacheResult } from '../stats';
/** The error handler that serves an expired entry when the database fails (register before the problem handler). */
export { serveStaleOnFailure } from './stale';
