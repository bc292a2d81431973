/**
 * `npm run bench` (issue 6, first version): the whole stack (organisations-api, people-api, cache-worker as
 * child processes) on the issue's data set, driven by a realistic mix (Zipf ids, 90% reads, 10% writes),
 * once without the cache (CACHE_ENABLED=false) and once with it, a freshness checker running in every phase.
 * Writes docs/benchmarks/bench.json and bench.md and prints the table next to the seed guide's targets.
 *
 * Per-class figures come from a light per-request timer (autocannon's setupRequest/onResponse, in this
 * process), so autocannon runs without worker threads here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, relative, resolve } from 'node:path';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { createOrm } from '@crm/database';
import { mintToken } from '@crm/http';
import { freePort, killAllNow, startNode, stopAll, waitForHealth } from './children';
import { clearCacheKeys } from './data';
import { MIX_SIZES, prepareMixDatabase } from './mix-data';
import { log, positiveNumber, sleep } from './util';

const ROOT = resolve(__dirname, '..', '..');
const SERVER = (service: string) => join(ROOT, 'services', service, 'dist', 'server.js');
const OUT_DIR = join(ROOT, 'docs', 'benchmarks');
// Base name of the files written: bench.json, bench.md, bench.svg by default.
const OUT_NAME = process.env.BENCH_OUTPUT ?? 'bench';

const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/crm_bench';
// The cache Redis: by default our own redis-server on a spare port (so the outage phase can stop it and
// its memory is ours alone); BENCH_REDIS_URL uses an existing one instead (no outage phase then).
const OWN_REDIS_PORT = Math.round(positiveNumber('BENCH_CACHE_REDIS_PORT', 6430));
const OWN_REDIS = !process.env.BENCH_REDIS_URL;
const REDIS_URL = process.env.BENCH_REDIS_URL ?? `redis://127.0.0.1:${OWN_REDIS_PORT}/3`;
const QUEUE_REDIS_URL = process.env.BENCH_QUEUE_REDIS_URL ?? 'redis://127.0.0.1:6379/4';
const NAMESPACE = 'crm';
const DURATION = positiveNumber('BENCH_DURATION', 20);
const WARMUP = positiveNumber('BENCH_WARMUP', 5);
const ORG_CONNECTIONS = Math.round(positiveNumber('BENCH_ORG_CONNECTIONS', 40));
const PEOPLE_CONNECTIONS = Math.round(positiveNumber('BENCH_PEOPLE_CONNECTIONS', 24));
const TRACING = process.env.BENCH_TRACING !== 'off' && process.env.OTEL_SDK_DISABLED !== 'true';
const JWT_SECRET = `bench-${randomBytes(24).toString('hex')}`;
const ZIPF_S = 1.0;
const WRITE_PCT = positiveNumber('BENCH_WRITE_PCT', 10);
// The freshness checker's writer pause: each of its writes invalidates the `organisations` tag (every list, search and stats entry).
const FRESHNESS_WRITE_MS = positiveNumber('BENCH_FRESHNESS_WRITE_MS', 200);


// ---------------------------------------------------------------- Zipf ids

/** Samples ranks 1..n with P(k) ∝ 1/k^s, mapped to ids by a fixed permutation (so hot ids are spread out). */
function zipf(n: number, s: number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 1; k <= n; k++) { sum += 1 / k ** s; cdf[k - 1] = sum; }
  for (let i = 0; i < n; i++) cdf[i]! /= sum;
  return () => {
    const u = Math.random();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (cdf[mid]! < u) lo = mid + 1; else hi = mid; }
    // 7919 is prime and coprime with the table sizes: a bijection of 0..n-1.
    return ((lo * 7919) % n) + 1;
  };
}

// ---------------------------------------------------------------- the mix

type ClassName = 'org detail' | 'org list' | 'org search' | 'org stats' | 'person detail' | 'person interactions'
  | 'write org name' | 'write person title' | 'write interaction';
const READ_CLASSES: ClassName[] = ['org detail', 'org list', 'org search', 'org stats', 'person detail', 'person interactions'];
const CACHED_COMPARE: ClassName[] = ['org list', 'org search', 'org stats'];

interface Pick { cls: ClassName; method: 'GET' | 'PATCH' | 'POST'; path: string; body?: string }
type Picker = () => Pick;

