/**
 * `npm run bench:misses`: what a cache miss costs. The organisations API runs with CACHE_ENABLED=false and one
 * client sends one request at a time, so each figure is the route's own latency on the seeded database (100,000
 * organisations): lists (first page and a deep cursor page, with and without a filter), search (a common and a
 * rare 3-letter term, a longer common term, 1 and 2 letters), stats and detail. Target: p50 < 10 ms each.
 */
import { mintToken } from '@crm/http';
import { createOrm } from '@crm/database';
import { freePort, startNode, waitForHealth } from './children';
import { prepareDatabase } from './data';
import { DATABASE_URL, JWT_SECRET, serviceEnv, serviceServer } from './environment';
import { runBenchmark } from './run';
import { log, percentile, positiveNumber } from './util';

const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/3';
const REQUESTS = Math.round(positiveNumber('BENCH_REQUESTS', 100));
const WARMUP = 10;
const TARGET_P50_MS = 10;

/** The most and least common 3-letter substrings of organisation names (from the maintained counts). */
async function searchTerms(): Promise<{ common: string; rare: string; commonMatches: number; rareMatches: number }> {
  const orm = await createOrm({ databaseUrl: DATABASE_URL, poolMax: 1 });
  try {
    const pick = async (order: 'asc' | 'desc') => {
      const [row] = await orm.em.getConnection().execute<{ key: string; n: string }[]>(
        `select key, sum(n) as n from list_count where list = 'organisation_search' and key ~ '^s:[a-z]{3}$'
         group by key having sum(n) > 0 order by sum(n) ${order}, key limit 1`);
      return { term: row!.key.slice(2), matches: Number(row!.n) };
    };
    const [common, rare] = [await pick('desc'), await pick('asc')];
    return { common: common.term, rare: rare.term, commonMatches: common.matches, rareMatches: rare.matches };
  } finally {
    await orm.close(true);
  }
}

async function main(): Promise<void> {
  await prepareDatabase(DATABASE_URL, log);
  const terms = await searchTerms();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}/api/v1`;
  const api = startNode('uncached', serviceServer('organisations-api'), serviceEnv(REDIS_URL, { CACHE_ENABLED: 'false', ORGANISATIONS_API_PORT: String(port) }));
  await waitForHealth(api, `http://127.0.0.1:${port}`);
  const headers = { authorization: `Bearer ${mintToken(JWT_SECRET, 'reader', { sub: 'bench', expiresInSeconds: 3600 })}` };
  const get = async (path: string) => {
    const res = await fetch(`${base}${path}`, { headers });
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    if (res.headers.get('x-cache') !== 'BYPASS') throw new Error(`GET ${path}: X-Cache ${res.headers.get('x-cache')}, not an uncached read`);
    return (await res.json()) as { nextCursor?: string | null };
  };
  // A deep page by cursor: the cursor of the last page an offset may reach (10,000 rows in).
  const deepCursor = async (path: string) => (await get(`${path}${path.includes('?') ? '&' : '?'}limit=100&page=100`)).nextCursor!;
  const cases: [string, string | (() => Promise<string>)][] = [
    ['list, first page', '/organisations'],
    ['list, deep cursor page', async () => `/organisations?limit=100&cursor=${await deepCursor('/organisations')}`],
    ['list ?category=advisor, first page', '/organisations?category=advisor'],
    ['list ?category=advisor, deep cursor', async () => `/organisations?category=advisor&limit=100&cursor=${await deepCursor('/organisations?category=advisor')}`],
    ['list ?activeOnly=false&sort=-name', '/organisations?activeOnly=false&sort=-name'],
    [`search "${terms.common}" (${terms.commonMatches} matches)`, `/organisations/search?q=${terms.common}`],
    [`search "${terms.rare}" (${terms.rareMatches} matches)`, `/organisations/search?q=${terms.rare}`],
    ['search "capital" (7 letters, common)', '/organisations/search?q=capital'],
    ['search "c" (1 letter, prefix)', '/organisations/search?q=c'],
    ['search "ca" (2 letters, prefix)', '/organisations/search?q=ca'],
    ['stats', '/organisations/stats'],
    ['detail (1,000 ids)', '/organisations/{id}'],
  ];
  log(`bench:misses: organisations-api with CACHE_ENABLED=false, 1 connection, ${WARMUP} warm-up + ${REQUESTS} requests per route; Node ${process.version}`);
  const rows: { name: string; p50: number; p95: number }[] = [];
  for (const [name, target] of cases) {
    const path = typeof target === 'string' ? target : await target();
    const url = (i: number) => path.replace('{id}', String(1 + ((i * 7919) % 1000) * 100));
    for (let i = 0; i < WARMUP; i++) await get(url(i));
    const times: number[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      const started = performance.now();
      await get(url(i));
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    rows.push({ name, p50: percentile(times, 50), p95: percentile(times, 95) });
  }
  const width = Math.max(...rows.map((r) => r.name.length));
  log('');
  log(`${'route'.padEnd(width)}  ${'p50 ms'.padStart(7)}  ${'p95 ms'.padStart(7)}  target p50 < ${TARGET_P50_MS} ms`);
  for (const r of rows) {
    log(`${r.name.padEnd(width)}  ${r.p50.toFixed(2).padStart(7)}  ${r.p95.toFixed(2).padStart(7)}  ${r.p50 < TARGET_P50_MS ? 'PASS' : 'MISS'}`);
  }
}

runBenchmark('bench:misses', main);
