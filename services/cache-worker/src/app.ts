import { randomBytes } from 'node:crypto';
import express, { type Express } from 'express';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import type { Env } from '@crm/config';
import { databaseProbe, type MikroORM } from '@crm/database';
import { createServiceApp, HttpProblem, OpenApiRegistry, type Probe } from '@crm/http';
import type { Logger, ServiceMetrics } from '@crm/telemetry';
import { dashboardAuth } from './dashboard-auth';

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
  /** The dashboard's own credential (ADMIN_QUEUES_TOKEN); null: the dashboard is off. */
  adminQueuesToken: string | null;
}

/**
 * The worker's HTTP side: /health, /metrics, and the queue dashboard at /admin/queues, for holders of
 * ADMIN_QUEUES_TOKEN (see dashboard-auth.ts). The worker serves no API and holds no JWT key: its unused /api/v1
 * router gets a random key of this process, so no token verifies there.
 */
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
    // The worker serves no API: a key nobody knows, so no bearer token verifies here and none can be minted from it.
    auth: { secret: randomBytes(32).toString('base64url') },
    openapi,
    health: { database: databaseProbe(deps.orm), cache: deps.cacheProbe, queue: deps.queueProbe },
    routes: () => undefined,
    pages: (app) => {
      if (!deps.queues?.length) return;
      if (!deps.adminQueuesToken) {
        app.use(QUEUES_PAGE, (_req, _res, next) => next(new HttpProblem('not_found', 'The queue dashboard is off: set ADMIN_QUEUES_TOKEN on the worker to turn it on')));
        return;
      }
      const board = new ExpressAdapter();
      board.setBasePath(QUEUES_PAGE);
      createBullBoard({ queues: deps.queues.map((q) => new BullMQAdapter(q)), serverAdapter: board });
      const { login, guard } = dashboardAuth(deps.adminQueuesToken, QUEUES_PAGE);
      const dashboard = express.Router();
      dashboard.use(login, guard, board.getRouter());
      app.use(QUEUES_PAGE, dashboard);
    },
  });
}
