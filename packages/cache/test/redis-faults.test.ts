import type { Socket } from 'node:net';
import { createLogger } from '@crm/telemetry';
import { ResponseCache } from '../src';
import { CircuitBreaker } from '../src/breaker';
import { cacheKey } from '../src/keys';
import { RedisServer, waitFor } from '@crm/testing';
import { createRedis, type RedisClient } from '@crm/redis';

// A real redis-server on a spare port, so the test can hang it (SIGSTOP) and kill it.
const server = new RedisServer(6410);
const logger = createLogger('cache-test', 'silent');
let eventIds = 0;
/** A committed write's event over `tags` (a new id each). */
const event = (tags: string[]) => ({ eventId: String(++eventIds), occurredAt: new Date().toISOString(), tags });

describe('the cache when Redis hangs or dies', () => {
  let redis: RedisClient;
  let cache: ResponseCache;

  beforeAll(async () => {
    await server.start();
    redis = createRedis(server.url, 'cache', { logger, name: 'crm-cache' });
    cache = new ResponseCache({ redis, logger, breaker: new CircuitBreaker(2, 500) });
    await waitFor(() => redis.status === 'ready', 'the connection');
  });
  afterAll(async () => {
    await cache.close();
    redis.disconnect();
    await server.stop();
  });

  it('keys ignore parameter order', () => {
    expect(cacheKey('organisations', 'list', { b: 1, a: 2 })).toBe(cacheKey('organisations', 'list', { a: 2, b: 1 }));
    expect(cacheKey('organisations', 'list', { a: 1 })).toMatch(/^organisations:list:[\w-]{22}$/);
  });

  it('a hung Redis (SIGSTOP) costs a bounded wait, then none once the breaker opens; nothing invalidated meanwhile is served after', async () => {
    const tags = ['organisation:1'];
    const first = await cache.lookup('organisations:detail:x', tags);
    expect(first.state).toBe('miss');
    await cache.store('organisations:detail:x', Buffer.from('{"name":"old"}'), 'application/json', first.state === 'miss' ? first.versions : {}, 60);
    expect((await cache.lookup('organisations:detail:x', tags)).state).toBe('hit');

    await server.pause();
    try {
      const timings: number[] = [];
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        expect((await cache.lookup('organisations:detail:x', tags)).state).toBe('unavailable');
        timings.push(performance.now() - started);
      }
      // The first calls wait for the command timeout (250 ms); once the breaker is open, none waits.
      expect(Math.max(...timings)).toBeLessThan(400);
      expect(timings[timings.length - 1]).toBeLessThan(5);
      // A write during the hang cannot reach Redis: its invalidation is owed.
      expect(await cache.applyEvent(event(tags))).toEqual({ state: 'owed' });
    } finally {
      await server.resume();
    }
    // Back: the owed invalidation is applied before anything is served, so the old entry is never a hit again.
    await waitFor(async () => (await cache.lookup('organisations:detail:x', tags)).state !== 'unavailable', 'the cache to answer again', 10_000);
    expect((await cache.lookup('organisations:detail:x', tags)).state).toBe('miss');
  });

  it('a killed Redis fails fast, and the cache works again when it restarts', async () => {
    await server.kill();
    await waitFor(() => redis.status !== 'ready', 'the connection to drop', 10_000);
    const started = performance.now();
    expect((await cache.lookup('k', ['t'])).state).toBe('unavailable');
    expect(performance.now() - started).toBeLessThan(50);
    expect(await cache.applyEvent(event(['t']))).toEqual({ state: 'owed' });

    await server.start();
    await waitFor(async () => (await cache.lookup('k', ['t'])).state === 'miss', 'the restarted server to answer', 15_000);
  });

  it("a write whose own connection drops with its invalidation unsent retries once reconnected, before it answers: another replica never serves the old entry", async () => {
    const other = createRedis(server.url, 'cache', { logger, name: 'crm-cache' });
    const replica = new ResponseCache({ redis: other, logger });
    try {
      await waitFor(() => redis.status === 'ready' && other.status === 'ready', 'both connections');
      const key = 'organisations:detail:local-fault';
      const tags = ['organisation:local-fault'];
      const found = await replica.lookup(key, tags);
      expect(found.state).toBe('miss');
      await replica.store(key, Buffer.from('{"version":1}'), 'application/json', found.state === 'miss' ? found.versions : {}, 60);
      expect((await replica.lookup(key, tags)).state).toBe('hit');
      // Only the writer's connection is lost (reset, a proxy's idle timeout), with the invalidation still in it.
      const socket = (redis as unknown as { stream: Socket }).stream;
      socket.cork();
      const write = cache.applyEvent(event(tags));
      await new Promise((resolve) => setImmediate(resolve));
      socket.destroy();
      const invalidated = await write;
      expect((await replica.lookup(key, tags)).state).toBe('miss');
      expect(invalidated).toMatchObject({ state: 'applied' });
    } finally {
      await replica.close();
      other.disconnect();
    }
  });
});
