import { checkCacheEvictionPolicy, checkQueueEvictionPolicy } from '@crm/cache';
import { loadEnv } from '@crm/config';
import { createOrm } from '@crm/database';
import { serve } from '@crm/http';
import { createLogger, ServiceMetrics } from '@crm/telemetry';
import { buildWorkerApp, SERVICE } from './app';
import { connectRedis, redisProbe } from './redis';

async function main(): Promise<void> {
  const env = loadEnv();
  const logger = createLogger(SERVICE, env.LOG_LEVEL);
  const metrics = new ServiceMetrics(SERVICE);
  const orm = await createOrm({ databaseUrl: env.DATABASE_URL, poolMax: 5, onQuery: () => metrics.countQuery() });
  const cache = connectRedis(env.REDIS_URL, `${SERVICE}:cache`, logger);
  const queue = connectRedis(env.QUEUE_REDIS_URL, `${SERVICE}:queue`, logger);
  // At start: warn when the cache would not evict, or the queue could.
  cache.once('ready', () => void checkCacheEvictionPolicy(cache, logger));
  queue.once('ready', () => void checkQueueEvictionPolicy(queue, logger));
  const app = buildWorkerApp({ env, orm, logger, metrics, cacheProbe: redisProbe(cache), queueProbe: redisProbe(queue) });
  await serve(app, {
    port: env.CACHE_WORKER_PORT,
    logger,
    onShutdown: async () => {
      await Promise.allSettled([orm.close(), cache.quit(), queue.quit()]);
    },
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`${SERVICE} failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
