/**
 * `npm run bench` (issue 6): the whole stack (organisations-api, people-api, cache-worker as child processes)
 * on the issue's data set, driven by a realistic mix (Zipf ids, 90% reads, 10% writes), in phases: no cache
 * (CACHE_ENABLED=false), our cache, the same routes cached by apicache and by bentocache, our cache while its
 * Redis hangs and while it is killed, and 10,000 keep-alive connections. A freshness checker runs in every
 * phase. Writes docs/benchmarks/bench.{json,md,svg} and prints the figures next to the seed guide's targets.
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
import { freePort, killAllNow, peakRssMiB, startNode, stopAll, waitForHealth } from './children';
import { holdConnections } from './connections';
import { clearCacheKeys } from './data';
import { MIX_SIZES, prepareMixDatabase } from './mix-data';
import { chart, markdown, SWEEP_CLASSES, verdicts, type CacheKind, type ClassFigures, type Freshness, type Latency, type PhaseResult, type SweepFigures } from './mix-report';
import { PEERS } from './peers';
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
const DURATION = positiveNumber('BENCH_DURATION', 30);
const WARMUP = positiveNumber('BENCH_WARMUP', 15);
// The read-only sweep of list, search and stats URLs after each mix: seconds per class.
const SWEEP_SECONDS = positiveNumber('BENCH_SWEEP', 4);
const CONNECTION_USERS = Math.round(positiveNumber('BENCH_CONNECTIONS', 10_000));
const ORG_CONNECTIONS = Math.round(positiveNumber('BENCH_ORG_CONNECTIONS', 40));
const PEOPLE_CONNECTIONS = Math.round(positiveNumber('BENCH_PEOPLE_CONNECTIONS', 24));
const TRACING = process.env.BENCH_TRACING !== 'off' && process.env.OTEL_SDK_DISABLED !== 'true';
const JWT_SECRET = `bench-${randomBytes(24).toString('hex')}`;
const WARMUP_TOKEN = `warmup-${randomBytes(24).toString('hex')}`;
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
  /** Latencies of the reads the cache answered (X-Cache: HIT). */
  hitLatencies: Map<ClassName, number[]>;
  statuses: Map<ClassName, Record<string, number>>;
  xcache: Record<string, number>;
  xcacheByClass: Map<ClassName, Record<string, number>>;
  /** URLs read so far in the phase (warm-up included), and how many measured reads repeated one. */
  seen: Set<string>;
  reads: number;
  repeats: number;
  /** Requests started inside [from, to) (performance.now()): the outage window. */
  window?: { from: number; to: number; latencies: number[]; non2xx: number; errors: number };
}
const newRecorder = (seen: Set<string>): Recorder => ({ on: false, latencies: new Map(), hitLatencies: new Map(), statuses: new Map(), xcache: {}, xcacheByClass: new Map(), seen, reads: 0, repeats: 0 });

interface Ctx { cls?: ClassName; start?: number; path?: string }

const push = <K, V>(map: Map<K, V[]>, key: K, value: V) => { const list = map.get(key); if (list) list.push(value); else map.set(key, [value]); };
const headerOf = (headers: Record<string, string>, name: string) => headers[name] ?? Object.entries(headers).find(([k]) => k.toLowerCase() === name)?.[1];

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
          context.path = pick.path;
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
          if (!context.cls || context.start === undefined) return;
          const cls = context.cls;
          const read = READ_CLASSES.includes(cls);
          const repeated = read && rec.seen.has(context.path!);
          if (read) rec.seen.add(context.path!);
          if (!rec.on) return;
          const took = performance.now() - context.start;
          push(rec.latencies, cls, took);
          const w = rec.window;
          if (w && context.start >= w.from && context.start < w.to) { w.latencies.push(took); if (status < 200 || status > 299) w.non2xx++; }
          const statuses = rec.statuses.get(cls) ?? {};
          statuses[status] = (statuses[status] ?? 0) + 1;
          rec.statuses.set(cls, statuses);
          if (read) {
            rec.reads++;
            if (repeated) rec.repeats++;
            const x = headerOf(headers, 'x-cache') ?? 'none';
            rec.xcache[x] = (rec.xcache[x] ?? 0) + 1;
            const byClass = rec.xcacheByClass.get(cls) ?? {};
            byClass[x] = (byClass[x] ?? 0) + 1;
            rec.xcacheByClass.set(cls, byClass);
            if (x === 'HIT') push(rec.hitLatencies, cls, took);
          }
        },
      } as unknown as autocannon.Request],
    }, (error: unknown, result) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolvePromise(result)));
    // A request that failed (connection error or timeout) inside the outage window counts as an error of the window.
    instance.on('reqError', () => { const w = rec.window; const now = performance.now(); if (rec.on && w && now >= w.from && now < w.to + 10_000) w.errors++; });
    running.add(instance);
    instance.once('done', () => running.delete(instance));
  });
}
const running = new Set<autocannon.Instance>();

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function latencyOf(list: number[]): Latency {
  list.sort((x, y) => x - y);
  return { p50Ms: round(percentile(list, 50)), p95Ms: round(percentile(list, 95)), p99Ms: round(percentile(list, 99)) };
}

