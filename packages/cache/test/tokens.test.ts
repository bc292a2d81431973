import { randomUUID } from 'node:crypto';
import { createLogger } from '@crm/telemetry';
import { createCacheRedis, ResponseCache, testCacheRedis, waitFor, type Lookup, type RedisClient } from '../src';
import { TAG_CHUNK } from '../src/chunks';

// Tag tokens against the tests' Redis (the local server, or the cluster run's cluster), in a namespace of the test's own.
const logger = createLogger('cache-test', 'silent');
let redis: RedisClient;
const caches: ResponseCache[] = [];

/** Every command the client sends, by its number of arguments (the largest one sent is what matters). */
const sentArgs: number[] = [];

beforeAll(async () => {
  redis = createCacheRedis(testCacheRedis(), logger);
  const send = redis.sendCommand.bind(redis) as (command: { args: unknown[] }, ...rest: unknown[]) => unknown;
  (redis as unknown as { sendCommand: typeof send }).sendCommand = (command, ...rest) => {
    sentArgs.push(command.args.length);
    return send(command, ...rest);
  };
  await new Promise((resolve) => redis.once('ready', resolve));
});
afterAll(async () => {
  for (const cache of caches) {
    await cache.deletePrefix('');
    await cache.close();
    await redis.unlink(cache.statsKey);
  }
  redis.disconnect();
});

function newCache(options: { maxTtlSeconds?: number; graceSeconds?: number } = {}): ResponseCache {
  const cache = new ResponseCache({ redis, logger, namespace: `crm-test-${randomUUID().slice(0, 8)}`, ...options });
  caches.push(cache);
  return cache;
}

/** A lookup that answered: under load a burst may time out (the cache then answers unavailable) and is retried. */
async function answered(cache: ResponseCache, key: string, tags: string[]): Promise<Lookup> {
  let found: Lookup = { state: 'unavailable' };
  await waitFor(async () => (found = await cache.lookup(key, tags)).state !== 'unavailable', `a lookup of ${key}`);
  return found;
}

const versionsOf = (found: Lookup) => (found.state === 'miss' || found.state === 'expired' ? found.versions : {});

it('a tag token expires after the longest entry TTL plus grace, and its entries then miss', async () => {
  const cache = newCache({ maxTtlSeconds: 1, graceSeconds: 0 });
  const tags = ['produit:1'];
  const found = await cache.lookup('produits:detail:1', tags);
  expect(found.state).toBe('miss');
  await cache.store('produits:detail:1', Buffer.from('{}'), 'application/json', versionsOf(found), 60);
  expect((await cache.lookup('produits:detail:1', tags)).state).toBe('hit');

  expect(await redis.pttl(cache.tagKey('produit:1'))).toBeGreaterThan(0);
  await waitFor(async () => (await redis.exists(cache.tagKey('produit:1'))) === 0, 'the token to expire', 5_000);
  // The entry (stored for 60 s) is still there, with the expired token: a new token makes it a miss.
  expect(await redis.exists(cache.entryKey('produits:detail:1'))).toBe(1);
  expect((await cache.lookup('produits:detail:1', tags)).state).toBe('miss');
});

it('invalidated tokens expire too (an invalidation is a new token with the same lifetime)', async () => {
  const cache = newCache({ maxTtlSeconds: 60, graceSeconds: 10 });
  expect(await cache.invalidateTags(['produits'])).toBe(true);
  expect(await cache.applyEvent({ eventId: '1', occurredAt: new Date().toISOString(), tags: ['produit:2'] })).toMatchObject({ applied: true });
  for (const tag of ['produits', 'produit:2']) {
    const ttl = await redis.pttl(cache.tagKey(tag));
    expect(ttl).toBeGreaterThan(60_000);
    expect(ttl).toBeLessThanOrEqual(70_000);
  }
});

it('an organisation with 30,000 people: its update invalidates every person detail, in commands of at most 500 tags, once', async () => {
  const cache = newCache();
  const people = Array.from({ length: 30_000 }, (_, i) => i + 1);
  const keyOf = (id: number) => `people:detail:${id}`;
  // Every person's detail cached, with its tag.
  for (let i = 0; i < people.length; i += 100) {
    await Promise.all(people.slice(i, i + 100).map(async (id) => {
      const found = await answered(cache, keyOf(id), [`person:${id}`]);
      expect(found.state).toBe('miss');
      await cache.store(keyOf(id), Buffer.from(`{"id":${id}}`), 'application/json', versionsOf(found), 300);
    }));
  }
  expect((await answered(cache, keyOf(30_000), ['person:30000'])).state).toBe('hit');

  // The tags of the organisation's update (as cache-tags.ts declares them): its own, its lists', every person's.
  const event = { eventId: '30000', occurredAt: new Date().toISOString(), tags: ['organisation:1', 'organisations', ...people.map((id) => `person:${id}`)] };
  sentArgs.length = 0;
  expect(await cache.applyEvent(event)).toMatchObject({ applied: true });
  // A command carries one key and one token per tag, plus the script's few fixed arguments.
  expect(Math.max(...sentArgs)).toBeLessThanOrEqual(2 * TAG_CHUNK + 8);
  expect(sentArgs.length).toBeGreaterThanOrEqual(Math.ceil(event.tags.length / TAG_CHUNK));

  const stillHit: number[] = [];
  for (let i = 0; i < people.length; i += 100) {
    await Promise.all(people.slice(i, i + 100).map(async (id) => {
      if ((await answered(cache, keyOf(id), [`person:${id}`])).state !== 'miss') stillHit.push(id);
    }));
  }
  expect(stillHit).toEqual([]);

  // Applied once: a redelivery finds the marker (set after the last chunk) and changes no token.
  const before = await redis.get(cache.tagKey('person:30000'));
  expect(await cache.applyEvent(event)).toMatchObject({ applied: false });
  expect(await redis.get(cache.tagKey('person:30000'))).toBe(before);

  // A write's own invalidation of the same tags is chunked alike.
  sentArgs.length = 0;
  expect(await cache.invalidateTags(event.tags)).toBe(true);
  expect(Math.max(...sentArgs)).toBeLessThanOrEqual(2 * TAG_CHUNK + 8);
}, 120_000);
