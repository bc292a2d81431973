import type { Express } from 'express';
import type { Env } from '@crm/config';
import { databaseProbe, requestContext, type MikroORM } from '@crm/database';
import { createServiceApp, OpenApiRegistry, type Probe } from '@crm/http';
import type { Logger, ServiceMetrics } from '@crm/telemetry';
import { interactionRoutes } from './routes/interactions';
import { peopleRoutes } from './routes/people';

export const SERVICE = 'people-api';

export interface AppDeps {
  env: Env;
  orm: MikroORM;
  logger: Logger;
  metrics: ServiceMetrics;
  cacheProbe?: Probe;
  queueProbe?: Probe;
}

/** Builds the people API (supertest imports this; server.ts listens). */
export function buildApp(deps: AppDeps): Express {
  const openapi = new OpenApiRegistry({
    title: 'CRM people API',
    version: '1.0.0',
    description: 'People and their interactions. Bearer JWT (HS256) with role reader, editor or admin.',
  });
  return createServiceApp({
    service: SERVICE,
    logger: deps.logger,
    metrics: deps.metrics,
    jwtSecret: deps.env.JWT_SECRET,
    openapi,
    rateLimitPerMinute: deps.env.RATE_LIMIT_PER_MINUTE,
    health: { database: databaseProbe(deps.orm), cache: deps.cacheProbe ?? null, queue: deps.queueProbe ?? null },
    perRequest: requestContext(deps.orm),
    routes: (api) => {
      // People first: `/people/search` must be matched before `/people/:id`.
      peopleRoutes(api, openapi, deps.orm);
      interactionRoutes(api, openapi, deps.orm);
    },
  });
}
