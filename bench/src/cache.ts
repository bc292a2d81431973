/**
 * `npm run bench:cache`: the organisations API with the response cache, without it (CACHE_ENABLED=false),
 * and (for the detail route) an in-memory ceiling built on the same HTTP stack, side by side under
 * autocannon. Prints a table and the target ratios, and writes docs/benchmarks/cache.json.
 *
 * The machine has few cores, so every server is a child process and this process only drives the load.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, relative } from 'node:path';
import type { Redis } from 'ioredis';
import { mintToken } from '@crm/http';
import { cpuSeconds, forkNode, freePort, startNode, waitForHealth } from './children';
import type { CeilingMessage } from './ceiling';
import { cacheCounters, clearCacheKeys, prepareDatabase, redisCpuSeconds, SIZES } from './data';
import { benchScript, DATABASE_URL, JWT_SECRET, NAMESPACE, OUT_DIR, ROOT, serviceEnv, serviceServer, TRACING } from './environment';
import { runLoad, type Measurement } from './load';
import { benchRedis } from './redis';
import { runBenchmark } from './run';
import { log, positiveNumber, sleep } from './util';

const API_SERVER = serviceServer('organisations-api');
const CEILING_SERVER = benchScript('ceiling.js');
const OUTPUT = join(OUT_DIR, 'cache.json');

// A Redis database of its own, so clearing the application's keys touches nobody else's cache.
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/3';
const DURATION = positiveNumber('BENCH_DURATION', 10);
const WARMUP = positiveNumber('BENCH_WARMUP', 3);
// More than one round measures each run again, interleaved, and keeps the median: this VM's speed drifts.
const ROUNDS = Math.round(positiveNumber('BENCH_ROUNDS', 1));
const WORKERS = Math.round(positiveNumber('BENCH_WORKERS', 2));
const CONNECTIONS = 64;
// Only these routes (comma-separated, e.g. `detail`): for quick A/B runs, which then write no results file.
const ONLY_ROUTES = process.env.BENCH_CACHE_ROUTES?.split(',').map((x) => x.trim());

const TARGETS = { speedup: 10, ceilingShare: 0.8, hitP99Ms: 10 } as const;

type Variant = 'cached' | 'uncached' | 'ceiling';
type RouteName = 'detail' | 'list' | 'search' | 'stats';

// 1,000 ids spread over the 100,000 seeded organisations.
const DETAIL_IDS = Array.from({ length: 1_000 }, (_, i) => (i + 1) * 100);
const ROUTES: Record<RouteName, string[]> = {
  detail: DETAIL_IDS.map((id) => `/api/v1/organisations/${id}`),
  list: ['', '&category=institution', '&category=wholesale', '&category=advisor', '&category=corporate', '&category=other']
    .map((filter) => `/api/v1/organisations?limit=20${filter}`),
  // Each term matches thousands of names (a suffix in the seeder's word lists).
  search: ['capital', 'gestion', 'partners'].map((q) => `/api/v1/organisations/search?q=${q}&limit=20`),
  stats: ['/api/v1/organisations/stats'],
};

interface Row extends Measurement {
  route: RouteName;
  variant: Variant;
  /** Cached runs: share of cache lookups that were hits during the measured run (from the cache's own counters). */
  hitRatio?: number;
  /** CPU time the server process used per request (µs): compares servers without the load generator's noise. */
  serverCpuUsPerRequest?: number;
  /** Cached runs: CPU time the Redis server used per request (µs). */
  redisCpuUsPerRequest?: number;
  /** With BENCH_ROUNDS > 1: req/s of every round (the row's figures are the median round's). */
  roundsRequestsPerSecond?: number[];
}


interface Fetched { status: number; xCache: string | null; body: Buffer }

async function get(baseUrl: string, path: string, token: string): Promise<Fetched> {
  const response = await fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, xCache: response.headers.get('x-cache'), body: Buffer.from(await response.arrayBuffer()) };
}

/** Runs `work` over `items`, `concurrency` at a time. */
async function eachLimited<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

/**
 * Fills the cache for every benchmarked path (first request a MISS, second a HIT with the same bytes)
 * and returns the detail bodies, which the ceiling then serves.
 */
