import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { keysOnEveryNode, waitFor } from '@crm/testing';
import { startHarness, type Harness } from './harness';

let h: Harness;
beforeAll(async () => { h = await startHarness({ cache: true }); });
afterAll(() => h.close());

const get = (url: string, role: 'reader' | 'admin' = 'reader') => request(h.app).get(url).set(h.auth(role));
/** The cache's keys matching `pattern`, on every master when the cache is a cluster. */
const keys = (pattern: string) => keysOnEveryNode(h.redis!, pattern);
const createOrg = async (body: Record<string, unknown>) =>
  (await request(h.app).post('/api/v1/organisations').set(h.auth('editor')).send(body)).body as { id: number };

describe('cached reads', () => {
  it('misses, then hits with the same bytes, ETag and 304', async () => {
    const { id } = await createOrg({ name: 'Cached Co', category: 'corporate' });
    const first = await get(`/api/v1/organisations/${id}`);
    expect(first.headers['x-cache']).toBe('MISS');
    const before = h.sql.length;
    const second = await get(`/api/v1/organisations/${id}`);
    expect(second.headers['x-cache']).toBe('HIT');
    expect(h.sql.length).toBe(before); // a hit sends no SQL
    expect(second.text).toBe(first.text);
    expect(second.headers.etag).toBe(first.headers.etag);
    expect(second.headers['content-type']).toMatch(/application\/json/);
    const notModified = await get(`/api/v1/organisations/${id}`).set('If-None-Match', first.headers.etag!);
    expect(notModified.status).toBe(304);
    expect(notModified.text).toBe('');
  });

  it('keys on normalised parameters: their order does not matter', async () => {
    const a = await get('/api/v1/organisations?limit=7&category=advisor');
    const b = await get('/api/v1/organisations?category=advisor&limit=7');
    expect(a.headers['x-cache']).toBe('MISS');
    expect(b.headers['x-cache']).toBe('HIT');
  });

  it('admins bypass the cache and always read fresh data', async () => {
    const res = await get('/api/v1/organisations/stats', 'admin');
    expect(res.headers['x-cache']).toBe('BYPASS');
    expect(res.headers.etag).toBeDefined();
  });

  it('never caches live stats', async () => {
    const res = await get('/api/v1/organisations/stats/live');
    expect(res.headers['x-cache']).toBeUndefined();
  });

  it('documents the cache headers in /openapi.json on the cached GETs only', async () => {
    const paths = (await request(h.app).get('/openapi.json').expect(200)).body.paths;
    const headersOf = (path: string) => Object.keys(paths[path].get.responses['200'].headers ?? {});
    expect(headersOf('/api/v1/organisations/{id}')).toEqual(expect.arrayContaining(['X-Cache', 'Cache-Status', 'ETag']));
    expect(headersOf('/api/v1/produits')).toEqual(expect.arrayContaining(['X-Cache', 'Cache-Status', 'ETag']));
    expect(headersOf('/api/v1/organisations/stats/live')).toEqual([]);
  });
});

describe('invalidation by tags', () => {
  it('a write is seen by the next read of the detail, the lists, search and stats', async () => {
    const { id } = await createOrg({ name: 'Before Rename', category: 'advisor', annualRevenue: 10 });
    const urls = [`/api/v1/organisations/${id}`, '/api/v1/organisations?category=advisor', '/api/v1/organisations/search?q=rename', '/api/v1/organisations/stats'];
    for (const url of urls) await get(url);
    for (const url of urls) expect((await get(url)).headers['x-cache']).toBe('HIT');

    const patched = await request(h.app).patch(`/api/v1/organisations/${id}`).set(h.auth('editor')).send({ name: 'After Rename', annualRevenue: 20 });
    expect(patched.status).toBe(200);
    for (const url of urls) {
      const res = await get(url);
      expect(res.headers['x-cache']).toBe('MISS');
      expect(res.text).not.toMatch(/Before Rename/);
    }
    expect((await get(`/api/v1/organisations/${id}`)).body.name).toBe('After Rename');
  });

  it('a mandat write refreshes its organisation detail and mandat list', async () => {
    const { id } = await createOrg({ name: 'With Mandats', category: 'wholesale' });
    await get(`/api/v1/organisations/${id}`);
    await get(`/api/v1/organisations/${id}/mandats`);
    const m = await request(h.app).post(`/api/v1/organisations/${id}/mandats`).set(h.auth('editor')).send({ type: 'advisory', startDate: '2024-01-01' });
    expect(m.status).toBe(201);
    expect((await get(`/api/v1/organisations/${id}`)).body.mandats).toHaveLength(1);
    expect((await get(`/api/v1/organisations/${id}/mandats`)).body.total).toBe(1);
  });

  it('no stale set: a read that looked up before a write cannot store its old result after it', async () => {
    const cache = h.cache!;
    const tags = ['organisation:424242'];
    const slow = await cache.lookup('organisations:detail:race', tags); // the slow reader looks up, then reads the DB
    expect(slow.state).toBe('miss');
    // A write commits and invalidates meanwhile.
    await cache.applyEvent({ eventId: randomUUID(), occurredAt: new Date().toISOString(), tags });
    const versions = slow.state === 'miss' ? slow.versions : {};
    await cache.store('organisations:detail:race', Buffer.from('{"name":"old"}'), 'application/json', versions, 60);
    expect((await cache.lookup('organisations:detail:race', tags)).state).toBe('miss');
  });
});

