import { randomUUID } from 'node:crypto';
import { createLogger } from '@crm/telemetry';
import { ResponseCache, type Lookup } from '../src';
import { testCacheRedis, waitFor } from '@crm/testing';
import { TAG_CHUNK } from '../src/chunks';
import { UNREAD_TOKEN_MS } from '../src/tokens';
import { createRedis, type RedisClient } from '@crm/redis';

// Tag tokens against the tests' Redis (the local server, or the cluster run's cluster), in a namespace of the test's own.
const logger = createLogger('cache-test', 'silent');
let redis: RedisClient;
/** The test's own reads of 30,000 tokens: a separate client with a patient timeout (the cache's is 250 ms). */
let inspect: RedisClient;
const caches: ResponseCache[] = [];

/** Every command the client sends, by its number of arguments (the largest one sent is what matters). */
const sentArgs: number[] = [];

beforeAll(async () => {
  // A patient command timeout: what is tested is how invalidations are cut, not how a busy shared Redis is survived.
  redis = createRedis(testCacheRedis(), 'cache', { logger, name: 'crm-cache', commandTimeout: 5_000 });
  const send = redis.sendCommand.bind(redis) as (command: { args: unknown[] }, ...rest: unknown[]) => unknown;
  (redis as unknown as { sendCommand: typeof send }).sendCommand = (command, ...rest) => {
    sentArgs.push(command.args.length);
    return send(command, ...rest);
  };
  inspect = createRedis(testCacheRedis(), 'cache', { logger, name: 'crm-cache', commandTimeout: 10_000 });
  await new Promise((resolve) => redis.once('ready', resolve));
});
afterAll(async () => {
  for (const cache of caches) {
    await cache.deletePrefix('');
    await cache.close();
    await redis.unlink(cache.keys.stats);
  }
  redis.disconnect();
  inspect.disconnect();
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

  expect(await redis.pttl(cache.keys.tag('produit:1'))).toBeGreaterThan(0);
  await waitFor(async () => (await redis.exists(cache.keys.tag('produit:1'))) === 0, 'the token to expire', 5_000);
  // The entry (stored for 60 s) is still there, with the expired token: a new token makes it a miss.
  expect(await redis.exists(cache.keys.entry('produits:detail:1'))).toBe(1);
  expect((await cache.lookup('produits:detail:1', tags)).state).toBe('miss');
});

it('invalidated tokens expire too: a tag an entry may depend on keeps the longest lifetime, a tag nobody read a short one', async () => {
  const cache = newCache({ maxTtlSeconds: 600, graceSeconds: 10 });
  // `produits` was read (a lookup gave it a first token): entries may depend on it.
  expect((await answered(cache, 'produits:list:1', ['produits'])).state).toBe('miss');
  expect(await cache.applyEvent({ eventId: '1', occurredAt: new Date().toISOString(), tags: ['produits'] })).toMatchObject({ state: 'applied' });
  expect(await cache.applyEvent({ eventId: '2', occurredAt: new Date().toISOString(), tags: ['produit:2'] })).toMatchObject({ state: 'applied' });
  const read = await redis.pttl(cache.keys.tag('produits'));
  expect(read).toBeGreaterThan(60_000);
  expect(read).toBeLessThanOrEqual(610_000);
  // `produit:2` was never read: its token only has to outlive the fills in flight (UNREAD_TOKEN_MS).
  const unread = await redis.pttl(cache.keys.tag('produit:2'));
  expect(unread).toBeGreaterThan(0);
  expect(unread).toBeLessThanOrEqual(UNREAD_TOKEN_MS);
});

it('an organisation with 30,000 people: its update invalidates every person detail, in commands of at most 500 tags, once', async () => {
  const cache = newCache();
  const people = Array.from({ length: 30_000 }, (_, i) => i + 1);
  const keyOf = (id: number) => `people:detail:${id}`;
  const tagKeys = people.map((id) => cache.keys.tag(`person:${id}`));
  const tokens = async () => {
    const read: (string | null)[] = [];
    for (const run of chunkOf(tagKeys)) read.push(...(await inspect.mget(...run)));
    return read;
  };
  // Every 100th person's detail cached (each lookup writes its tag's first token), and the first and last ones.
  const cached = people.filter((id) => id % 100 === 1 || id === 30_000);
  for (const id of cached) {
    const found = await answered(cache, keyOf(id), [`person:${id}`]);
    expect(found.state).toBe('miss');
    await cache.store(keyOf(id), Buffer.from(`{"id":${id}}`), 'application/json', versionsOf(found), 300);
  }
  expect((await answered(cache, keyOf(30_000), ['person:30000'])).state).toBe('hit');
  const before = await tokens();

  // The tags of the organisation's update (as cache-tags.ts declares them): its own, its lists', every person's.
  const event = { eventId: '30000', occurredAt: new Date().toISOString(), tags: ['organisation:1', 'organisations', ...people.map((id) => `person:${id}`)] };
  sentArgs.length = 0;
  expect(await cache.applyEvent(event)).toMatchObject({ state: 'applied' });
  // A command carries one key and one token per tag, plus the script's few fixed arguments.
  expect(Math.max(...sentArgs)).toBeLessThanOrEqual(2 * TAG_CHUNK + 16);

  // Every person's tag has a new token (so every entry stored with the old one misses), and the cached details miss.
  const after = await tokens();
  expect(people.filter((_, i) => after[i] === null || after[i] === before[i])).toEqual([]);
  const stillHit: number[] = [];
  for (const id of cached) if ((await answered(cache, keyOf(id), [`person:${id}`])).state !== 'miss') stillHit.push(id);
  expect(stillHit).toEqual([]);

  // Applied once: a redelivery finds the marker (set after the last chunk) and changes no token.
  expect(await cache.applyEvent(event)).toMatchObject({ state: 'already-applied' });
  expect(await tokens()).toEqual(after);

  // Another event over the same tags is chunked alike. (Applied, by this call or, when a slow chunk made the write
  // retry it, by the first attempt: either way not owed.)
  sentArgs.length = 0;
  expect((await cache.applyEvent({ ...event, eventId: '30001' })).state).not.toBe('owed');
  expect(Math.max(...sentArgs)).toBeLessThanOrEqual(2 * TAG_CHUNK + 16);
}, 120_000);

/** Runs of 500 keys, for the test's own reads (one slot, but not 30,000 arguments in one command). */
const chunkOf = (keys: string[]) => Array.from({ length: Math.ceil(keys.length / 500) }, (_, i) => keys.slice(i * 500, (i + 1) * 500));