const CATEGORIES = ['institution', 'wholesale', 'advisor', 'corporate', 'other'];
const TERMS = ['capital', 'gestion', 'partners', 'finance', 'invest'];
let writeCounter = 0;
/** Read weights below add up to 90 (organisations) and 90 (people): scaled so reads are 100 - WRITE_PCT. */
const R = (100 - WRITE_PCT) / 90;

function weighted(entries: [number, Picker][]): Picker {
  const total = entries.reduce((a, [w]) => a + w, 0);
  return () => {
    let u = Math.random() * total;
    for (const [w, p] of entries) { if ((u -= w) < 0) return p(); }
    return entries.at(-1)![1]();
  };
}

function organisationsMix(orgId: () => number): Picker {
  return weighted([
    // 90% reads (by default; BENCH_WRITE_PCT changes the split)
    [36 * R, () => ({ cls: 'org detail', method: 'GET', path: `/api/v1/organisations/${orgId()}` })],
    [24 * R, () => {
      const category = Math.random() < 0.7 ? CATEGORIES[Math.floor(Math.random() * CATEGORIES.length)] : undefined;
      const page = Math.random() < 0.8 ? 1 : 1 + Math.floor(Math.random() * 5);
      const active = Math.random() < 0.5 ? 'true' : 'false';
      return { cls: 'org list', method: 'GET', path: `/api/v1/organisations?limit=20&page=${page}&activeOnly=${active}${category ? `&category=${category}` : ''}` };
    }],
    [18 * R, () => ({ cls: 'org search', method: 'GET', path: `/api/v1/organisations/search?q=${TERMS[Math.floor(Math.random() * TERMS.length)]}&limit=20` })],
    [12 * R, () => ({ cls: 'org stats', method: 'GET', path: '/api/v1/organisations/stats' })],
    // 10% writes
    [WRITE_PCT, () => {
      const id = orgId();
      return { cls: 'write org name', method: 'PATCH', path: `/api/v1/organisations/${id}`, body: JSON.stringify({ name: `Organisation ${id} w${++writeCounter}` }) };
    }],
  ]);
}

function peopleMix(personId: () => number): Picker {
  return weighted([
    [50 * R, () => ({ cls: 'person detail', method: 'GET', path: `/api/v1/people/${personId()}` })],
    [40 * R, () => ({ cls: 'person interactions', method: 'GET', path: `/api/v1/people/${personId()}/interactions?limit=20` })],
    [WRITE_PCT / 2, () => ({ cls: 'write person title', method: 'PATCH', path: `/api/v1/people/${personId()}`, body: JSON.stringify({ title: `Title w${++writeCounter}` }) })],
    [WRITE_PCT / 2, () => ({
      cls: 'write interaction', method: 'POST', path: '/api/v1/interactions',
      body: JSON.stringify({ personId: personId(), type: 'note', subject: `bench w${++writeCounter}`, occurredAt: new Date().toISOString() }),
    })],
  ]);
}

// ---------------------------------------------------------------- per-class recording

interface Recorder {
  on: boolean;
  latencies: Map<ClassName, number[]>;
  statuses: Map<ClassName, Record<string, number>>;
  xcache: Record<string, number>;
  xcacheByClass: Map<ClassName, Record<string, number>>;
  /** Requests started inside [from, to) (performance.now()): the outage window. */
  window?: { from: number; to: number; latencies: number[]; non2xx: number };
}
const newRecorder = (): Recorder => ({ on: false, latencies: new Map(), statuses: new Map(), xcache: {}, xcacheByClass: new Map() });

interface Ctx { cls?: ClassName; start?: number }

