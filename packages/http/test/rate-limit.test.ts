import { randomUUID } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Express } from 'express';
import { Redis, type RedisOptions } from 'ioredis';
import request from 'supertest';
import { createLogger, ServiceMetrics } from '@crm/telemetry';
import { parseEnv } from '@crm/config';
import { createServiceApp, defineRoute, mintToken, OpenApiRegistry, securityOptions, type ServiceAppOptions } from '../src';

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
function replica(rateLimitRedis: Redis | null, overrides: Partial<ServiceAppOptions> = {}): Express {
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
    routes: (api) => {
      const openapi = new OpenApiRegistry({ title: 'test', version: '1', description: 'test' });
      api.get('/ping', (_req, res) => { res.json({ ok: true }); });
      defineRoute(api, openapi, { method: 'get', path: '/live', tag: 't', role: 'reader', summary: 'never cached', expensive: true, handler: async () => ({ ok: true }) });
    },
    ...overrides,
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

/** The test's own keys, read with a patient client: KEYS on a busy shared Redis can outlast the fail-fast timeout. */
async function testKeys(): Promise<{ redis: Redis; keys: string[] }> {
  const redis = client(REDIS_URL, { commandTimeout: 10_000 });
  await until(() => redis.status === 'ready');
  return { redis, keys: await redis.keys(`${prefix}*`) };
}

async function deleteTestKeys(): Promise<void> {
  const { redis, keys } = await testKeys();
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
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.body.detail).toMatch(/retry after \d+ s/);
    expect((await testKeys()).keys.length).toBe(1);
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

describe('whose budget a request spends', () => {
  const bearer = (sub: string) => ({ Authorization: `Bearer ${mintToken(SECRET, 'reader', { sub })}` });
  const get = (app: Express, headers: Record<string, string>, path = '/api/v1/ping') => request(app).get(path).set(headers);
  const statuses = async (app: Express, headers: Record<string, string>, n: number, path?: string) => {
    const result: number[] = [];
    for (let i = 0; i < n; i++) result.push((await get(app, headers, path)).status);
    return result;
  };

  it('gives each token subject its own bucket, even from one address', async () => {
    const app = replica(null);
    expect(await statuses(app, bearer('alice'), LIMIT + 1)).toEqual([...Array(LIMIT).fill(200), 429]);
    expect((await get(app, bearer('bob'))).status).toBe(200);
    // A new token for the same subject does not reset its budget.
    expect((await get(app, bearer('alice'))).status).toBe(429);
  });

  it("never limits the worker's warm-up credential (its GETs follow writes that spent their own budget)", async () => {
    const warmupToken = `warmup-${'w'.repeat(40)}`;
    const app = replica(null, { auth: { secret: SECRET, warmupToken } });
    expect(await statuses(app, { Authorization: `Bearer ${warmupToken}` }, LIMIT + 2)).toEqual(Array(LIMIT + 2).fill(200));
    // Its exemption is the credential's, not a subject's: a JWT claiming the worker's subject is limited.
    expect(await statuses(app, bearer('cache-worker'), LIMIT + 1)).toEqual([...Array(LIMIT).fill(200), 429]);
  });

  it('counts requests without a valid token per client address, and still answers them 401 until the limit', async () => {
    const app = replica(null, { trustProxy: 1 });
    const from = (ip: string) => ({ 'X-Forwarded-For': ip });
    expect(await statuses(app, from('203.0.113.7'), LIMIT + 1)).toEqual([...Array(LIMIT).fill(401), 429]);
    // A bad token is no way around it: it spends the address's budget.
    expect((await get(app, { ...from('203.0.113.7'), Authorization: 'Bearer not-a-token' })).status).toBe(429);
    expect((await get(app, from('198.51.100.9'))).status).toBe(401);
  });

  it('trusts X-Forwarded-For only as TRUST_PROXY says: by default every client behind a proxy would share one bucket', async () => {
    const untrusting = replica(null);
    expect(await statuses(untrusting, { 'X-Forwarded-For': '203.0.113.7' }, LIMIT)).toEqual(Array(LIMIT).fill(401));
    // Ignored: the forged header does not buy a fresh bucket.
    expect((await get(untrusting, { 'X-Forwarded-For': '198.51.100.9' })).status).toBe(429);

    const env = parseEnv({ NODE_ENV: 'test', TRUST_PROXY: 'loopback', RATE_LIMIT_PER_MINUTE: String(LIMIT) });
    const behindProxy = replica(null, securityOptions(env)); // supertest connects from 127.0.0.1: the proxy
    expect(await statuses(behindProxy, { 'X-Forwarded-For': '203.0.113.7' }, LIMIT + 1)).toEqual([...Array(LIMIT).fill(401), 429]);
    expect((await get(behindProxy, { 'X-Forwarded-For': '198.51.100.9' })).status).toBe(401);
  });

  it('gives expensive routes a tighter budget, while the rest of the budget stays usable', async () => {
    const app = replica(null, { rateLimitExpensivePerMinute: 2 });
    const alice = bearer('alice');
    const live = await statuses(app, alice, 3, '/api/v1/live');
    expect(live).toEqual([200, 200, 429]);
    const limited = await get(app, alice, '/api/v1/live');
    expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.body.detail).toMatch(/expensive budget: 2 per minute/);
    // The general budget (5) counted the 4 expensive calls too: one cheap request left.
    expect(await statuses(app, alice, 2)).toEqual([200, 429]);
    expect((await get(app, bearer('bob'), '/api/v1/live')).status).toBe(200);
  });

  it('is on by default in production (600 per minute, 30 for expensive routes), and off by default elsewhere', async () => {
    const production = parseEnv({ NODE_ENV: 'production', JWT_SECRET: 'c1a5e0f4b2d8a6c3e9f1b7d5a3c0e2f4b6d8a1c3e5f7b9d0' });
    const prod = replica(null, { rateLimitPerMinute: undefined, ...securityOptions(production) });
    const res = await get(prod, { Authorization: `Bearer ${mintToken(production.JWT_SECRET, 'reader')}` });
    expect(res.status).toBe(200);
    expect(res.headers['ratelimit-policy']).toMatch(/"general"; q=600; w=60/);
    const live = await get(prod, { Authorization: `Bearer ${mintToken(production.JWT_SECRET, 'reader')}` }, '/api/v1/live');
    expect(live.headers['ratelimit-policy']).toMatch(/"expensive"; q=30; w=60/);

    const development = parseEnv({ NODE_ENV: 'development' });
    const dev = replica(null, { rateLimitPerMinute: undefined, ...securityOptions(development) });
    const devRes = await get(dev, { Authorization: `Bearer ${mintToken(development.JWT_SECRET, 'reader')}` });
    expect(devRes.status).toBe(200);
    expect(devRes.headers['ratelimit-policy']).toBeUndefined();
  });
});
