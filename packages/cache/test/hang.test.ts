import { createLogger } from '@crm/telemetry';
import { ResponseCache } from '../src';
import { RedisServer, waitFor, waitUntilServing } from '@crm/testing';
import { createRedis, type RedisClient } from '@crm/redis';

// A real redis-server the test hangs (SIGSTOP). The client's command timeout is 2 s here (a slow network's
// setting), so a request that waited for its own timeout would show: the watchdog must answer long before.
const server = new RedisServer(7302);
const logger = createLogger('cache-test', 'silent');
let redis: RedisClient;
let cache: ResponseCache;

beforeAll(async () => {
  await server.start();
  redis = createRedis(server.url, 'cache', { logger, name: 'crm-cache', commandTimeout: 2_000 });
  cache = new ResponseCache({ redis, logger, namespace: 'crm-hang' });
  await waitUntilServing(cache);
});
afterAll(async () => {
  await cache.close();
  redis.disconnect();
  await server.stop();
});

it('a hung Redis: lookups already waiting and new ones give up within a fraction of the command timeout, and the cache serves again as soon as it answers', async () => {
  const tags = ['organisation:1'];
  const found = await cache.lookup('organisations:detail:1', tags);
  await cache.store('organisations:detail:1', Buffer.from('{}'), 'application/json', found.state === 'miss' ? found.versions : {}, 60);
  expect((await cache.lookup('organisations:detail:1', tags)).state).toBe('hit');

  await server.pause();
  const timings: number[] = [];
  try {
    const timed = async () => {
      const started = performance.now();
      const result = await cache.lookup('organisations:detail:1', tags);
      timings.push(performance.now() - started);
      return result.state;
    };
    // 20 concurrent lookups sent into the hang, then 20 more one after the other.
    expect(new Set(await Promise.all(Array.from({ length: 20 }, timed)))).toEqual(new Set(['unavailable']));
    for (let i = 0; i < 20; i++) expect(await timed()).toBe('unavailable');
  } finally {
    await server.resume();
  }
  process.stdout.write(`lookups during the hang: max ${Math.round(Math.max(...timings))} ms over ${timings.length}\n`);
  expect(Math.max(...timings)).toBeLessThan(1_000);

  // The background probe closes the breaker once Redis answers: no waiting out the breaker's 5 s.
  const resumed = performance.now();
  await waitFor(async () => (await cache.lookup('organisations:detail:1', tags)).state === 'hit', 'the cache to serve again', 4_000);
  process.stdout.write(`serving again ${Math.round(performance.now() - resumed)} ms after Redis answered\n`);
}, 30_000);
