import { tracing } from './instrument';
import { createOrm } from '@crm/database';
import { serve } from '@crm/http';
import { createLogger, ServiceMetrics } from '@crm/telemetry';
import { pingRedis } from '@crm/redis';
import { buildWorkerApp, SERVICE } from './app';
import { loadWorkerEnv } from './env';
import { checkEvictionPolicies } from './eviction-check';
import { CacheWorker } from './worker';

async function main(): Promise<void> {
  const { env, worker: settings } = loadWorkerEnv();
  const logger = createLogger(SERVICE, env.LOG_LEVEL);
  const metrics = new ServiceMetrics(SERVICE);
  const orm = await createOrm({ databaseUrl: env.DATABASE_URL, poolMax: 5, onQuery: () => metrics.countQuery() });
  const worker = new CacheWorker({
    orm,
    logger,
    metrics,
    cacheRedisUrl: env.cacheRedis,
    queueRedisUrl: env.queueRedis,
    apiUrls: { 'organisations-api': env.ORGANISATIONS_API_URL, 'people-api': env.PEOPLE_API_URL },
    warmupToken: settings.warmupToken,
    failedJobs: settings.failedJobs,
    namespace: env.CACHE_NAMESPACE,
    concurrency: env.WORKER_CONCURRENCY,
    warmupConcurrency: env.WARMUP_CONCURRENCY,
    lockMs: env.WORKER_LOCK_MS,
    warmupOnStart: env.WARMUP_ON_START,
    outboxRetentionHours: env.OUTBOX_RETENTION_HOURS,
    audit: { perSecond: env.CACHE_AUDIT_PER_SECOND, ttlOverrides: env.cacheTtlOverrides },
  }).start();
  // At start: warn when the cache would not evict, or the queue could (checked here only, not by the APIs).
  checkEvictionPolicies(worker.cacheRedis, worker.queueRedis, logger, env.NODE_ENV === 'production')
    .catch((error: unknown) => logger.warn({ err: (error as Error).message }, 'eviction policy check failed'));
  const app = buildWorkerApp({
    env, orm, logger, metrics,
    cacheProbe: () => worker.cache.ping(),
    queueProbe: () => pingRedis(worker.queueRedis),
    queues: Object.values(worker.queues),
    adminQueuesToken: settings.adminQueuesToken,
  });
  await serve(app, {
    port: env.CACHE_WORKER_PORT,
    logger,
    onShutdown: async () => {
      // Active jobs finish (or are returned for another worker) before the connections close.
      await worker.close();
      await orm.close();
      await tracing?.shutdown();
    },
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`${SERVICE} failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
