import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@crm/telemetry';
import { ResponseCache, type Lookup } from '../src';
import { RedisServer, waitFor, waitUntilServing } from '@crm/testing';
import { createRedis, type RedisClient } from '@crm/redis';

// A real redis-server that keeps an RDB snapshot (taken only by SAVE), so the test can crash it (SIGKILL) and
// restart it from an older snapshot: the rollback an RDB/AOF restore brings.
const dir = mkdtempSync(join(tmpdir(), 'crm-cache-restart-'));
const server = new RedisServer(7301, { args: ['--dir', dir, '--dbfilename', 'dump.rdb'] });
const logger = createLogger('cache-test', 'silent');

interface Replica {
  redis: RedisClient;
  cache: ResponseCache;
}

const replicas: Replica[] = [];
async function replica(): Promise<Replica> {
  const redis = createRedis(server.url, 'cache', { logger, name: 'crm-cache' });
  // No outbox replay: the restart alone must make every entry stored before it a miss.
  const cache = new ResponseCache({ redis, logger, namespace: 'crm-restart' });
  replicas.push({ redis, cache });
  await waitUntilServing(cache);
  return { redis, cache };
}

const KEY = 'organisations:detail:1';
const TAGS = ['organisation:1'];
const versionsOf = (found: Lookup) => (found.state === 'miss' || found.state === 'expired' ? found.versions : {});

async function fill(cache: ResponseCache, body: string): Promise<void> {
  const found = await cache.lookup(KEY, TAGS);
  expect(found.state).toBe('miss');
  expect(await cache.store(KEY, Buffer.from(body), 'application/json', versionsOf(found), 600)).toMatchObject({ state: 'stored' });
}

/** A lookup that answered (a reconnecting client answers unavailable for a moment). */
async function answered(cache: ResponseCache): Promise<Lookup> {
  let found: Lookup = { state: 'unavailable' };
  await waitFor(async () => (found = await cache.lookup(KEY, TAGS)).state !== 'unavailable', 'the cache to answer');
  return found;
}

beforeAll(() => server.start());
afterAll(async () => {
  for (const { cache, redis } of replicas) {
    await cache.close();
    redis.disconnect();
  }
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('a cache Redis that restarts', () => {
  it('from an older snapshot (invalidation lost with the rollback) never serves the invalidated entry, on either replica, nor on one started after', async () => {
    const a = await replica();
    const b = await replica();
    await fill(a.cache, '{"name":"old"}');
    expect((await b.cache.lookup(KEY, TAGS)).state).toBe('hit');
    await a.redis.call('SAVE'); // the snapshot still holds the entry and the tokens it is valid with

    // A write: acknowledged, then lost with the crash.
    expect(await a.cache.applyEvent({ eventId: '1', occurredAt: new Date().toISOString(), tags: TAGS })).toMatchObject({ state: 'applied' });
    expect((await b.cache.lookup(KEY, TAGS)).state).toBe('miss');

    await server.restart(); // SIGKILL, then a new server loading the old snapshot
    await waitFor(() => a.redis.status === 'ready' && b.redis.status === 'ready', 'both clients to reconnect');
    // The rolled-back entry is there, with the tokens it was stored with: only the generation tells it is dead.
    expect(await a.redis.exists(`crm-restart:${KEY}`)).toBe(1);

    expect((await answered(a.cache)).state).toBe('miss');
    expect((await answered(b.cache)).state).toBe('miss');
    const c = await replica();
    expect((await answered(c.cache)).state).toBe('miss');

    // The replicas agree on one new generation: an entry one fills is a hit on the others.
    await fill(b.cache, '{"name":"new"}');
    for (const r of [a, b, c]) {
      const found = await answered(r.cache);
      expect(found.state).toBe('hit');
      if (found.state === 'hit') expect(found.entry.body.toString()).toBe('{"name":"new"}');
    }
  }, 30_000);

  it('empty (no snapshot) starts a generation and fills again', async () => {
    const a = await replica();
    rmSync(join(dir, 'dump.rdb'), { force: true });
    await server.restart();
    await waitFor(() => a.redis.status === 'ready', 'the client to reconnect');
    expect((await answered(a.cache)).state).toBe('miss');
    await fill(a.cache, '{"name":"after empty restart"}');
    expect((await answered(a.cache)).state).toBe('hit');
  }, 30_000);
});
