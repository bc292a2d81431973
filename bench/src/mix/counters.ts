/**
 * What the servers count during a phase of `npm run bench`: PostgreSQL's transactions and tuples returned and
 * fetched (pg_stat_database), the worker's invalidation lag (its /metrics histogram), the cache Redis's memory.
 */
import type { Redis } from 'ioredis';
import type { createOrm } from '@crm/database';

/** The benchmark's own database connection (one, for pg_stat reads). */
export type Pg = Awaited<ReturnType<typeof createOrm>>;

/** Transactions (commits + rollbacks), tuples returned (scanned) and tuples fetched so far in the bench database. */
export async function dbTransactions(pg: Pg): Promise<{ xacts: number; tupReturned: number; tupFetched: number }> {
  const connection = pg.em.getConnection();
  await connection.execute('select pg_stat_clear_snapshot()');
  const rows = await connection.execute<{ x: string; t: string; f: string }[]>('select (xact_commit + xact_rollback)::text as x, tup_returned::text as t, tup_fetched::text as f from pg_stat_database where datname = current_database()');
  return { xacts: Number(rows[0]?.x ?? 0), tupReturned: Number(rows[0]?.t ?? 0), tupFetched: Number(rows[0]?.f ?? 0) };
}

/** p50/p99 of a Prometheus histogram from its cumulative buckets (upper bound of the bucket holding the quantile). */
export async function lagQuantiles(workerUrl: string): Promise<{ count: number; p50Ms: number | null; p99Ms: number | null }> {
  try {
    const text = await (await fetch(`${workerUrl}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
    const buckets: [number, number][] = [];
    for (const m of text.matchAll(/^cache_invalidation_lag_seconds_bucket\{[^}]*le="([^"]+)"[^}]*\}\s+([\d.e+]+)/gm)) {
      buckets.push([m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2])]);
    }
    buckets.sort((a, b) => a[0] - b[0]);
    const count = buckets.at(-1)?.[1] ?? 0;
    const q = (p: number) => { if (!count) return null; const b = buckets.find(([, c]) => c >= p * count); return b ? (Number.isFinite(b[0]) ? b[0] * 1000 : Infinity) : null; };
    return { count, p50Ms: q(0.5), p99Ms: q(0.99) };
  } catch {
    return { count: 0, p50Ms: null, p99Ms: null };
  }
}

/** The cache Redis's used_memory and the keys in its database. */
export async function redisMemory(redis: Redis): Promise<{ usedMemoryBytes: number; keysDb: number }> {
  const info = await redis.info('memory');
  return { usedMemoryBytes: Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? 0), keysDb: await redis.dbsize() };
}