/** HIT / (HIT + MISS + STALE) of X-Cache counts; null when nothing was looked up. */
function hitRateOf(x: Record<string, number> | undefined): number | null {
  if (!x) return null;
  const looked = (x.HIT ?? 0) + (x.MISS ?? 0) + (x.STALE ?? 0);
  return looked > 0 ? (x.HIT ?? 0) / looked : null;
}

// ---------------------------------------------------------------- read-only sweep

/** Closed loops on a few list, search and stats URLs (no writes): what a cache does for those routes alone. */
async function sweep(orgUrl: string, reader: string): Promise<Record<string, SweepFigures>> {
  const urls: Record<(typeof SWEEP_CLASSES)[number], string[]> = {
    'org list': CATEGORIES.flatMap((c) => [`/api/v1/organisations?limit=20&page=1&activeOnly=true&category=${c}`, `/api/v1/organisations?limit=20&page=2&activeOnly=false&category=${c}`]),
    'org search': TERMS.map((t) => `/api/v1/organisations/search?q=${t}&limit=20`),
    'org stats': ['/api/v1/organisations/stats'],
  };
  const out: Record<string, SweepFigures> = {};
  for (const cls of SWEEP_CLASSES) {
    const list = urls[cls];
    const run = (seconds: number, onHeaders?: (x: string) => void) => new Promise<autocannon.Result>((resolvePromise, reject) => {
      const instance = autocannon({
        url: orgUrl, connections: 32, duration: seconds, timeout: 10,
        headers: { authorization: `Bearer ${reader}` },
        requests: [{
          setupRequest: (req: autocannon.Request) => ({ ...req, path: list[Math.floor(Math.random() * list.length)]! }) as autocannon.Request,
          onResponse: (_s: number, _b: string, _c: unknown, headers: Record<string, string>) => onHeaders?.(headerOf(headers, 'x-cache') ?? 'none'),
        } as unknown as autocannon.Request],
      }, (error: unknown, result) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolvePromise(result)));
      running.add(instance);
      instance.once('done', () => running.delete(instance));
    });
    await run(1); // each URL read once at least: the cache's fill is not what this measures
    const x: Record<string, number> = {};
    const result = await run(SWEEP_SECONDS, (h) => { x[h] = (x[h] ?? 0) + 1; });
    out[cls] = { rps: Math.round(result.requests.average), p50Ms: result.latency.p50, p99Ms: result.latency.p99, hitRate: hitRateOf(x), errors: result.errors + result.timeouts + result.non2xx };
  }
  return out;
}

// ---------------------------------------------------------------- freshness checker

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
  const result: Freshness = { writes: 0, reads: 0, stale: 0, staleByView: {}, errors: 0, examples: [] };
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
  // Each read is one of the views that show an organisation's name: its detail, a person's embedded
  // organisation, a search (by the name's stem), a list (the newest corporate organisations come first).
  const views: { name: string; read: (o: (typeof orgs)[number]) => Promise<{ status: number; name: string | undefined }> }[] = [
    { name: 'organisation detail', read: async (o) => { const r = await api(`${orgUrl}/api/v1/organisations/${o.id}`, reader); return { status: r.status, name: r.json?.name }; } },
    { name: "person's organisation", read: async (o) => { const r = await api(`${peopleUrl}/api/v1/people/${o.person}`, reader); return { status: r.status, name: r.json?.organisation?.name }; } },
    { name: 'search', read: async (o) => { const r = await api(`${orgUrl}/api/v1/organisations/search?q=${tag}-${o.index}-v&limit=20`, reader); return { status: r.status, name: r.json?.items?.find((i: { id: number }) => i.id === o.id)?.name }; } },
    { name: 'list', read: async (o) => { const r = await api(`${orgUrl}/api/v1/organisations?category=corporate&sort=-createdAt&limit=20`, reader); return { status: r.status, name: r.json?.items?.find((i: { id: number }) => i.id === o.id)?.name }; } },
  ];
  const readerLoop = async () => {
    while (!stopping) {
      const o = pick(orgs);
      const view = pick(views);
      const start = performance.now();
      try {
        const { status, name } = await view.read(o);
        if (status !== 200 || name === undefined) { result.errors++; continue; }
        result.reads++;
        const required = requiredAt(o.id, start);
        if (versionOf(name) < required) {
          result.stale++;
          result.staleByView[view.name] = (result.staleByView[view.name] ?? 0) + 1;
          if (result.examples.length < 5) result.examples.push(`${view.name} ${o.id}: read ${name}, v${required} acknowledged before the read`);
        }
      } catch { result.errors++; }
      await sleep(10);
    }
  };
  // Four readers: fills racing the writes are what a cache can get wrong.
  const loops = [writer(), readerLoop(), readerLoop(), readerLoop(), readerLoop()];
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