function runMix(url: string, connections: number, seconds: number, picker: Picker, reader: string, editor: string, rec: Recorder): Promise<autocannon.Result> {
  return new Promise((resolvePromise, reject) => {
    const instance = autocannon({
      url,
      connections,
      duration: seconds,
      timeout: 10,
      requests: [{
        setupRequest: (req: autocannon.Request, context: Ctx) => {
          const pick = picker();
          context.cls = pick.cls;
          context.start = performance.now();
          const write = pick.method !== 'GET';
          return {
            ...req,
            method: pick.method,
            path: pick.path,
            headers: { authorization: `Bearer ${write ? editor : reader}`, ...(write ? { 'content-type': 'application/json' } : {}) },
            ...(pick.body ? { body: pick.body } : {}),
          } as autocannon.Request;
        },
        onResponse: (status: number, _body: string, context: Ctx, headers: Record<string, string>) => {
          if (!rec.on || !context.cls || context.start === undefined) return;
          const cls = context.cls;
          let list = rec.latencies.get(cls);
          if (!list) rec.latencies.set(cls, (list = []));
          const took = performance.now() - context.start;
          list.push(took);
          const w = rec.window;
          if (w && context.start >= w.from && context.start < w.to) { w.latencies.push(took); if (status < 200 || status > 299) w.non2xx++; }
          const statuses = rec.statuses.get(cls) ?? {};
          statuses[status] = (statuses[status] ?? 0) + 1;
          rec.statuses.set(cls, statuses);
          if (READ_CLASSES.includes(cls)) {
            const x = headers['x-cache'] ?? headers['X-Cache'] ?? Object.entries(headers).find(([k]) => k.toLowerCase() === 'x-cache')?.[1] ?? 'none';
            rec.xcache[x] = (rec.xcache[x] ?? 0) + 1;
            const byClass = rec.xcacheByClass.get(cls) ?? {};
            byClass[x] = (byClass[x] ?? 0) + 1;
            rec.xcacheByClass.set(cls, byClass);
          }
        },
      } as unknown as autocannon.Request],
    }, (error: unknown, result) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolvePromise(result)));
    running.add(instance);
    instance.once('done', () => running.delete(instance));
  });
}
const running = new Set<autocannon.Instance>();

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

// ---------------------------------------------------------------- freshness checker

interface Freshness { writes: number; reads: number; stale: number; errors: number; examples: string[] }

async function api(url: string, token: string, method = 'GET', body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
}

/** Mirrors services/cache-worker/test/freshness.test.ts: names carry a version; a read started after an acknowledged write must not see an older one. */
async function startFreshness(orgUrl: string, peopleUrl: string, reader: string, editor: string): Promise<{ stop: () => Promise<Freshness> }> {
  const tag = `fresh${Date.now().toString(36)}`;
  const orgs: { id: number; person: number; index: number }[] = [];
  for (let i = 0; i < 4; i++) {
    const org = await api(`${orgUrl}/api/v1/organisations`, editor, 'POST', { name: `${tag}-${i}-v0`, category: 'corporate' });
    if (org.status !== 201) throw new Error(`freshness: creating an organisation gave ${org.status}: ${JSON.stringify(org.json)}`);
    const person = await api(`${peopleUrl}/api/v1/people`, editor, 'POST', { firstName: 'Fresh', lastName: `${i}`, email: `${tag}-${i}@example.com`, organisationId: org.json.id });
    if (person.status !== 201) throw new Error(`freshness: creating a person gave ${person.status}: ${JSON.stringify(person.json)}`);
    orgs.push({ id: org.json.id, person: person.json.id, index: i });
  }
  const acked = new Map<number, [number, number][]>(orgs.map((o) => [o.id, [[0, 0]]]));
  const requiredAt = (id: number, start: number) => { let v = 0; for (const [at, version] of acked.get(id)!) if (at <= start) v = version; return v; };
  const versionOf = (name: string) => Number(/-v(\d+)$/.exec(name)?.[1] ?? -1);
  const result: Freshness = { writes: 0, reads: 0, stale: 0, errors: 0, examples: [] };
  let stopping = false;
  const pick = <T>(items: T[]) => items[Math.floor(Math.random() * items.length)]!;

  const writer = async () => {
    const next = new Map(orgs.map((o) => [o.id, 0]));
    while (!stopping) {
      const o = pick(orgs);
      const version = next.get(o.id)! + 1;
      next.set(o.id, version);
      try {
        const res = await api(`${orgUrl}/api/v1/organisations/${o.id}`, editor, 'PATCH', { name: `${tag}-${o.index}-v${version}` });
        if (res.status === 200) { acked.get(o.id)!.push([performance.now(), version]); result.writes++; } else result.errors++;
      } catch { result.errors++; }
      await sleep(FRESHNESS_WRITE_MS);
    }
  };
  const readerLoop = async () => {
    while (!stopping) {
      const o = pick(orgs);
      const person = Math.random() < 0.5;
      const start = performance.now();
      try {
        const res = person ? await api(`${peopleUrl}/api/v1/people/${o.person}`, reader) : await api(`${orgUrl}/api/v1/organisations/${o.id}`, reader);
        if (res.status !== 200) { result.errors++; continue; }
        result.reads++;
        const name: string = person ? res.json.organisation?.name : res.json.name;
        const required = requiredAt(o.id, start);
        if (versionOf(name) < required) {
          result.stale++;
          if (result.examples.length < 5) result.examples.push(`${person ? "person's organisation" : 'organisation detail'} ${o.id}: read ${name}, v${required} acknowledged before the read`);
        }
      } catch { result.errors++; }
      await sleep(10);
    }
  };
  const loops = [writer(), readerLoop(), readerLoop()];
  return { stop: async () => { stopping = true; await Promise.all(loops); return result; } };
}

