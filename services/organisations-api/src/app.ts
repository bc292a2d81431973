import type { Express } from 'express';
import type { Env } from '@crm/config';
import { databaseProbe, requestContext, type MikroORM } from '@crm/database';
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
  cacheProbe?: Probe;
  queueProbe?: Probe;
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
    health: { database: databaseProbe(deps.orm), cache: deps.cacheProbe ?? null, queue: deps.queueProbe ?? null },
    perRequest: requestContext(deps.orm),
    routes: (api) => {
      organisationRoutes(api, openapi, deps.orm);
      mandatRoutes(api, openapi, deps.orm);
      produitRoutes(api, openapi, deps.orm);
    },
  });
}