interface PhasePlan {
  name: string;
  cache: CacheKind;
  /** Our cache Redis hung (SIGSTOP) or killed (and restarted empty) for the middle third of the measured window. */
  outage?: 'hang' | 'kill';
  /** Instead of the measured mix: CONNECTION_USERS users on their own keep-alive connections. */
  connections?: boolean;
}

/** The peers' Redis databases on our own cache Redis server (ours uses db 3). */
const PEER_DB: Record<string, number> = { apicache: 5, bentocache: 6 };
const peerRedisUrl = (peer: string) => `redis://127.0.0.1:${OWN_REDIS_PORT}/${PEER_DB[peer]}`;

async function runPhase(plan: PhasePlan, redis: Redis, pg: Pg, orgId: () => number, personId: () => number): Promise<PhaseResult> {
  const phase = plan.name;
  const outageNote = plan.outage ? `, cache Redis ${plan.outage === 'hang' ? 'hung (SIGSTOP)' : 'killed'} from ${(DURATION / 3).toFixed(0)} s to ${((2 * DURATION) / 3).toFixed(0)} s` : '';
  log(`\n== phase ${phase}: warm-up ${WARMUP} s, ${plan.connections ? `${CONNECTION_USERS.toLocaleString('en')} connections` : `measuring ${DURATION} s`}${outageNote}`);
  await clearCacheKeys(redis, NAMESPACE);
  const peer = plan.cache === 'apicache' || plan.cache === 'bentocache' ? plan.cache : undefined;
  if (peer) await flushPeerDb(peer);
  const [orgPort, peoplePort, workerPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const orgUrl = `http://127.0.0.1:${orgPort}`;
  const peopleUrl = `http://127.0.0.1:${peoplePort}`;
  const workerUrl = `http://127.0.0.1:${workerPort}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'production',
    DATABASE_URL, REDIS_URL, QUEUE_REDIS_URL,
    CACHE_NAMESPACE: NAMESPACE,
    // The peers run with ours off: their own cache in its place (bench/src/peer-server.ts).
    CACHE_ENABLED: String(plan.cache === 'ours'),
    ORGANISATIONS_API_PORT: String(orgPort),
    PEOPLE_API_PORT: String(peoplePort),
    CACHE_WORKER_PORT: String(workerPort),
    ORGANISATIONS_API_URL: orgUrl,
    PEOPLE_API_URL: peopleUrl,
    LOG_LEVEL: 'warn',
    RATE_LIMIT_PER_MINUTE: '0',
    JWT_SECRET,
    WARMUP_TOKEN, // the APIs accept it from the worker's warm-up
    ...(peer ? { BENCH_PEER: peer, BENCH_PEER_REDIS_URL: peerRedisUrl(peer) } : {}),
    ...(TRACING ? {} : { OTEL_SDK_DISABLED: 'true' }),
  };
  const api = (service: string) => (peer
    ? startNode(`${phase}:${service}`, join(__dirname, 'peer-server.js'), env, [service])
    : startNode(`${phase}:${service}`, SERVER(service), env));
  const children = [api('organisations-api'), api('people-api')];
  try {
    await Promise.all([waitForHealth(children[0]!, orgUrl), waitForHealth(children[1]!, peopleUrl)]);
    // The worker after the APIs: its start-up warm-up GETs them. It runs in every phase (the outbox relay's
    // backstop, the warm-up), so the database does the same background work whatever the cache.
    // The worker holds no signing key: it warms up with the credential the APIs share with it.
    const { JWT_SECRET: _apisOnly, ...workerEnv } = env;
    children.push(startNode(`${phase}:worker`, SERVER('cache-worker'), workerEnv));
    await waitForHealth(children[2]!, workerUrl);
    const reader = mintToken(JWT_SECRET, 'reader', { sub: 'bench', expiresInSeconds: 3600 });
    const editor = mintToken(JWT_SECRET, 'editor', { sub: 'bench', expiresInSeconds: 3600 });
    const orgPicker = organisationsMix(orgId);
    const peoplePicker = peopleMix(personId);

    const freshness = await startFreshness(orgUrl, peopleUrl, reader, editor);
    let freshnessResult: Freshness | undefined;
    try {
      const seen = new Set<string>();
      const warm = newRecorder(seen);
      await Promise.all([
        runMix(orgUrl, ORG_CONNECTIONS, WARMUP, orgPicker, reader, editor, warm),
        runMix(peopleUrl, PEOPLE_CONNECTIONS, WARMUP, peoplePicker, reader, editor, warm),
      ]);
      const db0 = await dbTransactions(pg);
      const t0 = performance.now();
      const rec = newRecorder(seen);
      let connections: PhaseResult['connections'];
      let results: autocannon.Result[] = [];
      if (plan.connections) {
        const figures = await holdConnections({
          users: CONNECTION_USERS,
          targets: [
            { origin: orgUrl, nextPath: () => `/api/v1/organisations/${orgId()}` },
            { origin: peopleUrl, nextPath: () => `/api/v1/people/${personId()}` },
          ],
          token: reader,
          // About 190 req/s: a moderate rate this machine serves; think times stay under the 65 s keep-alive.
          rampSeconds: 60,
          holdSeconds: 30,
          thinkMs: [45_000, 60_000],
          timeoutMs: 10_000,
        });
        const lat = figures.latencies;
        connections = {
          users: figures.users, establishedAtEnd: figures.establishedAtEnd, establishedPeak: figures.establishedPeak,
          requests: figures.requests, rps: round(figures.rps), errors: figures.errors, timeouts: figures.timeouts, non2xx: figures.non2xx,
          hitRate: hitRateOf(figures.xCache), p50Ms: round(percentile(lat, 50)), p99Ms: round(percentile(lat, 99)), maxMs: round(lat.at(-1) ?? 0),
        };
      } else {
        rec.on = true;
        const timers: NodeJS.Timeout[] = [];
        if (plan.outage) {
          rec.window = { from: t0 + (DURATION * 1000) / 3, to: t0 + (2 * DURATION * 1000) / 3, latencies: [], non2xx: 0, errors: 0 };
          timers.push(setTimeout(() => void startOutage(plan.outage!), (DURATION * 1000) / 3));
          timers.push(setTimeout(() => void endOutage(plan.outage!), (2 * DURATION * 1000) / 3));
        }
        try {
          results = await Promise.all([
            runMix(orgUrl, ORG_CONNECTIONS, DURATION, orgPicker, reader, editor, rec),
            runMix(peopleUrl, PEOPLE_CONNECTIONS, DURATION, peoplePicker, reader, editor, rec),
          ]);
        } finally {
          rec.on = false;
          for (const t of timers) clearTimeout(t);
          if (plan.outage) await endOutage(plan.outage);
        }
      }
      const elapsed = (performance.now() - t0) / 1000;
      // Backends report their counters to pg_stat at most once a second: let the last report land.
      await sleep(1_500);
      const db1 = await dbTransactions(pg);
      freshnessResult = await freshness.stop();
      const sweepFigures = plan.outage || plan.connections ? undefined : await sweep(orgUrl, reader);
      await sleep(500);
      const lag = await lagQuantiles(workerUrl);
      const mem = await redisMemory(redis);
      const processes = Object.fromEntries(['organisations-api', 'people-api', 'cache-worker'].map((name, i) => [name, peakRssMiB(children[i]?.pid) ?? null]));

      const all: number[] = [];
      const classes: Record<string, ClassFigures> = {};
      for (const [cls, list] of rec.latencies) {
        all.push(...list);
        const statuses = rec.statuses.get(cls) ?? {};
        classes[cls] = {
          requests: list.length,
          rps: Math.round(list.length / elapsed),
          ...latencyOf(list),
          non2xx: Object.entries(statuses).filter(([code]) => !code.startsWith('2')).reduce((sum, [, c]) => sum + c, 0),
        };
        const hitRate = plan.cache === 'none' ? null : hitRateOf(rec.xcacheByClass.get(cls));
        if (hitRate !== null) classes[cls]!.hitRate = round(1000 * hitRate) / 1000;
        const hits = rec.hitLatencies.get(cls);
        if (hits?.length) classes[cls]!.hits = { requests: hits.length, ...latencyOf(hits) };
      }
      const w = rec.window;
      return {
        phase, cache: plan.cache, durationSeconds: round(elapsed),
        rps: Math.round((connections?.requests ?? all.length) / elapsed), requests: connections?.requests ?? all.length,
        errors: results.reduce((sum, r) => sum + r.errors, 0), timeouts: results.reduce((sum, r) => sum + r.timeouts, 0), non2xx: results.reduce((sum, r) => sum + r.non2xx, 0),
        overall: latencyOf(all),
        classes,
        xCache: rec.xcache,
        hitRate: plan.cache === 'none' ? null : hitRateOf(rec.xcache),
        repeatShare: rec.reads ? rec.repeats / rec.reads : 0,
        dbTransactionsPerSecond: Math.round((db1.xacts - db0.xacts) / elapsed),
        dbTuplesReturnedPerSecond: Math.round((db1.tupReturned - db0.tupReturned) / elapsed),
        invalidationLag: lag,
        freshness: freshnessResult,
        redis: mem,
        peakRssMiB: processes,
        ...(sweepFigures ? { sweep: sweepFigures } : {}),
        ...(connections ? { connections } : {}),
        ...(w && plan.outage ? { outage: (() => {
          const lat = latencyOf(w.latencies);
          return { kind: plan.outage!, seconds: round((w.to - w.from) / 1000), requests: w.latencies.length, non2xx: w.non2xx, errors: w.errors, p50Ms: lat.p50Ms, p99Ms: lat.p99Ms, maxMs: round(w.latencies.at(-1) ?? 0) };
        })() } : {}),
      };
    } finally {
      if (!freshnessResult) await freshness.stop().catch(() => undefined);
      if (peer) await flushPeerDb(peer).catch(() => undefined);
    }
  } finally {
    await stopAll();
  }
}

const round = (x: number) => Math.round(x * 10) / 10;

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

/** Hang: SIGSTOP (connections stay open, nothing answers). Kill: SIGKILL (connections refused; it comes back empty). */
let outageOn = false;
async function startOutage(kind: 'hang' | 'kill'): Promise<void> {
  if (!ownRedisProcess) return;
  outageOn = true;
  ownRedisProcess.kill(kind === 'hang' ? 'SIGSTOP' : 'SIGKILL');
  log(`   cache Redis ${kind === 'hang' ? 'hung' : 'killed'}`);
}
async function endOutage(kind: 'hang' | 'kill'): Promise<void> {
  if (!outageOn || !ownRedisProcess) return;
  outageOn = false;
  if (kind === 'hang') ownRedisProcess.kill('SIGCONT');
  else await startRedis(OWN_REDIS_PORT);
  log(`   cache Redis back (${kind === 'hang' ? 'resumed' : 'restarted, empty'})`);
}

async function flushPeerDb(peer: string): Promise<void> {
  const client = new Redis(peerRedisUrl(peer), { lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  try { await client.connect(); await client.flushdb(); } finally { client.disconnect(); }
}

// ---------------------------------------------------------------- main

function plan(): PhasePlan[] {
  const phases: PhasePlan[] = [
    { name: 'no-cache', cache: 'none' },
    { name: 'ours', cache: 'ours' },
  ];
  // The peers, the outages and the connection phase need our own Redis server (to flush, stop and size it).
  if (OWN_REDIS) {
    for (const peer of PEERS) phases.push({ name: peer, cache: peer });
    phases.push({ name: 'ours, Redis hung', cache: 'ours', outage: 'hang' });
    phases.push({ name: 'ours, Redis killed', cache: 'ours', outage: 'kill' });
  }
  phases.push({ name: `ours, ${CONNECTION_USERS.toLocaleString('en')} connections`, cache: 'ours', connections: true });
  const only = process.env.BENCH_PHASES?.split(',').map((x) => x.trim());
  return only ? phases.filter((p) => only.some((o) => p.name === o || p.name.startsWith(`${o},`) || (o === 'connections' && p.connections))) : phases;
}

async function main(): Promise<void> {
  const started = Date.now();
  log(`bench: ${cpus().length} CPUs, Node ${process.version}; ${WARMUP} s + ${DURATION} s per phase; tracing ${TRACING ? 'on' : 'off'}`);
  const sizes = await prepareMixDatabase(DATABASE_URL, log);
  const orgId = zipf(MIX_SIZES.organisations, ZIPF_S);
  const personId = zipf(MIX_SIZES.people, ZIPF_S);

  if (OWN_REDIS) await startRedis(OWN_REDIS_PORT);
  // Reconnects by itself: the killed-Redis phase restarts the server under it.
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: (attempt) => Math.min(100 * attempt, 1_000) });
  redis.on('error', () => undefined);
  const pg = await createOrm({ databaseUrl: DATABASE_URL, poolMax: 1 });
  await redis.connect();
  const phases: PhaseResult[] = [];
  try {
    for (const p of plan()) {
      phases.push(await runPhase(p, redis, pg, orgId, personId));
      const r = phases.at(-1)!;
      log(`   ${r.rps} req/s, p99 ${r.overall.p99Ms} ms, hit rate ${r.hitRate === null ? '-' : `${(r.hitRate * 100).toFixed(1)}%`}, DB ${r.dbTransactionsPerSecond} xacts/s, stale ${r.freshness.stale}/${r.freshness.reads}${r.connections ? `, ${r.connections.establishedAtEnd} connections held, ${r.connections.errors + r.connections.timeouts + r.connections.non2xx} errors` : ''}`);
    }
  } finally {
    redis.disconnect();
    await pg.close(true);
    if (ownRedisProcess) await stopRedis(ownRedisProcess);
  }
  const results = verdicts(phases);
  const settings = { writePercent: WRITE_PCT, warmupSeconds: WARMUP, durationSeconds: DURATION, orgConnections: ORG_CONNECTIONS, peopleConnections: PEOPLE_CONNECTIONS, zipfS: ZIPF_S, tracing: TRACING, data: sizes };
  const md = markdown(phases, results, settings, NOTE);
  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(join(OUT_DIR, `${OUT_NAME}.svg`), chart(phases, `npm run bench · ${new Date().toISOString().slice(0, 16)}Z · ${WRITE_PCT}% writes · ${DURATION} s per phase`));
  writeFileSync(join(OUT_DIR, `${OUT_NAME}.json`), `${JSON.stringify({
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
    settings: { ...settings, freshnessWritePauseMs: FRESHNESS_WRITE_MS, connectionUsers: CONNECTION_USERS, sweepSeconds: SWEEP_SECONDS },
    phases, targets: results,
  }, null, 2)}\n`);
  writeFileSync(join(OUT_DIR, `${OUT_NAME}.md`), md);
  log('');
  log(md);
  log(`written: ${['json', 'md', 'svg'].map((e) => relative(ROOT, join(OUT_DIR, `${OUT_NAME}.${e}`))).join(', ')}; total ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

const NOTE = [
  'DB load is PostgreSQL\'s `pg_stat_database` (xact_commit + xact_rollback; every autocommit statement is a transaction) for the bench database over the measured window, including the freshness checker and the worker.',
  'Hit rate counts X-Cache on the mix\'s reads (HIT / (HIT + MISS + STALE)); the repeat ceiling is the share of measured reads whose URL had been read before in the same phase (warm-up included): no cache without prefetching can hit more.',
  'Per-class req/s in a closed-loop mix follows the mix weights, so per-class ratios track the overall one; the read-only sweep measures list, search and stats alone (32 connections, a few URLs each, after one second of fills).',
  'apicache and bentocache are wired into the same routes with the same tags and the same write path (bench/src/peers.ts), each as its documentation shows; the worker\'s warm-up runs for them too.',
  'The outage phases stop our cache Redis (own redis-server) for the middle third of the measured window: SIGSTOP (a hung server) or SIGKILL and a restart, empty.',
  'The connection phase holds one keep-alive connection per user, reading details with 45-60 s think time (autocannon cannot open more connections than requests per second).',
].join(' ');

process.once('exit', () => { killAllNow(); ownRedisProcess?.kill('SIGCONT'); ownRedisProcess?.kill('SIGKILL'); });
// Interrupted (Ctrl-C, or a SIGTERM sent to this process alone): stop the servers it started, not leave them running.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write('\ninterrupted: stopping the servers\n');
    for (const instance of running) instance.stop();
    void stopAll().finally(() => { ownRedisProcess?.kill('SIGKILL'); process.exit(130); });
  });
}

main()
  .then(() => stopAll())
  .catch(async (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    for (const instance of running) instance.stop();
    await stopAll();
    process.exitCode = 1;
  });
