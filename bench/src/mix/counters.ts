/**
 * What the servers count during a phase of `npm run bench`: PostgreSQL's transactions and tuples returned and
 * fetched (pg_stat_database), the services' /metrics (invalidation lag, tags invalidated, refills) as the increase
 * between two scrapes, the cache Redis's memory and the size of our cache's dependency index.
 */
import type { Redis } from 'ioredis';
import type { createOrm } from '@crm/database';
import { log } from '../util';
import type { InvalidationFigures } from './figures';

/** The benchmark's own database connection (one, for pg_stat reads). */
export type Pg = Awaited<ReturnType<typeof createOrm>>;

/** Transactions (commits + rollbacks), tuples returned (scanned) and tuples fetched so far in the bench database. */
export async function dbTransactions(pg: Pg): Promise<{ xacts: number; tupReturned: number; tupFetched: number }> {
  const connection = pg.em.getConnection();
  await connection.execute('select pg_stat_clear_snapshot()');
  const rows = await connection.execute<{ x: string; t: string; f: string }[]>('select (xact_commit + xact_rollback)::text as x, tup_returned::text as t, tup_fetched::text as f from pg_stat_database where datname = current_database()');
  return { xacts: Number(rows[0]?.x ?? 0), tupReturned: Number(rows[0]?.t ?? 0), tupFetched: Number(rows[0]?.f ?? 0) };
}

/** One scrape of a service's /metrics: every sample as its name, its labels as written and its value. */
export interface Scrape { samples: { name: string; labels: string; value: number }[] }

/** Scrapes `url`/metrics, twice at most; null (and a line saying why) when it does not answer. */
export async function scrape(url: string): Promise<Scrape | null> {
  let why = '';
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) });
      if (!res.ok) throw new Error(`status ${res.status}`);
      const samples = [...(await res.text()).matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/gm)]
        .map((m) => ({ name: m[1]!, labels: m[2] ?? '', value: Number(m[3]) }));
      return { samples };
    } catch (error) {
      why = (error as Error).message;
    }
  }
  log(`   ${url}/metrics did not answer (${why}): its figures are left out`);
  return null;
}

/** A counter's total over its series, summed over scrapes (several processes). */
const total = (scrapes: Scrape[], name: string) =>
  scrapes.reduce((sum, s) => sum + s.samples.filter((x) => x.name === name).reduce((t, x) => t + x.value, 0), 0);

/** A counter's increase from the `before` scrapes to the `after` ones. */
export const counterDelta = (before: Scrape[], after: Scrape[], name: string) => total(after, name) - total(before, name);

/** A histogram's cumulative buckets (upper bound, count), count and sum, summed over scrapes. */
interface Histogram { buckets: [number, number][]; count: number; sum: number }

function histogram(scrapes: Scrape[], name: string): Histogram {
  const byBound = new Map<number, number>();
  for (const s of scrapes) {
    for (const x of s.samples) {
      if (x.name !== `${name}_bucket`) continue;
      const le = /le="([^"]+)"/.exec(x.labels)?.[1];
      if (le === undefined) continue;
      const bound = le === '+Inf' ? Infinity : Number(le);
      byBound.set(bound, (byBound.get(bound) ?? 0) + x.value);
    }
  }
  return { buckets: [...byBound].sort((a, b) => a[0] - b[0]), count: total(scrapes, `${name}_count`), sum: total(scrapes, `${name}_sum`) };
}

/** A histogram's observations between the `before` and `after` scrapes (bucket by bucket). */
export function histogramDelta(before: Scrape[], after: Scrape[], name: string): Histogram {
  const start = histogram(before, name);
  const end = histogram(after, name);
  const startBuckets = new Map(start.buckets);
  return {
    buckets: end.buckets.map(([bound, count]) => [bound, count - (startBuckets.get(bound) ?? 0)]),
    count: end.count - start.count,
    sum: end.sum - start.sum,
  };
}

/** The `p` quantile of a histogram: the upper bound of the bucket holding it (Infinity past the last); null when empty. */
export function quantile({ buckets, count }: Histogram, p: number): number | null {
  if (!count) return null;
  return buckets.find(([, c]) => c >= p * count)?.[0] ?? null;
}