describe('stampede protection', () => {
  it('many concurrent misses of one key across two API instances run one database read', async () => {
    const second = await startHarness({ cache: true, namespace: h.cache!.namespace });
    try {
      const { id } = await createOrg({ name: 'Popular', category: 'institution' });
      const url = `/api/v1/organisations/${id}`;
      const before = h.sql.length + second.sql.length;
      // One detail read is one statement (the organisation with its mandats and contacts).
      const responses = await Promise.all(Array.from({ length: 40 }, (_, i) => request(i % 2 ? second.app : h.app).get(url).set(h.auth('reader'))));
      const statements = h.sql.length + second.sql.length - before;
      expect(responses.every((r) => r.status === 200 && r.body.name === 'Popular')).toBe(true);
      expect(statements).toBe(1);
      expect(responses.filter((r) => r.headers['x-cache'] === 'MISS')).toHaveLength(1);
    } finally {
      await second.close();
    }
  });
});

describe('one fill per key', () => {
  it('a request whose lookup missed a fill that ended before it took the lock serves that entry, without reading the database', async () => {
    const { id } = await createOrg({ name: 'Filled Elsewhere', category: 'advisor' });
    const url = `/api/v1/organisations/${id}`;
    const cache = h.cache!;
    const lookup = cache.lookup.bind(cache);
    let raced = false;
    // Another replica's fill stores and releases its lock just after this request's lookup came back empty.
    const spy = jest.spyOn(cache, 'lookup').mockImplementation(async (key, tags) => {
      const found = await lookup(key, tags);
      if (!raced && found.state === 'miss') {
        raced = true;
        await cache.store(key, Buffer.from(JSON.stringify({ id, name: 'Filled Elsewhere', by: 'the other fill' })), 'application/json', found.versions, 60);
      }
      return found;
    });
    try {
      const before = h.sql.length;
      const res = await get(url);
      expect(raced).toBe(true);
      expect(res.status).toBe(200);
      expect(res.headers['x-cache']).toBe('HIT');
      expect(res.body).toEqual({ id, name: 'Filled Elsewhere', by: 'the other fill' });
      expect(h.sql.length - before).toBe(0);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('stats', () => {
  it('counts hits and misses system-wide, per prefix, with Redis keys and memory', async () => {
    await get('/api/v1/produits');
    await get('/api/v1/produits');
    const res = await get('/api/v1/cache/stats');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ available: true, keysCount: expect.any(Number), memoryUsedBytes: expect.any(Number), evictedKeys: expect.any(Number) });
    expect(res.body.hits).toBeGreaterThanOrEqual(1);
    expect(res.body.byPrefix.produits).toEqual({ hits: 1, misses: 1, hitRate: 50 });
    expect(res.body.totalRequests).toBe(res.body.hits + res.body.misses);
    expect(res.body.hitRate).toBe(Math.round((res.body.hits / res.body.totalRequests) * 10000) / 100);
  });
});

describe('cache admin routes', () => {
  it('POST /cache/invalidate is admin only and records the invalidation for the worker', async () => {
    expect((await request(h.app).post('/api/v1/cache/invalidate').set(h.auth('editor')).send({ tags: ['produits'] })).status).toBe(403);
    expect((await request(h.app).post('/api/v1/cache/invalidate').set(h.auth('admin')).send({ surprise: 1 })).status).toBe(400);
    const res = await request(h.app).post('/api/v1/cache/invalidate').set(h.auth('admin')).send({ tags: ['produits'], prefix: 'produits' });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: true, eventId: expect.stringMatching(/^\d+$/), tags: ['produits'], prefix: 'produits' });
    // Durable before the 202: the worker (services/cache-worker tests) does the rest.
    const [row] = await h.orm.em.getConnection().execute('select event, tags, payload from cache_outbox where id = ?', [res.body.eventId]);
    expect(row).toEqual({ event: 'cache.invalidated', tags: ['produits'], payload: { prefix: 'produits' } });
  });

  it("DELETE /cache removes this application's keys only", async () => {
    await h.redis!.set('someone-else:key', 'keep me');
    await get('/api/v1/produits');
    const res = await request(h.app).delete('/api/v1/cache').set(h.auth('admin'));
    expect(res.status).toBe(200);
    expect(res.body.deleted).toBeGreaterThan(0);
    expect(await h.redis!.get('someone-else:key')).toBe('keep me');
    expect(await keys(`${h.cache!.namespace}:produits:*`)).toEqual([]);
    expect((await get('/api/v1/produits')).headers['x-cache']).toBe('MISS');
    await h.redis!.del('someone-else:key');
  });
});

describe('grace', () => {
  it('serves an entry past its TTL as STALE when the database fails', async () => {
    const { id } = await createOrg({ name: 'Graceful', category: 'other' });
    const url = `/api/v1/organisations/${id}`;
    await get(url);
    // This detail's entry (other tests left theirs in the namespace): the one holding its name.
    let key: string | undefined;
    let raw: Buffer | null = null;
    await waitFor(async () => {
      for (const candidate of await keys(`${h.cache!.namespace}:organisations:detail:*`)) {
        const value = await h.redis!.getBuffer(candidate);
        if (value?.includes('"name":"Graceful"')) [key, raw] = [candidate, value];
      }
      return key !== undefined;
    }, 'the detail entry to be stored');
    // Age the entry past its TTL (but within grace) by rewriting its freshness deadline.
    raw = raw!;
    const split = raw.indexOf(0x0a);
    const header = JSON.parse(raw.subarray(0, split).toString());
    header.f = Date.now() - 1000;
    await h.redis!.set(key!, Buffer.concat([Buffer.from(JSON.stringify(header)), raw.subarray(split)]), 'KEEPTTL');
    const spy = jest.spyOn(h.orm.em.getConnection('read'), 'execute').mockRejectedValue(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    try {
      const res = await get(url);
      expect(res.status).toBe(200);
      expect(res.headers['x-cache']).toBe('STALE');
      expect(res.body.name).toBe('Graceful');
    } finally {
      spy.mockRestore();
    }
  });
});

describe('organisation stats are invalidated only by what they count', () => {
  /** The stats MISS stores after answering and then releases its fill lock: wait for that, not a delay. */
  const stored = () => waitFor(async () => (await keys(`${h.cache!.namespace}:organisations:stats:*:fill`)).length === 0, 'the stats fill to be stored');
  const stats = async () => {
    const res = await get('/api/v1/organisations/stats');
    await stored();
    return res;
  };
  const patch = (id: number, body: Record<string, unknown>) => request(h.app).patch(`/api/v1/organisations/${id}`).set(h.auth('editor')).send(body);

  it('a rename keeps the stats entry (HIT, still right); a category or revenue change refreshes it', async () => {
    const { id } = await createOrg({ name: 'Counted', category: 'advisor', annualRevenue: 100 });
    await stats();
    expect((await stats()).headers['x-cache']).toBe('HIT');

    expect((await patch(id, { name: 'Counted Renamed' })).status).toBe(200);
    const afterRename = await stats();
    expect(afterRename.headers['x-cache']).toBe('HIT');
    expect(afterRename.body).toEqual((await request(h.app).get('/api/v1/organisations/stats/live').set(h.auth('reader'))).body);
    // Lists and search show names: those were refreshed.
    expect((await get('/api/v1/organisations/search?q=renamed')).body.items.map((o: { id: number }) => o.id)).toContain(id);

    expect((await patch(id, { category: 'wholesale' })).status).toBe(200);
    const afterMove = await stats();
    expect(afterMove.headers['x-cache']).toBe('MISS');
    expect(afterMove.body).toEqual((await request(h.app).get('/api/v1/organisations/stats/live').set(h.auth('reader'))).body);

    expect((await stats()).headers['x-cache']).toBe('HIT');
    expect((await patch(id, { annualRevenue: 5_000 })).status).toBe(200);
    expect((await stats()).headers['x-cache']).toBe('MISS');
  });
});