// ---------------------------------------------------------------- server-side counters

type Pg = Awaited<ReturnType<typeof createOrm>>;

async function dbTransactions(pg: Pg): Promise<{ xacts: number; tupReturned: number }> {
  const connection = pg.em.getConnection();
  await connection.execute('select pg_stat_clear_snapshot()');
  const rows = await connection.execute<{ x: string; t: string }[]>('select (xact_commit + xact_rollback)::text as x, tup_returned::text as t from pg_stat_database where datname = current_database()');
  return { xacts: Number(rows[0]?.x ?? 0), tupReturned: Number(rows[0]?.t ?? 0) };
}

/** p50/p99 of a Prometheus histogram from its cumulative buckets (upper bound of the bucket holding the quantile). */
async function lagQuantiles(workerUrl: string): Promise<{ count: number; p50Ms: number | null; p99Ms: number | null }> {
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

async function redisMemory(redis: Redis): Promise<{ usedMemoryBytes: number; keysDb: number }> {
  const info = await redis.info('memory');
  return { usedMemoryBytes: Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? 0), keysDb: await redis.dbsize() };
}

// ---------------------------------------------------------------- a phase

interface ClassFigures { requests: number; rps: number; p50Ms: number; p95Ms: number; p99Ms: number; non2xx: number; hitRate?: number }
interface PhaseResult {
  phase: string;
  cacheEnabled: boolean;
  durationSeconds: number;
  rps: number;
  requests: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  overall: { p50Ms: number; p95Ms: number; p99Ms: number };
  classes: Record<string, ClassFigures>;
  xCache: Record<string, number>;
  hitRate: number | null;
  dbTransactionsPerSecond: number;
  dbTuplesReturnedPerSecond: number;
  invalidationLag: { count: number; p50Ms: number | null; p99Ms: number | null };
  freshness: Freshness;
  redis: { usedMemoryBytes: number; keysDb: number };
  outage?: { seconds: number; requests: number; non2xx: number; p50Ms: number; p99Ms: number; maxMs: number };
}

