import { createRedis, type RedisClient } from '@crm/redis';
import { unreachableTestRedis } from '@crm/testing';
import { CacheUnavailableError, ResponseCache } from '../src';
import { logger, useTestCaches } from './fixture';

// Applied-once events against the tests' Redis (the local server, or the cluster run's cluster), in a namespace of the test's own.
let redis: RedisClient;
let cache: ResponseCache;
const observed: string[] = [];

const caches = useTestCaches();
beforeAll(() => {
  redis = caches.redis;
  cache = caches.newCache({ observe: (op) => observed.push(op) });
});

const event = (eventId: string, tags: string[]) => ({ eventId, occurredAt: new Date().toISOString(), tags });

it('an event invalidates its tags once: a second application (the worker after the write, a redelivery) changes nothing', async () => {
  const tags = ['organisation:1', 'organisations'];
  const first = await cache.lookup('organisations:detail:a', tags);
  expect(first.state).toBe('miss');
  const e = event('41', tags);
  expect(await cache.applyEvent(e)).toEqual({ state: 'applied', appliedAt: expect.any(Number), invalidatedTags: 2 });
  const after = await cache.lookup('organisations:detail:a', tags);
  if (after.state !== 'miss') throw new Error('expected a miss');
  // An entry stored with the tokens read after the event stays valid when the same event comes again.
  await cache.store('organisations:detail:a', Buffer.from('{"v":2}'), 'application/json', after.versions, 60);
  const again = await cache.applyEvent(e);
  expect(again).toEqual({ state: 'already-applied', appliedAt: expect.any(Number) });
  expect((await cache.lookup('organisations:detail:a', tags)).state).toBe('hit');
  // Another event on the same tags does invalidate it.
  expect((await cache.applyEvent(event('42', ['organisations']))).state).toBe('applied');
  expect((await cache.lookup('organisations:detail:a', tags)).state).toBe('miss');
  expect(observed).toEqual(expect.arrayContaining(['get', 'set', 'invalidate']));
});

it('an applied event counts its tags live entries may depend on: one an entry was stored under, not one never read', async () => {
  const counted: number[] = [];
  const counting = caches.newCache({ countInvalidated: (tags) => counted.push(tags) });
  const key = 'people:detail:counted';
  const found = await counting.lookup(key, ['person:1', 'people']);
  if (found.state !== 'miss') throw new Error(`expected a miss, got ${found.state}`);
  await counting.store(key, Buffer.from('{"v":1}'), 'application/json', found.versions, 60);
  const e = event('c1', ['person:1', 'person:never-read']);
  expect(await counting.applyEvent(e)).toEqual({ state: 'applied', appliedAt: expect.any(Number), invalidatedTags: 1 });
  // Applied again (the worker after the write): nothing invalidated, nothing counted.
  expect(await counting.applyEventOrThrow(e)).toEqual({ state: 'already-applied', appliedAt: expect.any(Number) });
  // Over several chunks (500 tags a script call): every chunk's count. 520 tags read, 80 never.
  const read = Array.from({ length: 520 }, (_, i) => `interaction:${i}`);
  expect((await counting.lookup('interactions:list:counted', read)).state).toBe('miss');
  const unread = Array.from({ length: 80 }, (_, i) => `interaction:unread-${i}`);
  expect(await counting.applyEventOrThrow(event('c2', [...unread, ...read]))).toMatchObject({ state: 'applied', invalidatedTags: 520 });
  expect(counted).toEqual([1, 520]);
});

it('the same row id with another commit time is another event (ids restart after a restore or a truncate)', async () => {
  expect((await cache.applyEvent({ eventId: '7', occurredAt: '2026-01-01T00:00:00.000Z', tags: ['produits'] })).state).toBe('applied');
  expect((await cache.applyEvent({ eventId: '7', occurredAt: '2026-01-02T00:00:00.000Z', tags: ['produits'] })).state).toBe('applied');
});

it("the worker's application throws when Redis is unreachable, so the job is retried; the write's is owed", async () => {
  const down = createRedis(unreachableTestRedis(), 'cache', { logger, name: 'crm-cache' });
  const unreachable = new ResponseCache({ redis: down, logger, namespace: 'crm-test-down' });
  try {
    const thrown = await unreachable.applyEventOrThrow(event('1', ['people'])).catch((error: unknown) => error);
    expect(thrown).toBeInstanceOf(CacheUnavailableError);
    expect(thrown).toMatchObject({ code: 'E_CACHE_UNAVAILABLE', message: expect.stringMatching(/unavailable/) });
    expect(await unreachable.applyEvent(event('2', ['people']))).toEqual({ state: 'owed' });
    expect(unreachable.available).toBe(false); // owed: nothing is served from this cache until it is applied
  } finally {
    await unreachable.close();
    down.disconnect();
  }
});

it('a waiter whose read of the entry just missed a fill that then stored and released gets that entry, not a null that sends it to the database', async () => {
  const key = 'organisations:detail:fill-race';
  const tags = ['organisation:fill-race'];
  const found = await cache.lookup(key, tags);
  if (found.state !== 'miss') throw new Error(`expected a miss, got ${found.state}`);
  const fill = await cache.acquireFill(key); // another request fills this key...
  if (fill.state !== 'acquired') throw new Error(`expected the fill lock, got ${fill.state}`);
  // ...and finishes (stores, then releases) right after the waiter's first read of the entry came back empty.
  const lookup = cache.lookup.bind(cache);
  let raced = false;
  const spy = jest.spyOn(cache, 'lookup').mockImplementation(async (k, t) => {
    const seen = await lookup(k, t);
    if (!raced) {
      raced = true;
      await cache.store(key, Buffer.from('{"filled":true}'), 'application/json', found.versions, 60);
      await cache.releaseFill(key, fill.token);
    }
    return seen;
  });
  try {
    const entry = await cache.waitForFill(key, tags);
    expect(raced).toBe(true);
    expect(entry?.body.toString()).toBe('{"filled":true}');
  } finally {
    spy.mockRestore();
  }
});
