/** The process start-up of an API: configuration, telemetry, the ORM, the runtime, the app, and a graceful shutdown. */
import type { Express } from 'express';
import { loadEnv, type Env } from '@crm/config';
import { configureSortOrder, createOrm } from '@crm/database';
import { serve } from '@crm/http';
import { createLogger, ServiceMetrics, type Tracing } from '@crm/telemetry';
import type { ApiAppDeps } from './app';
import { createApiRuntime } from './runtime';

/** How to run one API: its name, its port, its app. */
export interface ApiServiceOptions {
  service: string;
  port: (env: Env) => number;
  buildApp: (deps: ApiAppDeps) => Express;
  /** Started by the service's first import; flushed last on shutdown. */
  tracing: Tracing | null;
}

/**
 * Runs an API process: configuration, logger, metrics, the ORM, the cache and outbox runtime, the app,
 * and a graceful shutdown that lets in-flight requests finish, publishes what they recorded, then closes.
 * A failure to start is printed and exits 1 (a bad environment exits 78 in loadEnv).
 */
export function runApiService(options: ApiServiceOptions): void {
  const start = async () => {
    const env = loadEnv();
    const logger = createLogger(options.service, env.LOG_LEVEL);
    const metrics = new ServiceMetrics(options.service);
    const orm = await createOrm({
      databaseUrl: env.DATABASE_URL,
      poolMax: env.DATABASE_POOL_MAX,
      statementTimeoutMs: env.DATABASE_STATEMENT_TIMEOUT_MS,
      acquireTimeoutMs: env.DATABASE_ACQUIRE_TIMEOUT_MS,
      onQuery: () => metrics.countQuery(),
      replicaUrls: env.DATABASE_REPLICA_URLS,
      replicaRouting: { logger, onRead: (target) => metrics.countRead(target) },
    });
    // Before serving: which list pages may depend on their range of sort keys (the columns' collation).
    await configureSortOrder(orm);
    const runtime = createApiRuntime({
      orm,
      logger,
      cacheRedisUrl: env.CACHE_ENABLED ? env.cacheRedis : null,
      queueRedisUrl: env.queueRedis,
      namespace: env.CACHE_NAMESPACE,
      metrics,
      // The cache-worker checks it, once for the whole deployment.
      checkEvictionPolicy: false,
    });
    const app = options.buildApp({ env, orm, logger, metrics, runtime });
    await serve(app, {
      port: options.port(env),
      logger,
      onShutdown: async () => {
        await runtime.close();
        await orm.close();
        await options.tracing?.shutdown();
      },
    });
  };
  start().catch((error: unknown) => {
    process.stderr.write(`${options.service} failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
