/**
 * The per-route cache middleware, fed by the cache policy: `cached(view)` is `cacheResponse` (@crm/cache/express) with the
 * view's prefix, operation, TTL (after `CACHE_TTL_<PREFIX>`) and tags, and admins bypass it (always fresh data).
 */
import type { Request, RequestHandler } from 'express';
import type { ResponseCache } from '@crm/cache';
import { cacheResponse, type CacheResult, type ReaderTracking } from '@crm/cache/express';
import { ttlOf, type CachedView } from '@crm/cache-policy';

/** Builds a route's cache middleware from one of the API's views. */
export type CachedMiddleware = (view: CachedView) => RequestHandler;

/** What every cached route of an API shares. */
export interface ViewCacheOptions {
  /** null when CACHE_ENABLED=false: every read goes to the database, marked BYPASS. */
  cache: ResponseCache | null;
  /** `CACHE_TTL_<PREFIX>` overrides (env.cacheTtlOverrides). */
  ttlOverrides?: Record<string, number>;
  /** Counts each cached route's result (for `cache_requests_total`). */
  onResult?: (prefix: string, result: CacheResult) => void;
  /** Records who reads what, for the worker's read-driven refills (readers.ts). */
  readers?: ReaderTracking;
}

/**
 * Admins always read fresh data (`X-Cache: BYPASS`). So does the cache worker (its WARMUP_TOKEN principal) when it
 * asks with `Cache-Control: no-cache`: its consistency auditor compares an entry with a fresh read of the same route.
 * Only that internal principal may: a reader's no-cache would let any client push reads onto PostgreSQL.
 */
const bypasses = (req: Request) =>
  req.principal?.role === 'admin' || (req.principal?.internal === true && /\bno-cache\b/i.test(req.get('cache-control') ?? ''));

/** The cache middleware factory of an API's routes: one `cacheResponse` per view, with admin (and auditor) bypass. */
export function viewCache(options: ViewCacheOptions): CachedMiddleware {
  const context = {
    cache: options.cache, bypass: bypasses,
    ...(options.onResult ? { onResult: options.onResult } : {}),
    ...(options.readers ? { readers: options.readers } : {}),
  };
  return (view) => cacheResponse(context, {
    keyPrefix: view.prefix,
    operation: view.operation,
    ttl: ttlOf(view, options.ttlOverrides),
    tags: (input) => view.tags(input),
    shows: (input, result) => view.shows(input, result),
  });
}
