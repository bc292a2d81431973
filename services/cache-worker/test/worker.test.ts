import request from 'supertest';
import { parseEnv } from '@crm/config';
import { createOrm, type MikroORM } from '@crm/database';
import { prepareTestDatabase, TEST_DATABASE_URL } from '@crm/database/testing';
import { createLogger, ServiceMetrics } from '@crm/telemetry';
import { testRedisEnv, unreachableTestRedis } from '@crm/testing';
import { buildWorkerApp, SERVICE } from '../src/app';
import { createRedis, pingRedis, type RedisClient, type RedisTarget } from '@crm/redis';

describe('cache-worker HTTP side', () => {
  let orm: MikroORM;
  const clients: RedisClient[] = [];
  const logger = createLogger(SERVICE, 'silent');
  // The tests' Redis: the local server, or the cluster of the cluster run (cache and queue both).
  const env = parseEnv({ NODE_ENV: 'test', DATABASE_URL: TEST_DATABASE_URL, ...testRedisEnv() });

  beforeAll(async () => {
    await prepareTestDatabase();
    orm = await createOrm({ databaseUrl: TEST_DATABASE_URL });
  });
  afterAll(async () => {
    await orm.close(true);
    clients.forEach((c) => c.disconnect());
  });

  const app = (cacheRedis: RedisTarget) => {
    const cache = createRedis(cacheRedis, 'probe', { logger, name: 'test-cache' });
    const queue = createRedis(env.queueRedis, 'probe', { logger, name: 'test-queue' });
    clients.push(cache, queue);
    return buildWorkerApp({ env, orm, logger, metrics: new ServiceMetrics(SERVICE), cacheProbe: () => pingRedis(cache), queueProbe: () => pingRedis(queue), adminQueuesToken: null });
  };

  it('is healthy when PostgreSQL and both Redis connections answer', async () => {
    const worker = app(env.cacheRedis);
    const res = await waitFor(() => request(worker).get('/health'), (r) => r.body.status === 'healthy');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'healthy', database: { status: 'up' }, cache: { status: 'up' }, queue: { status: 'up' } });
    expect(typeof res.body.database.latencyMs).toBe('number');
  });

  it('is degraded, still 200, when the cache Redis is unreachable', async () => {
    const worker = app(unreachableTestRedis());
    const res = await request(worker).get('/health');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'degraded', cache: { status: 'down' }, database: { status: 'up' } });
  });

  it('serves Prometheus metrics', async () => {
    const res = await request(app(env.cacheRedis)).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/plain/);
    expect(res.text).toMatch(/# TYPE http_request_duration_seconds histogram/);
  });
});

/** Polls until the condition holds (connections come up asynchronously); fails after 5 s. */
async function waitFor<T>(fn: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}