async function runPhase(phase: string, cacheEnabled: boolean, redis: Redis, pg: Pg, orgId: () => number, personId: () => number, outage?: ChildProcess): Promise<PhaseResult> {
  log(`\n== phase ${phase} (CACHE_ENABLED=${cacheEnabled}): warm-up ${WARMUP} s, measuring ${DURATION} s${outage ? `, cache Redis stopped (SIGSTOP) from ${(DURATION / 3).toFixed(0)} s to ${((2 * DURATION) / 3).toFixed(0)} s` : ''}`);
  await clearCacheKeys(redis, NAMESPACE);
  const [orgPort, peoplePort, workerPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const orgUrl = `http://127.0.0.1:${orgPort}`;
  const peopleUrl = `http://127.0.0.1:${peoplePort}`;
  const workerUrl = `http://127.0.0.1:${workerPort}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'production',
    DATABASE_URL, REDIS_URL, QUEUE_REDIS_URL,
    CACHE_NAMESPACE: NAMESPACE,
    CACHE_ENABLED: String(cacheEnabled),
    ORGANISATIONS_API_PORT: String(orgPort),
    PEOPLE_API_PORT: String(peoplePort),
    CACHE_WORKER_PORT: String(workerPort),
    ORGANISATIONS_API_URL: orgUrl,
    PEOPLE_API_URL: peopleUrl,
    LOG_LEVEL: 'warn',
    RATE_LIMIT_PER_MINUTE: '0',
    JWT_SECRET,
    ...(TRACING ? {} : { OTEL_SDK_DISABLED: 'true' }),
  };
  const children = [
    startNode(`${phase}:organisations`, SERVER('organisations-api'), env),
    startNode(`${phase}:people`, SERVER('people-api'), env),
  ];
  try {
    await Promise.all([waitForHealth(children[0]!, orgUrl), waitForHealth(children[1]!, peopleUrl)]);
    // The worker after the APIs: its start-up warm-up GETs them.
    children.push(startNode(`${phase}:worker`, SERVER('cache-worker'), env));
    await waitForHealth(children[2]!, workerUrl);
    const reader = mintToken(JWT_SECRET, 'reader', { sub: 'bench', expiresInSeconds: 3600 });
    const editor = mintToken(JWT_SECRET, 'editor', { sub: 'bench', expiresInSeconds: 3600 });
    const orgPicker = organisationsMix(orgId);
    const peoplePicker = peopleMix(personId);

    const freshness = await startFreshness(orgUrl, peopleUrl, reader, editor);
    let freshnessResult: Freshness | undefined;
    try {
      const warm = newRecorder();
      await Promise.all([
        runMix(orgUrl, ORG_CONNECTIONS, WARMUP, orgPicker, reader, editor, warm),
        runMix(peopleUrl, PEOPLE_CONNECTIONS, WARMUP, peoplePicker, reader, editor, warm),
      ]);
      const rec = newRecorder();
      rec.on = true;
      const db0 = await dbTransactions(pg);
      const t0 = performance.now();
      const timers: NodeJS.Timeout[] = [];
      if (outage) {
        rec.window = { from: t0 + (DURATION * 1000) / 3, to: t0 + (2 * DURATION * 1000) / 3, latencies: [], non2xx: 0 };
        timers.push(setTimeout(() => outage.kill('SIGSTOP'), (DURATION * 1000) / 3));
        timers.push(setTimeout(() => outage.kill('SIGCONT'), (2 * DURATION * 1000) / 3));
      }
      const [a, b] = await Promise.all([
        runMix(orgUrl, ORG_CONNECTIONS, DURATION, orgPicker, reader, editor, rec),
        runMix(peopleUrl, PEOPLE_CONNECTIONS, DURATION, peoplePicker, reader, editor, rec),
      ]);
      rec.on = false;
      for (const t of timers) clearTimeout(t);
      if (outage) outage.kill('SIGCONT');
      const elapsed = (performance.now() - t0) / 1000;
      // Backends report their counters to pg_stat at most once a second: let the last report land.
      await sleep(1_500);
      const db1 = await dbTransactions(pg);
      freshnessResult = await freshness.stop();
      await sleep(500);
      const lag = await lagQuantiles(workerUrl);
      const mem = await redisMemory(redis);

      const all: number[] = [];
      const classes: Record<string, ClassFigures> = {};
      for (const [cls, list] of rec.latencies) {
        list.sort((x, y) => x - y);
        all.push(...list);
        const statuses = rec.statuses.get(cls) ?? {};
        classes[cls] = {
          requests: list.length,
          rps: Math.round(list.length / elapsed),
          p50Ms: round(percentile(list, 50)), p95Ms: round(percentile(list, 95)), p99Ms: round(percentile(list, 99)),
          non2xx: Object.entries(statuses).filter(([s]) => !s.startsWith('2')).reduce((n, [, c]) => n + c, 0),
        };
        const x = rec.xcacheByClass.get(cls);
        const looked = x ? (x.HIT ?? 0) + (x.MISS ?? 0) + (x.STALE ?? 0) : 0;
        if (cacheEnabled && looked > 0) classes[cls]!.hitRate = round((1000 * (x!.HIT ?? 0)) / looked) / 1000;
      }
      all.sort((x, y) => x - y);
      const hits = rec.xcache.HIT ?? 0;
      const lookups = hits + (rec.xcache.MISS ?? 0) + (rec.xcache.STALE ?? 0);
      return {
        phase, cacheEnabled, durationSeconds: round(elapsed),
        rps: Math.round(all.length / elapsed), requests: all.length,
        errors: a.errors + b.errors, timeouts: a.timeouts + b.timeouts, non2xx: a.non2xx + b.non2xx,
        overall: { p50Ms: round(percentile(all, 50)), p95Ms: round(percentile(all, 95)), p99Ms: round(percentile(all, 99)) },
        classes,
        xCache: rec.xcache,
        hitRate: cacheEnabled && lookups > 0 ? hits / lookups : null,
        dbTransactionsPerSecond: Math.round((db1.xacts - db0.xacts) / elapsed),
        dbTuplesReturnedPerSecond: Math.round((db1.tupReturned - db0.tupReturned) / elapsed),
        invalidationLag: lag,
        freshness: freshnessResult,
        redis: mem,
        ...(rec.window ? { outage: (() => {
          const w = rec.window!;
          w.latencies.sort((x, y) => x - y);
          return { seconds: round((w.to - w.from) / 1000), requests: w.latencies.length, non2xx: w.non2xx, p50Ms: round(percentile(w.latencies, 50)), p99Ms: round(percentile(w.latencies, 99)), maxMs: round(w.latencies.at(-1) ?? 0) };
        })() } : {}),
      };
    } finally {
      if (!freshnessResult) await freshness.stop().catch(() => undefined);
    }
  } finally {
    await stopAll();
  }
}

const round = (x: number) => Math.round(x * 10) / 10;

// ---------------------------------------------------------------- report

interface Verdict { name: string; value: string; target: string; ratio: string; pass: boolean }

function verdicts(phases: PhaseResult[]): Verdict[] {
  const none = phases.find((p) => !p.cacheEnabled);
  const ours = phases.find((p) => p.cacheEnabled);
  const out: Verdict[] = [];
  if (ours?.hitRate !== null && ours?.hitRate !== undefined) {
    out.push({ name: 'hit rate on the mix (our cache)', value: pct(ours.hitRate), target: '>= 95%', ratio: `${(ours.hitRate / 0.95).toFixed(2)}x of target`, pass: ours.hitRate >= 0.95 });
  }
  if (none && ours) {
    const share = ours.dbTransactionsPerSecond / Math.max(1, none.dbTransactionsPerSecond);
    out.push({ name: 'DB transactions/s, ours / no cache', value: pct(share), target: '<= 5%', ratio: `${ours.dbTransactionsPerSecond} vs ${none.dbTransactionsPerSecond}/s`, pass: share <= 0.05 });
    const perReqNone = none.dbTransactionsPerSecond / Math.max(1, none.rps);
    const perReqOurs = ours.dbTransactionsPerSecond / Math.max(1, ours.rps);
    out.push({ name: 'DB transactions per request, ours / no cache', value: pct(perReqOurs / Math.max(1e-9, perReqNone)), target: '<= 5%', ratio: `${perReqOurs.toFixed(3)} vs ${perReqNone.toFixed(3)}`, pass: perReqOurs / Math.max(1e-9, perReqNone) <= 0.05 });
    for (const cls of CACHED_COMPARE) {
      const a = ours.classes[cls]?.rps ?? 0;
      const b = none.classes[cls]?.rps ?? 0;
      const ratio = a / Math.max(1, b);
      out.push({ name: `${cls}: req/s ours / no cache`, value: `${ratio.toFixed(1)}x`, target: '>= 10x', ratio: `${a} vs ${b} req/s`, pass: ratio >= 10 });
    }
  }
  for (const p of phases.filter((x) => x.outage)) {
    const errs = p.outage!.non2xx + p.errors + p.timeouts;
    out.push({ name: `errors while the cache Redis was stopped (${p.phase})`, value: String(errs), target: '0', ratio: `${p.outage!.requests} requests started in the ${p.outage!.seconds} s window, p99 ${p.outage!.p99Ms} ms, max ${p.outage!.maxMs} ms`, pass: errs === 0 });
  }
  for (const p of phases) {
    out.push({ name: `stale reads (${p.phase})`, value: String(p.freshness.stale), target: '0', ratio: `of ${p.freshness.reads} checked reads, ${p.freshness.writes} writes`, pass: p.freshness.stale === 0 });
  }
  return out;
}
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

function markdown(phases: PhaseResult[], results: Verdict[], sizes: Record<string, number>): string {
  const lines: string[] = [];
  lines.push(`# npm run bench: latest run`, '', `${new Date().toISOString()} · ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}) · Node ${process.version} · tracing ${TRACING ? 'on' : 'off'}`);
  lines.push(`Data: ${Object.entries(sizes).map(([k, v]) => `${v.toLocaleString('en')} ${k}`).join(', ')}. Mix: ${ORG_CONNECTIONS} connections on organisations-api, ${PEOPLE_CONNECTIONS} on people-api (closed loop), ${WARMUP} s warm-up + ${DURATION} s measured per phase, Zipf ids (s = ${ZIPF_S}), ${100 - WRITE_PCT}% reads / ${WRITE_PCT}% writes.`, '');
  lines.push('## Per phase', '');
  lines.push('| phase | req/s | p50 / p95 / p99 ms | errors (conn / timeouts / non-2xx) | hit rate | DB xacts/s | DB tuples returned/s | inval. lag p50 / p99 ms (n) | stale reads / checked | Redis used_memory (keys in db) |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const p of phases) {
    lines.push(`| ${p.phase} | ${p.rps.toLocaleString('en')} | ${p.overall.p50Ms} / ${p.overall.p95Ms} / ${p.overall.p99Ms} | ${p.errors} / ${p.timeouts} / ${p.non2xx} | ${p.hitRate === null ? '-' : pct(p.hitRate)} | ${p.dbTransactionsPerSecond.toLocaleString('en')} | ${p.dbTuplesReturnedPerSecond.toLocaleString('en')} | ${p.invalidationLag.p50Ms ?? '-'} / ${p.invalidationLag.p99Ms ?? '-'} (${p.invalidationLag.count}) | ${p.freshness.stale} / ${p.freshness.reads} | ${(p.redis.usedMemoryBytes / 1048576).toFixed(1)} MiB (${p.redis.keysDb}) |`);
  }
  lines.push('', '## Per route class', '');
  lines.push(`| class | ${phases.map((p) => `${p.phase} req/s | ${p.phase} p50 / p95 / p99 ms (hit rate)`).join(' | ')} |`);
  lines.push(`|---|${phases.map(() => '---|---|').join('')}`);
  const classNames = [...new Set(phases.flatMap((p) => Object.keys(p.classes)))];
  for (const cls of classNames) {
    lines.push(`| ${cls} | ${phases.map((p) => { const c = p.classes[cls]; return c ? `${c.rps.toLocaleString('en')}${c.non2xx ? ` (${c.non2xx} non-2xx)` : ''} | ${c.p50Ms} / ${c.p95Ms} / ${c.p99Ms}${c.hitRate === undefined ? '' : ` · hits ${pct(c.hitRate)}`}` : '- | -'; }).join(' | ')} |`);
  }
  lines.push('', '## Against the seed guide\'s targets', '', '| figure | value | target | detail | |', '|---|---|---|---|---|');
  for (const v of results) lines.push(`| ${v.name} | ${v.value} | ${v.target} | ${v.ratio} | ${v.pass ? 'PASS' : 'MISS'} |`);
  lines.push('', 'Notes: DB load is PostgreSQL\'s `pg_stat_database` (xact_commit + xact_rollback; every autocommit statement is a transaction) for the bench database over the measured window, including the freshness checker and the worker\'s relay; per-class req/s in a closed-loop mix follows the mix weights, so the per-class ratio is close to the overall throughput ratio. Hit rate counts X-Cache on the mix\'s reads (HIT / (HIT + MISS + STALE)). Redis used_memory is the cache Redis server\'s (our own redis-server unless BENCH_REDIS_URL is set). The outage phase stops the cache Redis with SIGSTOP (a hung Redis) for the middle third of its measured window.');
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------- chart

/** Two bar charts side by side, written by hand (no dependency): throughput and p99 per phase. */
function chart(phases: PhaseResult[]): string {
  const width = 720;
  const height = 320;
  const panel = (x0: number, title: string, values: number[], unit: string, colour: string): string => {
    const w = width / 2 - 60;
    const h = height - 110;
    const max = Math.max(1, ...values);
    const bw = w / Math.max(1, values.length) - 16;
    const bars = values.map((v, i) => {
      const bh = (v / max) * h;
      const x = x0 + 8 + i * (bw + 16);
      const y = 50 + h - bh;
      return `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${bw.toFixed(1)}" height="${bh.toFixed(1)}" fill="${colour}"/>` +
        `<text x="${(x + bw / 2).toFixed(1)}" y="${(y - 4).toFixed(1)}" text-anchor="middle" font-size="11">${v.toLocaleString('en')}${unit}</text>` +
        `<text x="${(x + bw / 2).toFixed(1)}" y="${(50 + h + 16).toFixed(1)}" text-anchor="middle" font-size="11">${escapeXml(phases[i]!.phase)}</text>`;
    }).join('');
    return `<text x="${x0 + w / 2}" y="24" text-anchor="middle" font-size="14" font-weight="bold">${title}</text>` +
      `<line x1="${x0}" y1="${50 + h}" x2="${x0 + w}" y2="${50 + h}" stroke="#333"/>${bars}`;
  };
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">` +
    `<rect width="100%" height="100%" fill="white"/>` +
    panel(30, 'Throughput (req/s, whole mix)', phases.map((p) => p.rps), '', '#3b7dd8') +
    panel(width / 2 + 30, 'p99 latency (ms, whole mix)', phases.map((p) => Math.round(p.overall.p99Ms)), ' ms', '#d8663b') +
    `<text x="${width / 2}" y="${height - 12}" text-anchor="middle" font-size="11" fill="#555">npm run bench · ${new Date().toISOString().slice(0, 16)}Z · ${WRITE_PCT}% writes · ${DURATION} s per phase</text></svg>\n`;
}
const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

// ---------------------------------------------------------------- our own cache Redis

let ownRedisProcess: ChildProcess | undefined;

/** redis-server on a spare port, no persistence, LRU like the compose file's cache Redis. */
async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--maxmemory', '512mb', '--maxmemory-policy', 'allkeys-lru'], { stdio: ['ignore', 'ignore', 'pipe'] });
  ownRedisProcess = child;
  child.stderr?.on('data', (d: Buffer) => process.stderr.write(`[redis:${port}] ${d.toString()}`));
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited (${child.exitCode}): is the port taken?`);
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try { await probe.connect(); await probe.ping(); probe.disconnect(); log(`redis: own cache Redis on port ${port} (pid ${child.pid})`); return child; } catch { probe.disconnect(); }
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server on port ${port} did not answer within 5 s`);
}

