import { tracing } from './instrument';
import { loadEnv } from '@crm/config';
import { createOrm } from '@crm/database';
import { createApiRuntime } from '@crm/jobs';
import { serve } from '@crm/http';
import { createLogger, ServiceMetrics } from '@crm/telemetry';
import { buildApp, SERVICE } from './app';

async function main(): Promise<void> {
  const env = loadEnv();
  const logger = createLogger(SERVICE, env.LOG_LEVEL);
  const metrics = new ServiceMetrics(SERVICE);
  const orm = await createOrm({ databaseUrl: env.DATABASE_URL, poolMax: env.DATABASE_POOL_MAX, onQuery: () => metrics.countQuery() });
  const runtime = createApiRuntime({
    orm,
    logger,
    cacheRedisUrl: env.CACHE_ENABLED ? env.REDIS_URL : null,
    queueRedisUrl: env.QUEUE_REDIS_URL,
    namespace: env.CACHE_NAMESPACE,
    metrics,
    checkEvictionPolicy: true,
  });
  const app = buildApp({ env, orm, logger, metrics, runtime });
  await serve(app, {
    port: env.ORGANISATIONS_API_PORT,
    logger,
    onShutdown: async () => {
      // In-flight requests have finished: publish what they recorded, then close.
      await runtime.close();
      await orm.close();
      await tracing?.shutdown();
    },
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`${SERVICE} failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
