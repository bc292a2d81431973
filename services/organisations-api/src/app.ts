import type { Express } from 'express';
import { cacheAdminRoutes, routeCache, type ResponseCache } from '@crm/cache';
import type { Env } from '@crm/config';
import { databaseProbe, requestContext, tagsForChange, type Change, type MikroORM } from '@crm/database';
import { createServiceApp, OpenApiRegistry, type Probe } from '@crm/http';
import type { Logger, ServiceMetrics } from '@crm/telemetry';
import { mandatRoutes } from './routes/mandats';
import { organisationRoutes } from './routes/organisations';
import { produitRoutes } from './routes/produits';

export const SERVICE = 'organisations-api';

export interface AppDeps {
  env: Env;
  orm: MikroORM;
  logger: Logger;
  metrics: ServiceMetrics;
  /** null when CACHE_ENABLED=false. */
  cache: ResponseCache | null;
  queueProbe?: Probe;
}

/** What the route modules need: the ORM, the per-route cache middleware, and the write-side invalidation. */
export interface RouteDeps {
  orm: MikroORM;
  cached: ReturnType<typeof routeCache>;
  /** Invalidates what a committed change touches, before the write answers. */
  invalidate: (change: Change) => Promise<void>;
}

/** Builds the organisations API (supertest imports this; server.ts listens). */
export function buildApp(deps: AppDeps): Express {
  const openapi = new OpenApiRegistry({
    title: 'CRM organisations API',
    version: '1.0.0',
    description: 'Organisations, their mandats, and produits. Bearer JWT (HS256) with role reader, editor or admin.',
  });
  return createServiceApp({
    service: SERVICE,
    logger: deps.logger,
    metrics: deps.metrics,
    jwtSecret: deps.env.JWT_SECRET,
    openapi,
    rateLimitPerMinute: deps.env.RATE_LIMIT_PER_MINUTE,
    health: { database: databaseProbe(deps.orm), cache: deps.cache ? () => deps.cache!.ping() : null, queue: deps.queueProbe ?? null },
    perRequest: requestContext(deps.orm),
    routes: (api) => {
      const routeDeps: RouteDeps = {
        orm: deps.orm,
        cached: routeCache({ cache: deps.cache, ttlOverrides: deps.env.cacheTtlOverrides }),
        invalidate: async (change) => {
          await deps.cache?.invalidateTags(tagsForChange(change));
        },
      };
      organisationRoutes(api, openapi, routeDeps);
      mandatRoutes(api, openapi, routeDeps);
      produitRoutes(api, openapi, routeDeps);
      cacheAdminRoutes(api, openapi, deps.cache);
    },
  });
}