async function warmCache(baseUrl: string, token: string): Promise<Map<number, Buffer>> {
  const bodies = new Map<number, Buffer>();
  const paths = Object.values(ROUTES).flat();
  await eachLimited(paths, 8, async (path) => {
    const first = await get(baseUrl, path, token);
    const second = await get(baseUrl, path, token);
    if (first.status !== 200 || second.status !== 200) throw new Error(`GET ${path}: ${first.status} then ${second.status}, expected 200`);
    if (second.xCache !== 'HIT') throw new Error(`GET ${path}: X-Cache ${second.xCache} on the second request, expected HIT`);
    if (!first.body.equals(second.body)) throw new Error(`GET ${path}: the HIT's body differs from the MISS's`);
    const id = /^\/api\/v1\/organisations\/(\d+)$/.exec(path)?.[1];
    if (id) bodies.set(Number(id), second.body);
  });
  return bodies;
}

/** A few requests before a measured run: the servers answer 200 with the expected X-Cache. */
async function checkSample(baseUrl: string, paths: string[], token: string, expected: string | null, bodies?: Map<number, Buffer>): Promise<void> {
  for (const path of paths.slice(0, 5)) {
    const { status, xCache, body } = await get(baseUrl, path, token);
    if (status !== 200) throw new Error(`${baseUrl}${path}: status ${status}, expected 200`);
    if (expected !== null && xCache !== expected) throw new Error(`${baseUrl}${path}: X-Cache ${xCache}, expected ${expected}`);
    const id = Number(path.split('/').pop());
    if (bodies && !bodies.get(id)?.equals(body)) throw new Error(`${baseUrl}${path}: not the bytes the cached API returned`);
  }
}

interface Server { url: string; pid: number | undefined }

async function measure(route: RouteName, variant: Variant, server: Server, token: string, redis: Redis, bodies: Map<number, Buffer>): Promise<Row> {
  const paths = ROUTES[route];
  const cached = variant === 'cached';
  const load = (durationSeconds: number) => runLoad({ baseUrl: server.url, paths, token, connections: CONNECTIONS, durationSeconds, workers: WORKERS });
  process.stderr.write(`${route.padEnd(6)} ${variant.padEnd(8)} warm-up ${WARMUP} s, measuring ${DURATION} s ...\n`);
  await load(WARMUP);
  await checkSample(server.url, paths, token, { cached: 'HIT', uncached: 'BYPASS', ceiling: null }[variant], variant === 'ceiling' ? bodies : undefined);
  // The API adds its hit/miss counts to Redis once a second: wait for a flush on each side of the run.
  if (cached) await sleep(1_200);
  const counters = cached ? await cacheCounters(redis, NAMESPACE) : undefined;
  const cpu = cpuSeconds(server.pid);
  const redisCpu = cached ? await redisCpuSeconds(redis) : 0;

  const measured = await load(DURATION);
  const perRequest = (seconds: number) => Math.round((seconds / Math.max(1, measured.requests)) * 1e7) / 10;
  const row: Row = { route, variant, ...measured };
  const cpuAfter = cpuSeconds(server.pid);
  if (cpu !== undefined && cpuAfter !== undefined) row.serverCpuUsPerRequest = perRequest(cpuAfter - cpu);
  if (!counters) return row;

  row.redisCpuUsPerRequest = perRequest((await redisCpuSeconds(redis)) - redisCpu);
  await sleep(1_200);
  const after = await cacheCounters(redis, NAMESPACE);
  const hits = after.hits - counters.hits;
  const lookups = hits + after.misses - counters.misses;
  return { ...row, hitRatio: lookups === 0 ? 0 : hits / lookups };
}

/** The round with the median req/s, all its figures together (percentiles of different runs do not average). */
function median(runs: Row[]): Row {
  const sorted = [...runs].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond);
  const middle = sorted[Math.floor((sorted.length - 1) / 2)]!;
  return runs.length > 1 ? { ...middle, roundsRequestsPerSecond: runs.map((r) => r.requestsPerSecond) } : middle;
}

