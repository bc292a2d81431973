import type { Express } from 'express';
import type { Env } from '@crm/config';
import { databaseProbe, type MikroORM } from '@crm/database';
import { createServiceApp, OpenApiRegistry, type Probe } from '@crm/http';
import type { Logger, ServiceMetrics } from '@crm/telemetry';

export const SERVICE = 'cache-worker';

export interface WorkerAppDeps {
  env: Env;
  orm: MikroORM;
  logger: Logger;
  metrics: ServiceMetrics;
  cacheProbe: Probe;
  queueProbe: Probe;
}

/** The worker's HTTP side: /health and /metrics (the queue dashboard joins it with the jobs). */
export function buildWorkerApp(deps: WorkerAppDeps): Express {
  const openapi = new OpenApiRegistry({
    title: 'CRM cache worker',
    version: '1.0.0',
    description: 'Runs cache invalidation and warm-up jobs. Serves health and metrics.',
  }, '');
  return createServiceApp({
    service: SERVICE,
    logger: deps.logger,
    metrics: deps.metrics,
    jwtSecret: deps.env.JWT_SECRET,
    openapi,
    health: { database: databaseProbe(deps.orm), cache: deps.cacheProbe, queue: deps.queueProbe },
    routes: () => undefined,
  });
}