async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGCONT');
  await new Promise<void>((r) => { const t = setTimeout(() => { child.kill('SIGKILL'); r(); }, 3_000); child.once('exit', () => { clearTimeout(t); r(); }); child.kill('SIGTERM'); });
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const started = Date.now();
  log(`bench: ${cpus().length} CPUs, Node ${process.version}; ${WARMUP} s + ${DURATION} s per phase; tracing ${TRACING ? 'on' : 'off'}`);
  const sizes = await prepareMixDatabase(DATABASE_URL, log);
  const orgId = zipf(MIX_SIZES.organisations, ZIPF_S);
  const personId = zipf(MIX_SIZES.people, ZIPF_S);

  const ownRedis = OWN_REDIS ? await startRedis(OWN_REDIS_PORT) : undefined;
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => undefined);
  const pg = await createOrm({ databaseUrl: DATABASE_URL, poolMax: 1 });
  await redis.connect();
  const phases: PhaseResult[] = [];
  try {
    const only = process.env.BENCH_PHASES?.split(',');
    const plan: [string, boolean, ChildProcess | undefined][] = [['no-cache', false, undefined], ['ours', true, undefined]];
    if (ownRedis) plan.push(['ours, Redis outage', true, ownRedis]);
    for (const [name, enabled, outage] of plan) {
      if (only && !only.some((o) => name.startsWith(o) && (o !== 'ours' || name === 'ours'))) continue;
      phases.push(await runPhase(name, enabled, redis, pg, orgId, personId, outage));
      const p = phases.at(-1)!;
      log(`   ${p.rps} req/s, p99 ${p.overall.p99Ms} ms, hit rate ${p.hitRate === null ? '-' : pct(p.hitRate)}, DB ${p.dbTransactionsPerSecond} xacts/s, stale ${p.freshness.stale}/${p.freshness.reads}`);
    }
  } finally {
    redis.disconnect();
    await pg.close(true);
    if (ownRedis) await stopRedis(ownRedis);
  }
  const results = verdicts(phases);
  const md = markdown(phases, results, sizes);
  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(join(OUT_DIR, `${OUT_NAME}.svg`), chart(phases));
  writeFileSync(join(OUT_DIR, `${OUT_NAME}.json`), `${JSON.stringify({
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
    settings: { writePercent: WRITE_PCT, freshnessWritePauseMs: FRESHNESS_WRITE_MS, warmupSeconds: WARMUP, durationSeconds: DURATION, orgConnections: ORG_CONNECTIONS, peopleConnections: PEOPLE_CONNECTIONS, zipfS: ZIPF_S, tracing: TRACING, data: sizes },
    phases, targets: results,
  }, null, 2)}\n`);
  writeFileSync(join(OUT_DIR, `${OUT_NAME}.md`), md);
  log('');
  log(md);
  log(`written: ${['json', 'md', 'svg'].map((e) => relative(ROOT, join(OUT_DIR, `${OUT_NAME}.${e}`))).join(', ')}; total ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

process.once('exit', () => { killAllNow(); ownRedisProcess?.kill('SIGKILL'); });
process.once('SIGINT', () => {
  process.stderr.write('\ninterrupted: stopping the servers\n');
  for (const instance of running) instance.stop();
  void stopAll().finally(() => { ownRedisProcess?.kill('SIGKILL'); process.exit(130); });
});

main()
  .then(() => stopAll())
  .catch(async (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    for (const instance of running) instance.stop();
    await stopAll();
    process.exitCode = 1;
  });