function table(rows: Row[]): string {
  const rounds = ROUNDS > 1;
  const header = ['route', 'variant', 'req/s', ...(rounds ? ['rounds min-max'] : []), 'p50 ms', 'p99 ms', 'p99.9 ms', 'server CPU µs/req', 'errors', 'hits'];
  const lines = rows.map((r) => [
    r.route, r.variant, r.requestsPerSecond.toLocaleString('en'),
    ...(rounds ? [`${Math.min(...r.roundsRequestsPerSecond ?? []).toLocaleString('en')}-${Math.max(...r.roundsRequestsPerSecond ?? []).toLocaleString('en')}`] : []),
    String(r.p50Ms), String(r.p99Ms), String(r.p999Ms),
    `${r.serverCpuUsPerRequest ?? '?'}${r.redisCpuUsPerRequest === undefined ? '' : ` +${r.redisCpuUsPerRequest} redis`}`,
    r.non2xx + r.errors === 0 ? '0' : `${r.non2xx + r.errors} (${Object.entries(r.statusCodes).filter(([c]) => !c.startsWith('2')).map(([c, n]) => `${c}×${n}`).join(' ') || `${r.errors} conn`})`,
    r.hitRatio === undefined ? '' : `${(r.hitRatio * 100).toFixed(2)}%`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const format = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [format(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(format)].join('\n');
}

/** A target and how this run did; `pass: null` for figures shown to explain the others. */
interface Verdict { name: string; value: string; target: string; pass: boolean | null }

function verdicts(rows: Row[]): Verdict[] {
  const row = (route: RouteName, variant: Variant) => rows.find((r) => r.route === route && r.variant === variant);
  const out: Verdict[] = [];
  for (const route of ['list', 'search', 'stats'] as const) {
    const cached = row(route, 'cached');
    const uncached = row(route, 'uncached');
    if (!cached || !uncached) continue;
    const ratio = cached.requestsPerSecond / Math.max(1, uncached.requestsPerSecond);
    out.push({ name: `${route}: cached / uncached req/s`, value: `${ratio.toFixed(1)}x`, target: `>= ${TARGETS.speedup}x`, pass: ratio >= TARGETS.speedup });
  }
  const cachedDetail = row('detail', 'cached');
  const ceiling = row('detail', 'ceiling');
  if (cachedDetail && ceiling) {
    const share = cachedDetail.requestsPerSecond / Math.max(1, ceiling.requestsPerSecond);
    out.push({ name: 'detail: cached / in-memory ceiling req/s', value: `${(share * 100).toFixed(0)}%`, target: `>= ${TARGETS.ceilingShare * 100}%`, pass: share >= TARGETS.ceilingShare });
    // The same comparison by the server's own CPU per request, free of the load generator's share of the cores.
    const [hitCpu, ceilingCpu] = [cachedDetail.serverCpuUsPerRequest, ceiling.serverCpuUsPerRequest];
    if (hitCpu && ceilingCpu) {
      out.push({ name: 'detail: ceiling CPU/req / cached CPU/req', value: `${((ceilingCpu / hitCpu) * 100).toFixed(0)}%`, target: `${ceilingCpu} vs ${hitCpu} µs, Redis excluded`, pass: null });
    }
  }
  for (const r of rows.filter((x) => x.variant === 'cached')) {
    out.push({ name: `${r.route}: hit p99 at ${CONNECTIONS} connections`, value: `${r.p99Ms} ms`, target: `< ${TARGETS.hitP99Ms} ms`, pass: r.p99Ms < TARGETS.hitP99Ms });
  }
  return out;
}

async function main(): Promise<void> {
  log(`bench:cache: ${CONNECTIONS} connections (autocannon, ${WORKERS} worker thread(s)), ${WARMUP} s warm-up + ${DURATION} s per run` +
    `${ROUNDS > 1 ? `, median of ${ROUNDS} rounds` : ''}; tracing ${TRACING ? 'on' : 'off'}; ${cpus().length} CPUs, Node ${process.version}`);
  await prepareDatabase(DATABASE_URL, log);

  // The benchmark's own connection (clearing keys, reading counters): no reconnecting, a failure ends the run.
  const redis = benchRedis(REDIS_URL);
  try {
    await redis.connect();
    await run(redis);
  } finally {
    redis.disconnect();
  }
}

async function run(redis: Redis): Promise<void> {
  log(`redis: ${REDIS_URL}, removed ${await clearCacheKeys(redis, NAMESPACE)} key(s) left by an earlier run`);

  const [cachedPort, uncachedPort, ceilingPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const env = (port: number, cacheEnabled: boolean) => serviceEnv(REDIS_URL, { CACHE_ENABLED: String(cacheEnabled), ORGANISATIONS_API_PORT: String(port) });
  const base = { cached: `http://127.0.0.1:${cachedPort}`, uncached: `http://127.0.0.1:${uncachedPort}`, ceiling: `http://127.0.0.1:${ceilingPort}` };
  const cachedApi = startNode('cached', API_SERVER, env(cachedPort, true));
  const uncachedApi = startNode('uncached', API_SERVER, env(uncachedPort, false));
  await Promise.all([waitForHealth(cachedApi, base.cached), waitForHealth(uncachedApi, base.uncached)]);
  log(`servers: cached API ${base.cached}, uncached API ${base.uncached}`);

  const token = mintToken(JWT_SECRET, 'reader', { sub: 'bench', expiresInSeconds: 24 * 3600 });
  const bodies = await warmCache(base.cached, token);
  log(`cache: warmed ${Object.values(ROUTES).flat().length} paths (MISS then HIT, same bytes), ${bodies.size} detail bodies kept for the ceiling`);

  const ceiling = forkNode('ceiling', CEILING_SERVER, { ...env(ceilingPort, false), CEILING_PORT: String(ceilingPort) });
  const message: CeilingMessage = { bodies: Object.fromEntries([...bodies].map(([id, body]) => [id, body.toString('base64')])) };
  ceiling.send(message);
  await waitForHealth(ceiling, base.ceiling);
  log(`servers: in-memory ceiling ${base.ceiling}`);
  const servers: Record<Variant, Server> = {
    cached: { url: base.cached, pid: cachedApi.pid },
    uncached: { url: base.uncached, pid: uncachedApi.pid },
    ceiling: { url: base.ceiling, pid: ceiling.pid },
  };

  const plan: [RouteName, Variant[]][] = [
    ['detail', ['ceiling', 'cached', 'uncached']],
    ['list', ['cached', 'uncached']],
    ['search', ['cached', 'uncached']],
    ['stats', ['cached', 'uncached']],
  ].filter(([route]) => !ONLY_ROUTES || ONLY_ROUTES.includes(route as RouteName)) as [RouteName, Variant[]][];
  const measured: Row[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    if (ROUNDS > 1) process.stderr.write(`round ${round} of ${ROUNDS}\n`);
    for (const [route, variants] of plan) {
      for (const variant of variants) measured.push(await measure(route, variant, servers[variant], token, redis, bodies));
    }
  }
  const rows = plan.flatMap(([route, variants]) => variants.map((variant) => median(measured.filter((r) => r.route === route && r.variant === variant))));

  log('');
  log(table(rows));
  log('');
  const results = verdicts(rows);
  const nameWidth = Math.max(...results.map((v) => v.name.length));
  for (const v of results) {
    log(`${v.name.padEnd(nameWidth)}  ${v.value.padStart(7)}  ${v.pass === null ? `(${v.target})` : `(target ${v.target})  ${v.pass ? 'PASS' : 'MISS'}`}`);
  }

  const routes = Object.fromEntries(Object.entries(ROUTES).map(([k, v]) => [k, v.length > 6 ? [v[0], `... ${v.length} paths ...`, v.at(-1)] : v]));
  const report = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
    settings: { connections: CONNECTIONS, workers: WORKERS, warmupSeconds: WARMUP, durationSeconds: DURATION, rounds: ROUNDS, tracing: TRACING, data: SIZES, routes },
    results: rows,
    targets: results,
  };
  if (ONLY_ROUTES) {
    log('\nBENCH_CACHE_ROUTES is set: a partial run, no results file written');
    return;
  }
  mkdirSync(join(OUTPUT, '..'), { recursive: true });
  writeFileSync(OUTPUT, `${JSON.stringify(report, null, 2)}\n`);
  log('');
  log(`results written to ${relative(ROOT, OUTPUT)} (${OUTPUT})`);
}

runBenchmark('bench:cache', main);
