import type { Express } from 'express';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import type { Env } from '@crm/config';
import { databaseProbe, type MikroORM } from '@crm/database';
import { createServiceApp, OpenApiRegistry, pageGuard, securityOptions, type Probe } from '@crm/http';
import type { Logger, ServiceMetrics } from '@crm/telemetry';

export const SERVICE = 'cache-worker';
export const QUEUES_PAGE = '/admin/queues';

export interface WorkerAppDeps {
  env: Env;
  orm: MikroORM;
  logger: Logger;
  metrics: ServiceMetrics;
  cacheProbe: Probe;
  queueProbe: Probe;
  /** The queues the dashboard shows (none: no dashboard). */
  queues?: Queue[];
}

/** The worker's HTTP side: /health, /metrics, and the queue dashboard at /admin/queues (admins only). */
export function buildWorkerApp(deps: WorkerAppDeps): Express {
  const openapi = new OpenApiRegistry({
    title: 'CRM cache worker',
    version: '1.0.0',
    description: 'Runs cache invalidation and warm-up jobs. Serves health, metrics and the queue dashboard.',
  }, '');
  return createServiceApp({
    service: SERVICE,
    logger: deps.logger,
    metrics: deps.metrics,
    ...securityOptions(deps.env),
    openapi,
    health: { database: databaseProbe(deps.orm), cache: deps.cacheProbe, queue: deps.queueProbe },
    routes: () => undefined,
    pages: (app) => {
      if (!deps.queues?.length) return;
      const board = new ExpressAdapter();
      board.setBasePath(QUEUES_PAGE);
      createBullBoard({ queues: deps.queues.map((q) => new BullMQAdapter(q)), serverAdapter: board });
      app.use(QUEUES_PAGE, ...pageGuard(deps.env.JWT_SECRET, 'admin', QUEUES_PAGE), board.getRouter());
    },
  });
}
