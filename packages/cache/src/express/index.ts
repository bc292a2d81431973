/**
 * `@crm/cache/express`: the response cache as Express sees it. The core (`@crm/cache`) knows nothing of Express
 * or of the CRM's routes; this adapter does.
 */

/** The middleware of one cached route, and its options. */
export { cacheResponse, type CacheResponseOptions, type CacheMiddlewareContext } from './middleware';
/** The per-route middleware factory (contract TTLs, admin bypass) and the cache admin routes. */
export { routeCache, cacheAdminRoutes } from './routes';
/** The error handler that serves an expired entry when the database fails (register before the problem handler). */
export { serveStaleOnFailure } from './stale';
