import { randomUUID } from 'node:crypto';
import express, { type Request, type RequestHandler } from 'express';
import request from 'supertest';
import { problemHandler } from '@crm/http';
import { createRedis, type RedisClient } from '@crm/redis';
import { createLogger } from '@crm/telemetry';
import { testCacheRedis, unreachableTestRedis, waitFor } from '@crm/testing';
import { ResponseCache } from '../src';
import { cacheResponse, serveStaleOnFailure } from '../src/express';
import { cacheKey } from '../src/keys';
import { parseCacheStatus } from './parse-cache-status';

// What a client sees of the cache in Cache-Status (RFC 9211), one test per case, through a bare Express app with the
// real middleware on the real Redis. The "database" is `read`, which each test steers.
const logger = createLogger('cache-status-test', 'silent');
const TTL = 60;
let eventIds = 0;

/** An app with one cached route, `/items/:id`, tagged `item:<id>`; `x-admin: 1` bypasses the cache. */
function appWith(cache: ResponseCache, read: (id: string) => Promise<unknown>) {
  const app = express();
  const validated: RequestHandler = (req, res, next) => { res.locals.input = { params: { id: req.params.id }, query: {} }; next(); };
  const ctx = { cache, bypass: (req: Request) => req.get('x-admin') === '1' };
  const cached = cacheResponse(ctx, { keyPrefix: 'items', operation: 'detail', ttl: TTL, tags: ({ params }) => [`item:${params.id}`] });
  app.get('/items/:id', validated, cached, async (req, res) => { res.json(await read(String(req.params.id))); });
  app.use(serveStaleOnFailure(), problemHandler(logger));
  return app;
}

/** The parameters of a response's Cache-Status, checked to name this cache. */
function statusOf(res: request.Response): Record<string, unknown> {
  const parsed = parseCacheStatus(String(res.headers['cache-status']));
  expect(parsed.name).toBe('crm-cache');
  return parsed.params;
}

