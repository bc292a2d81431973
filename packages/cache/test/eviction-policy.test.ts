import { Redis } from 'ioredis';
import type { Logger } from '@crm/telemetry';
import { RedisServer } from '@crm/testing';
import { checkCacheEvictionPolicy, checkQueueEvictionPolicy } from '@crm/redis';

// Two real servers on spare ports, one configured like the cache Redis, one like the queue Redis.
const servers: RedisServer[] = [];
const clients: Redis[] = [];

async function server(port: number, policy: string): Promise<Redis> {
  const started = await RedisServer.start(port, { args: ['--maxmemory-policy', policy] });
  servers.push(started);
  const client = new Redis(started.url);
  clients.push(client);
  return client;
}

function capture(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, logger: { warn: (_obj: unknown, msg: string) => warnings.push(msg) } as unknown as Logger };
}

afterAll(async () => {
  clients.forEach((c) => c.disconnect());
  await Promise.all(servers.map((s) => s.stop()));
});

describe('eviction policy checks at start', () => {
  it('warns when the cache Redis would evict nothing, and when the queue Redis could evict', async () => {
    const noEviction = await server(6411, 'noeviction');
    const lru = await server(6412, 'allkeys-lru');

    const a = capture();
    expect(await checkCacheEvictionPolicy(noEviction, a.logger)).toBe('noeviction');
    expect(a.warnings).toEqual([expect.stringMatching(/evicts nothing/)]);
    const b = capture();
    await checkCacheEvictionPolicy(lru, b.logger);
    expect(b.warnings).toEqual([]);

    const c = capture();
    expect(await checkQueueEvictionPolicy(lru, c.logger)).toBe('allkeys-lru');
    expect(c.warnings).toEqual([expect.stringMatching(/jobs/)]);
    const d = capture();
    await checkQueueEvictionPolicy(noEviction, d.logger);
    expect(d.warnings).toEqual([]);
  });
});
