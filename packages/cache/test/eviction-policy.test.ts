import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import type { Logger } from '@crm/telemetry';
import { checkCacheEvictionPolicy, checkQueueEvictionPolicy } from '../src';

// Two real servers on spare ports, one configured like the cache Redis, one like the queue Redis.
const servers: ChildProcess[] = [];
const clients: Redis[] = [];

async function server(port: number, policy: string): Promise<Redis> {
  servers.push(spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--maxmemory-policy', policy], { stdio: 'ignore' }));
  const client = new Redis({ port, retryStrategy: () => 50 });
  clients.push(client);
  await new Promise<void>((resolve) => client.once('ready', () => resolve()));
  return client;
}

function capture(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, logger: { warn: (_obj: unknown, msg: string) => warnings.push(msg) } as unknown as Logger };
}

afterAll(() => {
  clients.forEach((c) => c.disconnect());
  servers.forEach((s) => s.kill('SIGKILL'));
});

describe('eviction policy checks at start', () => {
  it('warns when the cache Redis would evict nothing, and when the queue Redis could evict', async () => {
    const base = 6400 + Math.floor(Math.random() * 50) * 2;
    const noEviction = await server(base, 'noeviction');
    const lru = await server(base + 1, 'allkeys-lru');

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
