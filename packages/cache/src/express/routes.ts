/**
 * The contract's cache admin routes: stats, invalidation, clearing.
 */
import type { Router } from 'express';
import { z } from 'zod';
import { defineRoute, HttpProblem, type OpenApiRegistry } from '@crm/http';
import type { ResponseCache } from '../response-cache';

const invalidateBody = z.strictObject({
  tags: z.array(z.string().min(1).max(200)).max(1_000).optional(),
  prefix: z.string().regex(/^[a-z][a-z0-9_-]*(:[a-z0-9_-]+)*$/, 'must be a key prefix like organisations or organisations:detail').max(100).optional(),
}).refine((b) => b.tags !== undefined || b.prefix !== undefined, { message: 'give tags, a prefix, or both' });

const statsResponse = z.object({
  available: z.boolean(), hits: z.number(), misses: z.number(), totalRequests: z.number(), hitRate: z.number(),
  keysCount: z.number(), memoryUsed: z.string(), memoryUsedBytes: z.number(), evictedKeys: z.number(),
  byPrefix: z.record(z.string(), z.object({ hits: z.number(), misses: z.number(), hitRate: z.number() })),
  refills: z.object({ done: z.number(), used: z.number(), wasted: z.number() })
    .describe('Read-driven refills by the worker: entries refilled, refills hit before the next write, refills invalidated unread'),
  auditor: z.object({ checks: z.number(), inconsistencies: z.number() })
    .describe('The consistency auditor (cache worker): entries compared with a fresh read, and those found stale while still valid'),
});

/** Records an admin's invalidation for the worker to do; resolves with the event's id once it is durable. */
export type RequestInvalidation = (tags: string[], prefix: string | null) => Promise<{ eventId: string }>;

/** The contract's cache routes: stats for any reader, invalidation and clearing for admins. */
export function cacheAdminRoutes(router: Router, openapi: OpenApiRegistry, cache: ResponseCache | null, requestInvalidation: RequestInvalidation): void {
  const unavailable = { available: false, hits: 0, misses: 0, totalRequests: 0, hitRate: 0, keysCount: 0, memoryUsed: '0B', memoryUsedBytes: 0, evictedKeys: 0, byPrefix: {}, refills: { done: 0, used: 0, wasted: 0 }, auditor: { checks: 0, inconsistencies: 0 } };
  defineRoute(router, openapi, {
    method: 'get', path: '/cache/stats', tag: 'cache', role: 'reader', expensive: true,
    summary: 'Cache hits and misses across all replicas and both APIs, per prefix, with Redis keys and memory',
    response: statsResponse,
    handler: async () => (cache ? cache.readStats() : unavailable),
  });
  defineRoute(router, openapi, {
    method: 'post', path: '/cache/invalidate', tag: 'cache', role: 'admin', status: 202, expensive: true,
    summary: 'Invalidate cached responses by tags and/or key prefix: recorded at once, done by the cache worker',
    body: invalidateBody,
    response: z.object({ accepted: z.literal(true), eventId: z.string(), tags: z.array(z.string()), prefix: z.string().nullable() }),
    handler: async ({ body }) => {
      const { eventId } = await requestInvalidation(body.tags ?? [], body.prefix ?? null);
      return { accepted: true as const, eventId, tags: body.tags ?? [], prefix: body.prefix ?? null };
    },
  });
  defineRoute(router, openapi, {
    method: 'delete', path: '/cache', tag: 'cache', role: 'admin', expensive: true,
    summary: "Remove this application's cache keys (never FLUSHDB/FLUSHALL)",
    // The one cache route that needs Redis to answer: a Redis that is down or too slow is a 503, not a 500.
    handler: async () => ({
      deleted: cache
        ? await cache.deletePrefix('').catch((error: unknown) => { throw new HttpProblem('unavailable', 'The cache is unavailable', undefined, { cause: error }); })
        : 0,
    }),
  });
}
