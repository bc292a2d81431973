/** The bench database (seeded once, then reused) and, in Redis, the application's cache keys and counters. */
import { Redis } from 'ioredis';
import { createOrm, ensureDatabase, migrate, seedDatabase } from '@crm/database';
import { truncateAll } from '@crm/database/testing';

export const SIZES = { organisations: 100_000, people: 500_000, mandats: 200_000, interactions: 0 } as const;

/** Creates and migrates the bench database and seeds it unless it already holds the benchmark's data. */
export async function prepareDatabase(databaseUrl: string, log: (line: string) => void): Promise<void> {
  const created = await ensureDatabase(databaseUrl);
  const applied = await migrate(databaseUrl);
  log(`database: ${created ? 'created' : 'exists'}, ${applied.length} migration(s) applied`);

  const orm = await createOrm({ databaseUrl, poolMax: 1 });
  try {
    const connection = orm.em.getConnection();
    const [row] = await connection.execute<{ n: number }[]>('select count(*)::int as n from organisation');
    const existing = row?.n ?? 0;
    if (existing >= SIZES.organisations) {
      log(`database: ${existing.toLocaleString('en')} organisations already there, reusing them`);
      return;
    }
    log(`database: ${existing.toLocaleString('en')} organisations, fewer than ${SIZES.organisations.toLocaleString('en')}: truncating and seeding`);
    await truncateAll(orm);
    const started = Date.now();
    const counts = await seedDatabase({ databaseUrl, ...SIZES, seed: 1, progress: true });
    // The seeder only analyzes; a vacuum sets the visibility map so counts can use index-only scans,
    // as they would on a database that has been running for a while.
    await connection.execute('vacuum (analyze) organisation, person, mandat');
    log(`database: seeded ${Object.entries(counts).map(([k, v]) => `${v.toLocaleString('en')} ${k}`).join(', ')} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    await orm.close(true);
  }
}

/** The application's keys only (entries, fill locks, stats, tag tokens): never FLUSHDB/FLUSHALL. */
export async function clearCacheKeys(redis: Redis, namespace: string): Promise<number> {
  let deleted = 0;
  for (const match of [`${namespace}:*`, `{${namespace}:tags}:*`]) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1_000);
      cursor = next;
      if (keys.length) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  }
  return deleted;
}

/** Hits and misses the API processes have flushed to Redis (the cache's `<namespace>:stats` hash, prefix `organisations`). */
export async function cacheCounters(redis: Redis, namespace: string): Promise<{ hits: number; misses: number }> {
  const stats = await redis.hgetall(`${namespace}:stats`);
  return { hits: Number(stats['organisations:hit'] ?? 0), misses: Number(stats['organisations:miss'] ?? 0) };
}

/** CPU seconds the Redis server has used (all clients: it is only a close figure if nothing else is busy on it). */
export async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return field('used_cpu_user') + field('used_cpu_sys');
}
