import type { Express } from 'express';
import { cacheAdminRoutes, routeCache, serveStaleOnFailure } from '@crm/cache/express';
import type { Env } from '@crm/config';
import { databaseProbe, requestContext, type MikroORM } from '@crm/database';
import type { ApiRuntime, ChangeWriter } from '@crm/jobs';
import { createServiceApp, OpenApiRegistry, securityOptions } from '@crm/http';
import type { Logger, ServiceMetrics } from '@crm/telemetry';
import { interactionRoutes } from './routes/interactions';
import { peopleRoutes } from './routes/people';

export const SERVICE = 'people-api';

export interface AppDeps {
  env: Env;
  orm: MikroORM;
  logger: Logger;
  metrics: ServiceMetrics;
  /** The response cache (null when CACHE_ENABLED=false), the outbox relay and the write path. */
  runtime: Pick<ApiRuntime, 'cache' | 'cacheRedis' | 'writer' | 'queueProbe'>;
  /** Another cache in place of ours, for the benchmark's side-by-side phases (npm run bench): its route middleware and write path. */
  routeOverrides?: Partial<Pick<RouteDeps, 'cached' | 'write'>>;
}

/** What the route modules need: the ORM, the per-route cache middleware, and the write path. */
export interface RouteDeps {
  orm: MikroORM;
  cached: ReturnType<typeof routeCache>;
  /** Runs a change and its outbox event in one transaction, then invalidates what it touched before the write answers. */
  write: ChangeWriter['write'];
}

/** Builds the people API (supertest imports this; server.ts listens). */
export function buildApp(deps: AppDeps): Express {
  const openapi = new OpenApiRegistry({
    title: 'CRM people API',
    version: '1.0.0',
    description: 'People and their interactions. Bearer JWT (HS256) with role reader, editor or admin.',
  });
  const { cache, writer } = deps.runtime;
  return createServiceApp({
    service: SERVICE,
    logger: deps.logger,
    metrics: deps.metrics,
    ...securityOptions(deps.env),
    openapi,
    // Counted in the cache Redis, per client across all replicas; outside the namespace, so DELETE /cache keeps them.
    rateLimitRedis: deps.runtime.cacheRedis,
    rateLimitPrefix: `${cache?.namespace ?? 'crm'}-ratelimit:`,
    health: { database: databaseProbe(deps.orm), cache: cache ? () => cache.ping() : null, queue: deps.runtime.queueProbe },
    perRequest: requestContext(deps.orm),
    // Grace: an expired entry is served when the database fails while refreshing it.
    errorHandlers: [serveStaleOnFailure()],
    routes: (api) => {
      const routeDeps: RouteDeps = {
        orm: deps.orm,
        cached: deps.routeOverrides?.cached
          ?? routeCache({ cache, ttlOverrides: deps.env.cacheTtlOverrides, onResult: (prefix, result) => deps.metrics.countCacheResult(prefix, result) }),
        write: deps.routeOverrides?.write ?? ((work) => writer.write(work)),
      };
      // People first: `/people/search` must be matched before `/people/:id`.
      peopleRoutes(api, openapi, routeDeps);
      interactionRoutes(api, openapi, routeDeps);
      cacheAdminRoutes(api, openapi, cache, (tags, prefix) => writer.requestInvalidation(tags, prefix));
    },
  });
}