describe('Cache-Status on a cached route', () => {
  let redis: RedisClient;
  let cache: ResponseCache;
  let reads: string[];
  let read: (id: string) => Promise<unknown>;
  let app: express.Express;

  beforeAll(async () => {
    redis = createRedis(testCacheRedis(), 'cache', { logger, name: 'crm-cache-status-test' });
    // A namespace of this run's own: nothing another test left under the same key is found.
    cache = new ResponseCache({ redis, logger, namespace: `cs-${randomUUID().slice(0, 8)}` });
    await waitFor(() => redis.status === 'ready', 'the connection');
    app = appWith(cache, (id) => read(id));
  });
  beforeEach(() => {
    reads = [];
    read = async (id) => { reads.push(id); return { id, name: `item ${id}` }; };
  });
  afterAll(async () => {
    await cache.deletePrefix();
    await cache.close();
    redis.disconnect();
  });

  const get = (id: string) => request(app).get(`/items/${id}`);

  it('a first read: fwd=uri-miss and stored, then a hit with the freshness left as ttl (304 included)', async () => {
    const first = await get('a');
    expect([first.status, first.headers['x-cache'], statusOf(first)]).toEqual([200, 'MISS', { fwd: 'uri-miss', stored: true }]);

    const second = await get('a');
    expect([second.status, second.headers['x-cache']]).toEqual([200, 'HIT']);
    const { hit, ttl } = statusOf(second);
    expect(hit).toBe(true);
    expect(ttl).toBeGreaterThan(TTL - 10);
    expect(ttl).toBeLessThanOrEqual(TTL);

    const conditional = await get('a').set('If-None-Match', first.headers.etag!);
    expect([conditional.status, statusOf(conditional).hit]).toEqual([304, true]);
    expect(reads).toEqual(['a']);
  });

  it('after an invalidation: fwd=miss (an entry was there but is no longer valid), stored again', async () => {
    await get('b');
    expect(statusOf(await get('b')).hit).toBe(true);
    await cache.applyEvent({ eventId: `cs-${++eventIds}`, occurredAt: new Date().toISOString(), tags: ['item:b'] });
    const after = await get('b');
    expect([after.headers['x-cache'], statusOf(after)]).toEqual(['MISS', { fwd: 'miss', stored: true }]);
  });

  it('a request that waited for another one\'s fill is served its result: collapsed, one database read', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    let filling = false;
    read = async (id) => { reads.push(id); filling = true; await gate; return { id }; };
    // The second request is waiting once it asks for the first one's entry.
    let waiting = false;
    const waitForFill = cache.waitForFill.bind(cache);
    const spy = jest.spyOn(cache, 'waitForFill').mockImplementation((key, tags) => { waiting = true; return waitForFill(key, tags); });
    try {
      const first = get('c').then((res) => res);
      await waitFor(() => filling, 'the first request to read the database');
      const second = get('c').then((res) => res);
      await waitFor(() => waiting, 'the second request to wait for the fill');
      release();
      const [a, b] = await Promise.all([first, second]);
      expect([a.headers['x-cache'], statusOf(a)]).toEqual(['MISS', { fwd: 'uri-miss', stored: true }]);
      expect([b.headers['x-cache'], statusOf(b)]).toEqual(['HIT', { fwd: 'uri-miss', collapsed: true }]);
      expect(b.text).toBe(a.text);
      expect(reads).toEqual(['c']);
    } finally {
      spy.mockRestore();
    }
  });

  it('an admin read bypasses the cache: fwd=bypass, nothing stored', async () => {
    const res = await get('d').set('x-admin', '1');
    expect([res.status, res.headers['x-cache'], statusOf(res)]).toEqual([200, 'BYPASS', { fwd: 'bypass' }]);
    expect(statusOf(await get('d'))).toEqual({ fwd: 'uri-miss', stored: true });
  });

  it('a response Redis did not take is not said to be stored', async () => {
    const spy = jest.spyOn(cache, 'store').mockResolvedValue({ state: 'unavailable' });
    try {
      const res = await get('g');
      expect([res.status, res.headers['x-cache'], statusOf(res)]).toEqual([200, 'MISS', { fwd: 'uri-miss' }]);
    } finally {
      spy.mockRestore();
    }
  });

  it('an entry past its TTL served because the database failed: a hit with a negative ttl and detail=stale', async () => {
    await get('e');
    // Age the entry 5 s past its TTL (within grace) by rewriting its freshness deadline.
    const key = cache.keys.entry(cacheKey('items', 'detail', { params: { id: 'e' }, query: {} }));
    const raw = (await redis.getBuffer(key))!;
    const split = raw.indexOf(0x0a);
    const header = JSON.parse(raw.subarray(0, split).toString());
    header.f = Date.now() - 5_000;
    await redis.set(key, Buffer.concat([Buffer.from(JSON.stringify(header)), raw.subarray(split)]), 'KEEPTTL');
    read = () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));

    const res = await get('e');
    expect([res.status, res.headers['x-cache'], res.body]).toEqual([200, 'STALE', { id: 'e', name: 'item e' }]);
    const { hit, ttl, detail } = statusOf(res);
    expect([hit, detail]).toEqual([true, 'stale']);
    expect(ttl).toBeLessThanOrEqual(-5);
    expect(ttl).toBeGreaterThan(-15);
  });
});

describe('Cache-Status when Redis is down', () => {
  it('reads answer from the database: fwd=miss, detail=cache-unavailable, nothing stored', async () => {
    const redis = createRedis(unreachableTestRedis(), 'cache', { logger, name: 'crm-cache-status-down' });
    const cache = new ResponseCache({ redis, logger });
    try {
      const app = appWith(cache, async (id) => ({ id }));
      const res = await request(app).get('/items/f');
      expect([res.status, res.headers['x-cache'], statusOf(res)]).toEqual([200, 'MISS', { fwd: 'miss', detail: 'cache-unavailable' }]);
    } finally {
      await cache.close();
      redis.disconnect();
    }
  });
});
