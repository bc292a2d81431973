import { Writable } from 'node:stream';
import { createLogger } from '@crm/telemetry';
import { createRedis, pingRedis, type RedisClient } from '../src';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
// Nothing listens on port 1: every connection attempt fails at once.
const NOWHERE = 'redis://127.0.0.1:1/0';

/** A logger whose lines the test can read. */
function capturedLogger() {
  const lines: { msg: string; redis?: string }[] = [];
  const sink = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done(); } });
  return { logger: createLogger('redis-test', 'warn', sink), lines };
}

const clients: RedisClient[] = [];
const open = (...args: Parameters<typeof createRedis>) => {
  const client = createRedis(...args);
  clients.push(client);
  return client;
};
afterEach(() => { clients.splice(0).forEach((c) => c.disconnect()); });

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('createRedis', () => {
  it('connects every profile to a live server, named as asked', async () => {
    const { logger } = capturedLogger();
    for (const profile of ['cache', 'queue-producer', 'queue-worker', 'probe'] as const) {
      const client = open(REDIS_URL, profile, { logger, name: `redis-test-${profile}` });
      await until(() => client.status === 'ready', `${profile} to connect`);
      await pingRedis(client);
      expect(await client.client('GETNAME')).toBe(`redis-test-${profile}`);
    }
  });

  it('fails a cache command at once while Redis is away, instead of queueing it', async () => {
    const { logger } = capturedLogger();
    const client = open(NOWHERE, 'cache', { logger, name: 'redis-test-cache' });
    const started = performance.now();
    await expect(client.get('k')).rejects.toThrow();
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('keeps a queue worker command waiting for Redis (BullMQ requires it)', async () => {
    const { logger } = capturedLogger();
    const client = open(NOWHERE, 'queue-worker', { logger, name: 'redis-test-worker' });
    expect((client.options as { maxRetriesPerRequest?: number | null }).maxRetriesPerRequest).toBeNull();
    let settled = false;
    client.get('k').then(() => { settled = true; }, () => { settled = true; });
    await until(() => client.status === 'reconnecting', 'a reconnect attempt');
    expect(settled).toBe(false);
  });

  it('logs a down server at most once per 10 s, naming the connection', async () => {
    const { logger, lines } = capturedLogger();
    const client = open(NOWHERE, 'probe', { logger, name: 'redis-test-probe' });
    let errors = 0;
    client.on('error', () => { errors++; });
    await until(() => errors >= 3, 'three failed connection attempts');
    const logged = lines.filter((l) => l.msg === 'redis connection error');
    expect(logged).toHaveLength(1);
    expect(logged[0]!.redis).toBe('redis-test-probe');
  });
});
