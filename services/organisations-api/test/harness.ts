import { parseEnv, type Env } from '@crm/config';
import { createOrm, prepareTestDatabase, truncateAll, TEST_DATABASE_URL, type MikroORM } from '@crm/database';
import { mintToken, type Role } from '@crm/http';
import { createLogger, ServiceMetrics } from '@crm/telemetry';
import type { Express } from 'express';
import { randomUUID } from 'node:crypto';
import type { ResponseCache } from '@crm/cache';
import { createApiRuntime, type ApiRuntime } from '@crm/jobs';
import type { Redis } from 'ioredis';
import { buildApp, SERVICE } from '../src/app';

/** A real organisations API on the real test database, with a count of the SQL it sends. */
export interface Harness {
  app: Express;
  orm: MikroORM;
  env: Env;
  sql: string[];
  /** The response cache, when the harness was started with `{ cache: true }` (its own key namespace). */
  cache: ResponseCache | null;
  redis: Redis | null;
  runtime: ApiRuntime;
  token: (role: Role) => string;
  auth: (role: Role) => { Authorization: string };
  close: () => Promise<void>;
}

export interface HarnessOptions {
  env?: Record<string, string>;
  /** Use a real response cache on the local Redis, in a namespace of its own. */
  cache?: boolean;
  redisUrl?: string;
  namespace?: string;
  /** Publish outbox events to this queue Redis (default: none; the events wait in the outbox). */
  queueRedisUrl?: string;
  /** Keep the tables' rows (a second instance of the API on the same data). */
  keepData?: boolean;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const overrides = options.env ?? {};
  await prepareTestDatabase();
  const env = parseEnv({ NODE_ENV: 'test', LOG_LEVEL: 'silent', DATABASE_URL: TEST_DATABASE_URL, ...overrides });
  const sql: string[] = [];
  const metrics = new ServiceMetrics(SERVICE);
  const orm = await createOrm({ databaseUrl: env.DATABASE_URL, onQuery: (s) => { sql.push(s); metrics.countQuery(); } });
  if (!options.keepData) await truncateAll(orm);
  const logger = createLogger(SERVICE, 'silent');
  const runtime = createApiRuntime({
    orm,
    logger,
    metrics,
    cacheRedisUrl: options.cache ? (options.redisUrl ?? env.REDIS_URL) : null,
    queueRedisUrl: options.queueRedisUrl ?? null,
    namespace: options.namespace ?? `crm-test-${randomUUID().slice(0, 8)}`,
    statsFlushMs: 100,
    relayPollMs: 200,
  });
  const { cache, cacheRedis: redis } = runtime;
  const app = buildApp({ env, orm, logger, metrics, runtime });
  const token = (role: Role) => mintToken(env.JWT_SECRET, role);
  return {
    app, orm, env, sql, token, cache, redis, runtime,
    auth: (role) => ({ Authorization: `Bearer ${token(role)}` }),
    close: async () => {
      await runtime.relay?.stop();
      if (cache) {
        await cache.deletePrefix('').catch(() => undefined);
        await cache.close();
        await redis?.del(cache.statsKey).catch(() => undefined);
      }
      await runtime.close();
      await orm.close(true);
    },
  };
}
