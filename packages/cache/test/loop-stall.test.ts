import { createLogger } from '@crm/telemetry';
import { ResponseCache } from '../src';
import { CircuitBreaker } from '../src/breaker';
import { RedisServer, waitFor } from '@crm/testing';
import { createRedis, type RedisClient } from '@crm/redis';

// Our own redis-server (a spare port): healthy all along; only this process stalls.
const server = new RedisServer(6423);
const logger = createLogger('cache-test', 'silent');

/** Blocks the event loop, as a CPU-starved process or a long synchronous task would. */
function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) { /* busy */ }
}

describe('a stall of this process (not of Redis)', () => {
  let redis: RedisClient;
  let cache: ResponseCache;
  const breaker = new CircuitBreaker(2, 5_000);

  beforeAll(async () => {
    await server.start();
    redis = createRedis(server.url, 'cache', { logger, name: 'crm-cache' });
    cache = new ResponseCache({ redis, logger, breaker });
    await waitFor(() => redis.status === 'ready', 'the connection');
  });
  afterAll(async () => {
    await cache.close();
    redis.disconnect();
    await server.stop();
  });

  it('times out the calls in flight, but does not open the breaker: the next reads are served from the cache', async () => {
    const tags = ['organisation:1'];
    const first = await cache.lookup('organisations:detail:stall', tags);
    await cache.store('organisations:detail:stall', Buffer.from('{"name":"a"}'), 'application/json', first.state === 'miss' ? first.versions : {}, 60);
    expect((await cache.lookup('organisations:detail:stall', tags)).state).toBe('hit');

    // Calls sent, then the loop blocks past the 250 ms command timeout: when it resumes, Node runs the expired
    // timers before it reads the replies waiting on the socket, so the calls time out although Redis answered.
    const inFlight = Array.from({ length: 5 }, () => cache.lookup('organisations:detail:stall', tags));
    // ioredis writes auto-pipelined commands in a setImmediate: let the lookups reach it (microtasks only, so
    // nothing is read yet), then stall in the next setImmediate, right after the commands went out.
    for (let i = 0; i < 50; i++) await Promise.resolve();
    await new Promise<void>((r) => setImmediate(() => { stall(400); r(); }));
    const results = await Promise.all(inFlight);
    expect(results.filter((r) => r.state === 'unavailable').length).toBeGreaterThanOrEqual(2); // the stall did cost them

    expect(breaker.state).toBe('closed');
    expect((await cache.lookup('organisations:detail:stall', tags)).state).toBe('hit');
  });

  it('a hung Redis still opens it, once the stall is over', async () => {
    await server.pause();
    try {
      // Timeouts within a second of the stall above are still blamed on it; after that, two open the breaker.
      const started = performance.now();
      await waitFor(async () => { await cache.lookup('organisations:detail:stall', ['organisation:1']); return breaker.state === 'open'; }, 'the breaker to open', 5_000);
      expect(performance.now() - started).toBeLessThan(2_500);
    } finally {
      await server.resume();
    }
  });
});
