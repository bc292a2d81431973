/**
 * The app builder both APIs use: an API names its OpenAPI title and description, its cache policy and its route
 * modules; the builder adds what they all share (security, rate limits in the cache Redis, health probes, a
 * MikroORM context per request, the per-route cache middleware from the policy, the write path, the cache admin
 * routes) and checks that the routes mount every view of the policy.
 */
import type { Express, RequestHandler, Router } from 'express';
import { CACHE_RESPONSE_HEADERS, cacheAdminRoutes, serveStaleOnFailure } from '@crm/cache/express';
import type { ApiPolicy, CachedView } from '@crm/cache-policy';
import type { Env } from '@crm/config';
import { databaseProbe, requestContext, type MikroORM } from '@crm/database';
import { createServiceApp, OpenApiRegistry, securityOptions } from '@crm/http';
import type { Logger, ServiceMetrics } from '@crm/telemetry';
import { assertViewsMounted } from './mounts';
import type { ApiRuntime } from './runtime';
import { readerTracking } from './readers';
import { viewCache, type CachedMiddleware } from './view-cache';
import type { ChangeWriter } from './writer';

/** What the route modules need: the ORM, the per-route cache middleware, and the write path. */
export interface RouteDeps {
  orm: MikroORM;
  /** The cache middleware of a view of the API's policy: `middleware: [cached(organisationsApi.views.organisation)]`. */
  cached: CachedMiddleware;
  /** Runs a change and its outbox event in one transaction, then invalidates what it touched before the write answers. */
  write: ChangeWriter['write'];
}

/** What each API's `buildApp` takes (from runApiService, the test harness, or the benchmark's peer server). */
export interface ApiAppDeps {
  env: Env;
  orm: MikroORM;
  logger: Logger;
  metrics: ServiceMetrics;
  /** The response cache (null when CACHE_ENABLED=false), the outbox relay and the write path. */
  runtime: Pick<ApiRuntime, 'cache' | 'cacheRedis' | 'writer' | 'queueProbe'>;
  /** Another cache in place of ours, for the benchmark's side-by-side phases (npm run bench): its route middleware and write path. */
  routeOverrides?: Partial<Pick<RouteDeps, 'cached' | 'write'>>;
}

/** One group of an API's routes (e.g. organisationRoutes), registered on its router and in its OpenAPI document. */
export type RouteModule = (router: Router, openapi: OpenApiRegistry, deps: RouteDeps) => void;

/** What makes one API itself. */
export interface ApiDefinition {
  /** Its cached views; its service name is the policy's. */
  policy: ApiPolicy;
  /** The OpenAPI document's title and description. */
  title: string;
  description: string;
  /** Registered in this order (Express matches in order: `/people/search` before `/people/:id`). */
  routes: RouteModule[];
}

/** Builds an API's Express app (supertest imports it; runApiService listens). */
export function buildApiApp(api: ApiDefinition, deps: ApiAppDeps): Express {
  const openapi = new OpenApiRegistry({ title: api.title, version: '1.0.0', description: api.description });
  const { cache, writer } = deps.runtime;
  const buildCached = deps.routeOverrides?.cached
    ?? viewCache({
      cache, ttlOverrides: deps.env.cacheTtlOverrides,
      onResult: (prefix, result) => deps.metrics.countCacheResult(prefix, result),
      readers: readerTracking(api.policy.service, (kind) => deps.metrics.countRefill(kind)),
    });
  // Which view each route's middleware serves, for the check that the routes mount the whole policy.
  const marks = new Map<RequestHandler, CachedView>();
  const cached: CachedMiddleware = (view) => {
    const middleware = buildCached(view);
    marks.set(middleware, view);
    return middleware;
  };
  // The cached routes document the cache's headers (X-Cache, Cache-Status, ETag) on their 200.
  openapi.describeResponseHeaders((spec) => (spec.middleware?.some((m) => marks.has(m)) ? CACHE_RESPONSE_HEADERS : undefined));
  return createServiceApp({
    service: api.policy.service,
    logger: deps.logger,
    metrics: deps.metrics,
    ...securityOptions(deps.env),
    openapi,
    // Counted in the cache Redis, per client across all replicas; outside the namespace, so DELETE /cache keeps them.
    rateLimitRedis: deps.runtime.cacheRedis,
    rateLimitPrefix: `${cache?.namespace ?? 'crm'}-ratelimit:`,
    health: { database: databaseProbe(deps.orm), cache: cache ? () => cache.ping() : null, queue: deps.runtime.queueProbe },
    perRequest: requestContext(deps.orm),
    // Grace: an entry past its TTL (never invalidated) answers when the database fails.
    errorHandlers: [serveStaleOnFailure()],
    routes: (router) => {
      const routeDeps: RouteDeps = { orm: deps.orm, cached, write: deps.routeOverrides?.write ?? ((work) => writer.write(work)) };
      for (const routes of api.routes) routes(router, openapi, routeDeps);
      cacheAdminRoutes(router, openapi, cache, (tags, prefix) => writer.requestInvalidation(tags, prefix));
      assertViewsMounted(api.policy, router, marks);
    },
  });
}
