import { checkCacheEvictionPolicy, createCacheRedis, ResponseCache } from '@crm/cache';
import { loadEnv } from '@crm/config';
import { createOrm } from '@crm/database';
import { serve } from '@crm/http';
import { createLogger, ServiceMetrics } from '@crm/telemetry';
import { buildApp, SERVICE } from './app';

async function main(): Promise<void> {
  const env = loadEnv();
  const logger = createLogger(SERVICE, env.LOG_LEVEL);
  const metrics = new ServiceMetrics(SERVICE);
  const orm = await createOrm({ databaseUrl: env.DATABASE_URL, poolMax: env.DATABASE_POOL_MAX, onQuery: () => metrics.countQuery() });
  const redis = env.CACHE_ENABLED ? createCacheRedis(env.REDIS_URL, logger) : null;
  const cache = redis ? new ResponseCache({ redis, logger }) : null;
  if (redis) redis.once('ready', () => void checkCacheEvictionPolicy(redis, logger));
  const app = buildApp({ env, orm, logger, metrics, cache });
  await serve(app, {
    port: env.ORGANISATIONS_API_PORT,
    logger,
    onShutdown: async () => {
      await cache?.close();
      redis?.disconnect();
      await orm.close();
    },
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`${SERVICE} failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
