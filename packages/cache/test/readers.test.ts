import { randomUUID } from 'node:crypto';
import type { RedisClient } from '@crm/redis';
import { waitFor } from '@crm/testing';
import { ResponseCache } from '../src';
import { logger, useTestCaches } from './fixture';

// The reader log's scripts (record-reader, take-readers, mark-refilled) against the tests' Redis, in a namespace of the test's own.
let redis: RedisClient;
let cache: ResponseCache;
const BURST_MS = 150;

const caches = useTestCaches();
beforeAll(() => {
  redis = caches.redis;
  cache = caches.newCache({ readerLog: { keepPerTag: 5, idleMs: 60_000, burstMs: BURST_MS } });
});

/** A tag of the test's own, and the reader set's members once `count` are recorded (recording is fire-and-forget). */
const newTag = () => `t-${randomUUID().slice(0, 8)}`;
async function membersOnce(tag: string, count: number): Promise<string[]> {
  await waitFor(async () => (await redis.zcard(cache.keys.readers(tag))) >= count, `${count} readers of ${tag}`);
  return redis.zrange(cache.keys.readers(tag), '0', '-1');
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A client's read of the database that stored nothing: recorded at once, with no stored marker. */
const READ = { kind: 'unstored' } as const;

it('keeps the newest readers per tag (bounded) and expires the set when nobody reads', async () => {
  const tag = newTag();
  for (let i = 0; i < 8; i++) {
    cache.readers.record(`organisations-api /organisations?page=${i}`, [tag], READ);
    await sleep(2); // distinct read times
  }
  await waitFor(async () => (await redis.zscore(cache.keys.readers(tag), 'organisations-api /organisations?page=7')) !== null, 'the last read');
  expect(await redis.zrange(cache.keys.readers(tag), '0', '-1')).toEqual([3, 4, 5, 6, 7].map((i) => `organisations-api /organisations?page=${i}`));
  const ttl = await redis.pttl(cache.keys.readers(tag));
  expect(ttl).toBeGreaterThan(50_000);
  expect(ttl).toBeLessThanOrEqual(60_000);
});

it('a hit is recorded at most once per few seconds per process, but at once when it is the first since the entry was stored; a database read always', async () => {
  const tag = newTag();
  const reader = 'organisations-api /organisations/1';
  const storedAt = Date.now() - 60_000;
  cache.readers.record(reader, [tag], { kind: 'hit', storedAt });
  await membersOnce(tag, 1);
  const first = await redis.zscore(cache.keys.readers(tag), reader);
  cache.readers.record(reader, [tag], { kind: 'hit', storedAt }); // throttled: no write
  await sleep(20);
  expect(await redis.zscore(cache.keys.readers(tag), reader)).toBe(first);
  cache.readers.record(reader, [tag], { kind: 'hit', storedAt: Date.now() }); // the entry was stored again since
  await waitFor(async () => (await redis.zscore(cache.keys.readers(tag), reader)) !== first, 'the first hit on the new entry');
  const second = await redis.zscore(cache.keys.readers(tag), reader);
  cache.readers.record(reader, [tag], READ);
  await waitFor(async () => (await redis.zscore(cache.keys.readers(tag), reader)) !== second, 'the database read');
});

it("takes an event's readers once per burst of writes, newest first, up to the cap", async () => {
  const [a, b] = [newTag(), newTag()];
  cache.readers.record('people-api /people/1', [a], READ);
  await membersOnce(a, 1);
  cache.readers.record('people-api /people?page=2', [a, b], READ);
  await membersOnce(b, 1);
  expect(await cache.readers.take([a, b], 1)).toEqual({ readers: ['people-api /people?page=2'], wasted: 0 });
  // Within the burst: the one taken is not taken again; the one over the cap is.
  expect(await cache.readers.take([a, b], 10)).toEqual({ readers: ['people-api /people/1'], wasted: 0 });
  expect(await cache.readers.take([a, b], 10)).toEqual({ readers: [], wasted: 0 });
  expect(await redis.pttl(`${cache.keys.readerMarkers}~taken:people-api /people/1`)).toBeLessThanOrEqual(BURST_MS);
  // After the burst, with no refill stored (the GET failed, say): taken again.
  await waitFor(async () => (await redis.exists(`${cache.keys.readerMarkers}~taken:people-api /people/1`)) === 0, 'the burst to end');
  expect((await cache.readers.take([a], 10)).readers).toEqual(['people-api /people?page=2', 'people-api /people/1']);
});

it('a burst ends when its refill starts: a write after that takes the reader again, the writes before it do not', async () => {
  const tag = newTag();
  const reader = 'organisations-api /organisations?category=wholesale';
  cache.readers.record(reader, [tag], READ);
  await membersOnce(tag, 1);
  expect((await cache.readers.take([tag], 10)).readers).toEqual([reader]);
  expect((await cache.readers.take([tag], 10)).readers).toEqual([]); // a second write before the refill: covered by it
  await cache.readers.refillStarts(reader);
  expect((await cache.readers.take([tag], 10)).readers).toEqual([reader]); // a write after the refill's lookup
});

it('a refill nobody read before the next invalidation is wasted (counted once) and not refilled again; one read brings it back', async () => {
  const [a, b] = [newTag(), newTag()];
  const reader = 'organisations-api /organisations?category=advisor&page=2';
  cache.readers.record(reader, [a, b], READ);
  await membersOnce(b, 1);
  expect((await cache.readers.take([a], 10)).readers).toEqual([reader]);
  expect(await cache.readers.markRefilled(reader)).toBe(true); // the worker's GET stored the refill
  await sleep(BURST_MS + 20);
  // Invalidated again (through either tag) before any read: wasted once, dropped from the sets, nothing to refill.
  expect(await cache.readers.take([a], 10)).toEqual({ readers: [], wasted: 1 });
  expect(await cache.readers.take([a, b], 10)).toEqual({ readers: [], wasted: 0 });
  expect(await redis.exists(cache.keys.readers(a), cache.keys.readers(b))).toBe(0);
  // A client reads the refilled entry: its reader is back, newer than the refill, and refilled after the next write.
  expect(await cache.readers.recordHit(reader, [a, b], Date.now(), { key: 'organisations:list:x', id: randomUUID() })).toBe(true);
  await membersOnce(a, 1);
  expect(await cache.readers.take([a, b], 10)).toEqual({ readers: [reader], wasted: 0 });
});

it("an entry a client filled and nobody read since is not refilled (a refill would cost what the next miss costs); a hit on it brings it back", async () => {
  const tag = newTag();
  const reader = 'people-api /people/7/interactions?limit=20';
  cache.readers.record(reader, [tag], { kind: 'fill' });
  await membersOnce(tag, 1);
  await waitFor(async () => (await redis.exists(cache.keys.stored(reader))) === 1, 'the stored marker');
  // Invalidated before any hit: dropped, not counted as a wasted refill (none was made).
  expect(await cache.readers.take([tag], 10)).toEqual({ readers: [], wasted: 0 });
  expect(await redis.exists(cache.keys.readers(tag))).toBe(0);
  // Filled again, then hit: the hit comes after the store, so the next write refills it.
  const storedAt = Date.now();
  cache.readers.record(reader, [tag], { kind: 'fill' });
  await membersOnce(tag, 1);
  await cache.readers.recordHit(reader, [tag], storedAt);
  await waitFor(async () => Number(await redis.zscore(cache.keys.readers(tag), reader)) > Number((await redis.get(cache.keys.stored(reader)))!.slice(1)), 'the hit after the fill');
  expect(await cache.readers.take([tag], 10)).toEqual({ readers: [reader], wasted: 0 });
});

it("a refill's first hit counts as used once across replicas", async () => {
  const other = new ResponseCache({ redis, logger, namespace: cache.namespace });
  try {
    const refill = { key: 'organisations:detail:used', id: randomUUID() };
    const before = (await cache.readStats()).refills.used;
    const tag = newTag();
    expect(await cache.readers.recordHit('organisations-api /organisations/9', [tag], Date.now(), refill)).toBe(true);
    expect(await cache.readers.recordHit('organisations-api /organisations/9', [tag], Date.now(), refill)).toBe(false);
    expect(await other.readers.recordHit('organisations-api /organisations/9', [tag], Date.now(), refill)).toBe(false);
    const stats = await cache.readStats();
    expect(stats.refills.used - before).toBe(1);
    expect(Object.keys(stats.byPrefix)).not.toContain('~refills');
  } finally {
    await other.close();
  }
});