/** p50/p99 of the worker's invalidation lag histogram over the window between two scrapes of it (none without both). */
export function lagQuantiles(before: Scrape | null, after: Scrape | null): { count: number; p50Ms: number | null; p99Ms: number | null } {
  if (!before || !after) return { count: 0, p50Ms: null, p99Ms: null };
  const lag = histogramDelta([before], [after], 'cache_invalidation_lag_seconds');
  const ms = (q: number | null) => (q === null ? null : Number.isFinite(q) ? q * 1000 : Infinity);
  return { count: lag.count, p50Ms: ms(quantile(lag, 0.5)), p99Ms: ms(quantile(lag, 0.99)) };
}

/** The cache Redis's used_memory and the keys in its database. */
export async function redisMemory(redis: Redis): Promise<{ usedMemoryBytes: number; keysDb: number }> {
  const info = await redis.info('memory');
  return { usedMemoryBytes: Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? 0), keysDb: await redis.dbsize() };
}

/** One scrape of each process of a phase's stack (null: it did not answer). */
export interface StackScrape { apis: (Scrape | null)[]; worker: Scrape | null }

const complete = (s: StackScrape): s is { apis: Scrape[]; worker: Scrape } => s.worker !== null && s.apis.every((a) => a !== null);

/**
 * Our cache's invalidations over the window between two scrapes of the APIs and the worker: tags per applied event
 * that had a token (`cache_invalidated_tags`, observed by whichever process applied the event: the write's API, else
 * the worker), and the read-driven refills enqueued and wasted (worker) and used (the APIs, summed). Null when a
 * process did not answer one of the scrapes.
 */
export function invalidationFigures(before: StackScrape, after: StackScrape): InvalidationFigures | null {
  if (!complete(before) || !complete(after)) return null;
  const tags = histogramDelta([...before.apis, before.worker], [...after.apis, after.worker], 'cache_invalidated_tags');
  return {
    events: tags.count,
    tagsPerEvent: { mean: tags.count ? Math.round((100 * tags.sum) / tags.count) / 100 : null, p99: quantile(tags, 0.99) },
    refills: {
      enqueued: counterDelta([before.worker], [after.worker], 'cache_refill_targets_total'),
      stored: counterDelta(before.apis, after.apis, 'cache_refills_total'),
      used: counterDelta(before.apis, after.apis, 'cache_refills_used_total'),
      wasted: counterDelta([before.worker], [after.worker], 'cache_refills_wasted_total'),
    },
  };
}

/** Keys and their memory: MEMORY USAGE of up to SAMPLE of them, extrapolated to all. */
export interface KeySize { keys: number; bytes: number; sampled: number }

const SAMPLE = 1_000;

/**
 * Our cache's dependency index in the cache Redis: its tag tokens and, apart, its reader logs (keys.ts:
 * `{<ns>:tags}:<tag>` and `{<ns>:tags}:~readers:<tag>`; the slot's other `~` keys, markers and counters, are
 * neither). SCAN is the benchmark's: the product never scans.
 */
export async function dependencyIndex(redis: Redis, namespace: string): Promise<{ tagTokens: KeySize; readerLogs: KeySize }> {
  const prefix = `{${namespace}:tags}:`;
  const tokens: string[] = [];
  const readers: string[] = [];
  let tokenKeys = 0;
  let readerKeys = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1_000);
    cursor = next;
    for (const key of keys) {
      const rest = key.slice(prefix.length);
      if (rest.startsWith('~readers:')) {
        readerKeys++;
        if (readers.length < SAMPLE) readers.push(key);
      } else if (!rest.startsWith('~')) {
        tokenKeys++;
        if (tokens.length < SAMPLE) tokens.push(key);
      }
    }
  } while (cursor !== '0');
  const size = async (count: number, sample: string[]): Promise<KeySize> => {
    // SAMPLES 0: every element of a reader log (bounded per tag), not an estimate from five.
    const bytes = await Promise.all(sample.map(async (key) => Number((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0)));
    const measured = bytes.filter((b) => b > 0); // a key gone between SCAN and MEMORY USAGE says nothing
    const mean = measured.length ? measured.reduce((a, b) => a + b, 0) / measured.length : 0;
    return { keys: count, bytes: Math.round(mean * count), sampled: measured.length };
  };
  return { tagTokens: await size(tokenKeys, tokens), readerLogs: await size(readerKeys, readers) };
}
