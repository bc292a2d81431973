import { randomUUID } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Express } from 'express';
import { Redis, type RedisOptions } from 'ioredis';
import request from 'supertest';
import { createLogger, ServiceMetrics } from '@crm/telemetry';
import { createServiceApp, mintToken, OpenApiRegistry } from '../src';

// The rate limit shared by replicas through Redis, and failing open when Redis does not answer.
const SECRET = 'rate-limit-test-secret-0123456789';
const LIMIT = 5;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
// Like the cache's client: never queue, never wait long. (A short disconnectTimeout: disconnecting a client whose
// connection already dropped arms a timer of that length, which would hold jest open.)
const FAIL_FAST: RedisOptions = {
  enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 250, connectTimeout: 1_000, retryStrategy: () => 100, disconnectTimeout: 10,
};

const prefix = `crm-test-${randomUUID().slice(0, 8)}:ratelimit:`;
const clients: Redis[] = [];
const servers: Server[] = [];
const sockets: Socket[] = [];

function client(url: string, options: RedisOptions = {}): Redis {
  const redis = new Redis(url, { ...FAIL_FAST, ...options });
  redis.on('error', () => undefined);
  clients.push(redis);
  return redis;
}

/** One replica of a service: the same limit, and the same Redis when given. */
function replica(rateLimitRedis: Redis | null): Express {
  return createServiceApp({
    service: 'rate-limit-test',
    logger: createLogger('rate-limit-test', 'silent'),
    metrics: new ServiceMetrics('rate-limit-test'),
    auth: { secret: SECRET },
    openapi: new OpenApiRegistry({ title: 'test', version: '1', description: 'test' }),
    health: { database: null, cache: null, queue: null },
    rateLimitPerMinute: LIMIT,
    rateLimitRedis,
    rateLimitPrefix: prefix,
    routes: (api) => api.get('/ping', (_req, res) => { res.json({ ok: true }); }),
  });
}

const auth = { Authorization: `Bearer ${mintToken(SECRET, 'reader')}` };

async function ping(app: Express): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const res = await request(app).get('/api/v1/ping').set(auth);
  return { status: res.status, ms: performance.now() - started };
}

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A port where nothing listens (it was just released). */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/** A TCP proxy to the real Redis that can stop forwarding: its clients then see a hung server (connected, silent). */
async function hangableRedis(): Promise<{ url: string; hang: () => void }> {
  let hung = false;
  const target = new URL(REDIS_URL);
  const server = createServer((downstream) => {
    const upstream = connect(Number(target.port || 6379), target.hostname);
    sockets.push(downstream, upstream);
    downstream.on('data', (chunk) => { if (!hung) upstream.write(chunk); });
    upstream.on('data', (chunk) => { if (!hung) downstream.write(chunk); });
    for (const [a, b] of [[downstream, upstream], [upstream, downstream]] as const) {
      a.on('error', () => undefined);
      a.on('close', () => b.destroy());
    }
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}${target.pathname}`, hang: () => { hung = true; } };
}

async function deleteTestKeys(): Promise<void> {
  const redis = client(REDIS_URL);
  await until(() => redis.status === 'ready');
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
}

afterEach(deleteTestKeys);
afterAll(async () => {
  sockets.forEach((s) => s.destroy());
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  clients.forEach((c) => c.disconnect());
});

describe('rate limiting across replicas', () => {
  it('counts a client once across two replicas sharing Redis: both answer 429 from the limit on', async () => {
    const redis = client(REDIS_URL);
    await until(() => redis.status === 'ready');
    const [a, b] = [replica(redis), replica(redis)];

    const statuses: number[] = [];
    for (let i = 0; i < LIMIT; i++) statuses.push((await ping(i % 2 ? b : a)).status);
    expect(statuses).toEqual(Array(LIMIT).fill(200));
    expect((await ping(a)).status).toBe(429);
    expect((await ping(b)).status).toBe(429);
    const limited = await request(b).get('/api/v1/ping').set(auth);
    expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(limited.headers['ratelimit']).toMatch(/r=0/);
    expect((await redis.keys(`${prefix}*`)).length).toBe(1);
  });

  it('without Redis, each replica counts on its own (in memory)', async () => {
    const [a, b] = [replica(null), replica(null)];
    for (let i = 0; i < LIMIT; i++) expect((await ping(a)).status).toBe(200);
    expect((await ping(a)).status).toBe(429);
    expect((await ping(b)).status).toBe(200);
  });

  it('fails open at once when Redis is unreachable', async () => {
    const app = replica(client(`redis://127.0.0.1:${await closedPort()}`));
    const results = await Promise.all(Array.from({ length: LIMIT * 2 }, () => ping(app)));
    expect(results.map((r) => r.status)).toEqual(Array(LIMIT * 2).fill(200));
    expect(Math.max(...results.map((r) => r.ms))).toBeLessThan(200);
  });

  it('fails open when Redis hangs, waiting at most one command timeout, then not at all', async () => {
    const proxy = await hangableRedis();
    const redis = client(proxy.url);
    await until(() => redis.status === 'ready');
    const app = replica(redis);
    expect((await ping(app)).status).toBe(200); // counted in Redis

    proxy.hang();
    const results: { status: number; ms: number }[] = [];
    for (let i = 0; i < LIMIT * 2; i++) results.push(await ping(app));
    expect(results.map((r) => r.status)).toEqual(Array(LIMIT * 2).fill(200));
    expect(results[0]!.ms).toBeLessThan(1_000);
    expect(Math.max(...results.slice(1).map((r) => r.ms))).toBeLessThan(100);
  });

  it('starts limiting once a Redis that was unreachable at start comes up', async () => {
    const late = client(REDIS_URL, { lazyConnect: true });
    const app = replica(late); // the store's script load fails: nothing to connect to yet
    expect((await ping(app)).status).toBe(200);
    await late.connect();
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 1; i++) statuses.push((await ping(app)).status);
    expect(statuses).toEqual([...Array(LIMIT).fill(200), 429]);
  });
});
