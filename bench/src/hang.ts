/**
 * Reads while the cache Redis hangs (SIGSTOP): prints p50/p95/max of read latency before, during (first second,
 * whole hang) and after. A read is what a cached GET does: a lookup, and on anything but a hit a database read
 * (simulated, DB_MS) and a store. Starts its own redis-server (HANG_PORT, default 7350).
 *
 *   pnpm --filter @crm/bench run build && node bench/dist/hang.js
 *
 * Settings: READERS (20 concurrent readers), HANG_MS (5000), DB_MS (5), HANG_PORT (7350).
 */
import { createLogger } from '@crm/telemetry';
import { ResponseCache, type Lookup } from '@crm/cache';
import { RedisServer, waitFor } from '@crm/testing';
import { log, positiveNumber, sleep } from './util';
import { createRedis } from '@crm/redis';

const READERS = positiveNumber('READERS', 20);
const HANG_MS = positiveNumber('HANG_MS', 5_000);
const DB_MS = positiveNumber('DB_MS', 5);
const PORT = positiveNumber('HANG_PORT', 7_350);

interface Sample {
  startedAt: number;
  ms: number;
}

function summary(name: string, samples: Sample[]): void {
  const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  log(`${name.padEnd(24)} reads ${String(sorted.length).padStart(6)}  p50 ${at(0.5).toFixed(1).padStart(6)} ms  p95 ${at(0.95).toFixed(1).padStart(6)} ms  max ${(sorted[sorted.length - 1] ?? NaN).toFixed(1).padStart(6)} ms`);
}

async function main(): Promise<void> {
  const logger = createLogger('bench-hang', 'silent');
  const server = await RedisServer.start(PORT);
  const redis = createRedis(server.url, 'cache', { logger, name: 'crm-cache' });
  const cache = new ResponseCache({ redis, logger, namespace: 'crm-bench-hang' });
  const samples: Sample[] = [];
  let running = true;
  try {
    await waitFor(async () => (await cache.lookup('~ready', [])).state !== 'unavailable', 'the cache');
    const read = async (i: number) => {
      const key = `organisations:detail:${i % 50}`;
      const tags = [`organisation:${i % 50}`];
      const found: Lookup = await cache.lookup(key, tags);
      if (found.state === 'hit') return;
      await sleep(DB_MS); // the database read
      if (found.state !== 'unavailable') await cache.store(key, Buffer.from('{}'), 'application/json', found.versions, 60);
    };
    const reader = async (n: number) => {
      for (let i = n; running; i += READERS) {
        const startedAt = performance.now();
        await read(i);
        samples.push({ startedAt, ms: performance.now() - startedAt });
      }
    };
    const readers = Array.from({ length: READERS }, (_, n) => reader(n));
    await sleep(2_000);
    const hangAt = performance.now();
    await server.pause();
    await sleep(HANG_MS);
    const resumeAt = performance.now();
    await server.resume();
    await sleep(2_000);
    running = false;
    await Promise.all(readers);

    log(`${READERS} readers, Redis hung for ${HANG_MS} ms, database read ${DB_MS} ms`);
    summary('before the hang', samples.filter((s) => s.startedAt < hangAt));
    summary('hang, first second', samples.filter((s) => s.startedAt >= hangAt && s.startedAt < hangAt + 1_000));
    summary('hang, whole', samples.filter((s) => s.startedAt >= hangAt && s.startedAt < resumeAt));
    summary('after it answers', samples.filter((s) => s.startedAt >= resumeAt));
  } finally {
    running = false;
    await cache.close();
    redis.disconnect();
    await server.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
