/**
 * The APIs' test harness (`@crm/service-kit/testing`, for tests only): one API built on the real test database and,
 * when asked, a real response cache in a key namespace of its own.
 */
import { randomUUID } from 'node:crypto';
import type { Express } from 'express';
import type { ResponseCache } from '@crm/cache';
import { testRedisEnv, waitUntilServing } from '@crm/testing';
import { parseEnv, type Env } from '@crm/config';
import { configureSortOrder, createOrm, replicaRouter, type MikroORM, type ReplicaRouter } from '@crm/database';
import { prepareTestDatabase, truncateAll, TEST_DATABASE_URL } from '@crm/database/testing';
import { mintToken, type Role } from '@crm/http';
import { createLogger, ServiceMetrics } from '@crm/telemetry';
import type { RedisClient, RedisTarget } from '@crm/redis';
import { createApiRuntime, type ApiAppDeps, type ApiRuntime } from '../src';

/** A real API on the real test database (emptied first), with the SQL it sends recorded. For the APIs' tests. */
export interface ApiHarness {
  app: Express;
  orm: MikroORM;
  env: Env;
  sql: string[];
  /** The response cache, when started with `{ cache: true }` (in a key namespace of its own). */
  cache: ResponseCache | null;
  redis: RedisClient | null;
  runtime: ApiRuntime;
  /** Where reads went, when `env` names DATABASE_REPLICA_URLS. */
  replicas: ReplicaRouter | null;
  token: (role: Role) => string;
  auth: (role: Role) => { Authorization: string };
  /** Removes the namespace's keys and closes every connection. */
  close: () => Promise<void>;
}

/** How to start a harness: environment overrides, a real cache, its Redis and namespace. */
export interface ApiHarnessOptions {
  /** Overrides; DATABASE_URL and DATABASE_REPLICA_URLS run the API on another primary and its replicas (startReplicaCluster). */
  env?: Record<string, string>;
  /**
   * Use a real response cache: on the tests' Redis (the local server, or the cluster of TEST_REDIS_CLUSTER_NODES:
   * testRedisEnv in @crm/cache) unless `redisUrl`, or REDIS_URL / REDIS_CLUSTER_NODES in `env`, say otherwise.
   */
  cache?: boolean;
  redisUrl?: RedisTarget;
  /** Share a namespace with another harness (two replicas of an API). */
  namespace?: string;
  /** Read replicas without the freshness check, to show what it prevents (see ReplicaRoutingOptions). */
  skipReplicaFreshnessCheck?: boolean;
}

/** Starts one API (`buildApp` of its app.ts) on the emptied test database; `close` undoes everything. */
export async function startApiHarness(service: string, buildApp: (deps: ApiAppDeps) => Express, options: ApiHarnessOptions = {}): Promise<ApiHarness> {
  // A test that names its own Redis (a server it hangs or kills) keeps it on the cluster run too.
  const ownRedis = options.redisUrl !== undefined || ['REDIS_URL', 'REDIS_HOST', 'REDIS_CLUSTER_NODES'].some((name) => options.env?.[name] !== undefined);
  const env = parseEnv({ NODE_ENV: 'test', LOG_LEVEL: 'silent', DATABASE_URL: TEST_DATABASE_URL, ...(ownRedis ? {} : testRedisEnv()), ...options.env });
  await prepareTestDatabase(env.DATABASE_URL);
  const sql: string[] = [];
  const metrics = new ServiceMetrics(service);
  const orm = await createOrm({
    databaseUrl: env.DATABASE_URL,
    poolMax: env.DATABASE_POOL_MAX,
    statementTimeoutMs: env.DATABASE_STATEMENT_TIMEOUT_MS,
    acquireTimeoutMs: env.DATABASE_ACQUIRE_TIMEOUT_MS,
    onQuery: (s) => { sql.push(s); metrics.countQuery(); },
    replicaUrls: env.DATABASE_REPLICA_URLS,
    replicaRouting: { onRead: (target) => metrics.countRead(target), skipFreshnessCheck: options.skipReplicaFreshnessCheck ?? false },
  });
  await truncateAll(orm);
  await configureSortOrder(orm); // as an API process does at start
  const logger = createLogger(service, 'silent');
  // No queue: the events wait in the outbox (the worker's tests run the whole flow).
  const runtime = createApiRuntime({
    orm,
    logger,
    metrics,
    cacheRedisUrl: options.cache ? (options.redisUrl ?? env.cacheRedis) : null,
    queueRedisUrl: null,
    namespace: options.namespace ?? `crm-test-${randomUUID().slice(0, 8)}`,
    statsFlushMs: 100,
  });
  const { cache, cacheRedis: redis } = runtime;
  // The cache client connects in the background (a cluster client first learns the slot map); until it serves,
  // reads skip the cache. Tests start once it does.
  if (cache) await waitUntilServing(cache);
  const app = buildApp({ env, orm, logger, metrics, runtime });
  const token = (role: Role) => mintToken(env.JWT_SECRET, role);
  return {
    app, orm, env, sql, token, cache, redis, runtime, replicas: replicaRouter(orm),
    auth: (role) => ({ Authorization: `Bearer ${token(role)}` }),
    close: async () => {
      if (cache) {
        await cache.deletePrefix('').catch(() => undefined);
        // deletePrefix('') keeps the stats hash on purpose; this namespace is the test's own, so drop it too.
        await cache.close();
        await redis?.unlink(cache.keys.stats).catch(() => undefined);
      }
      await runtime.close();
      await orm.close(true);
    },
  };
}
