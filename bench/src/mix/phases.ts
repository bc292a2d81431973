/**
 * The phases of `npm run bench` and how one runs: a fresh stack (./stack.ts), the freshness checker
 * throughout, a warm-up, then the measured mix (with our cache Redis hung or killed for its middle third in
 * the outage phases) or the connection phase, the read-only sweep, and the servers' counters (those of /metrics as
 * their increase over the measured window, the sweep included).
 */
import type autocannon from 'autocannon';
import type { Redis } from 'ioredis';
import { mintToken } from '@crm/http';
import { peakRssMiB, stopAll } from '../children';
import { holdConnections } from '../connections';
import { clearCacheKeys } from '../data';
import { JWT_SECRET, NAMESPACE } from '../environment';
import { PEERS, type Peer } from '../peers';
import { benchRedis, type BenchRedisServer } from '../redis';
import { log, sleep } from '../util';
import { dbTransactions, dependencyIndex, invalidationFigures, lagQuantiles, redisMemory, scrape, type Pg } from './counters';
import type { CacheKind, Freshness, PhaseResult } from './figures';
import { startFreshness } from './freshness';
import { classFigures, connectionFigures, hitRateOf, latencyOf, newRecorder, outageFigures, round, runMix } from './recorder';
import { CONNECTION_USERS, DURATION, MIX_ONLY, ONLY_PHASES, ORG_CONNECTIONS, OWN_REDIS, OWN_REDIS_PORT, PEER_DB, PEOPLE_CONNECTIONS, WARMUP } from './settings';
import { startStack } from './stack';
import { sweep } from './sweep';
import { organisationsMix, peopleMix } from './workload';

export interface PhasePlan {
  name: string;
  cache: CacheKind;
  /** Our cache Redis hung (SIGSTOP) or killed (and restarted empty) for the middle third of the measured window. */
  outage?: 'hang' | 'kill';
  /** Instead of the measured mix: CONNECTION_USERS users on their own keep-alive connections. */
  connections?: boolean;
}

/** Every phase, in order, or those BENCH_PHASES names. */
export function phasePlan(): PhasePlan[] {
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
  const only = ONLY_PHASES;
  const chosen = only ? phases.filter((p) => only.some((o) => p.name === o || p.name.startsWith(`${o},`) || (o === 'connections' && p.connections))) : phases;
  // BENCH_MIX_ONLY: the mix phases alone (no outage, no connection phase), for quick side-by-side runs.
  return MIX_ONLY ? chosen.filter((p) => !p.outage && !p.connections) : chosen;
}

/** What every phase runs against: the cache Redis (and our own server of it, if any), the database, the id samplers. */
export interface PhaseContext {
  redis: Redis;
  ownRedis: BenchRedisServer | undefined;
  pg: Pg;
  orgId: () => number;
  personId: () => number;
}

/** A peer's Redis database on our own cache Redis server. */
const peerRedisUrl = (peer: Peer) => `redis://127.0.0.1:${OWN_REDIS_PORT}/${PEER_DB[peer]}`;

async function flushPeerDb(peer: Peer): Promise<void> {
  const client = benchRedis(peerRedisUrl(peer), true);
  try { await client.connect(); await client.flushdb(); } finally { client.disconnect(); }
}

/** Says which redis-server is ours, at start and after the killed-Redis phase restarts it. */
export const logOwnRedis = (server: BenchRedisServer) => log(`redis: own cache Redis on port ${server.port} (pid ${server.pid})`);

/** Hang: SIGSTOP (connections stay open, nothing answers). Kill: SIGKILL (connections refused; it comes back empty). */
function outage(server: BenchRedisServer | undefined, kind: 'hang' | 'kill'): { start: () => void; end: () => Promise<void> } {
  let on = false;
  return {
    start: () => {
      if (!server) return;
      on = true;
      if (kind === 'hang') server.pause(); else server.kill();
      log(`   cache Redis ${kind === 'hang' ? 'hung' : 'killed'}`);
    },
    end: async () => {
      if (!on || !server) return;
      on = false;
      if (kind === 'hang') server.resume();
      else { await server.restart(); logOwnRedis(server); }
      log(`   cache Redis back (${kind === 'hang' ? 'resumed' : 'restarted, empty'})`);
    },
  };
}

/** Runs one phase on a fresh stack and returns its figures; the stack is stopped whatever happens. */
export async function runPhase(plan: PhasePlan, { redis, ownRedis, pg, orgId, personId }: PhaseContext): Promise<PhaseResult> {
  const phase = plan.name;
  const outageNote = plan.outage ? `, cache Redis ${plan.outage === 'hang' ? 'hung (SIGSTOP)' : 'killed'} from ${(DURATION / 3).toFixed(0)} s to ${((2 * DURATION) / 3).toFixed(0)} s` : '';
  log(`\n== phase ${phase}: warm-up ${WARMUP} s, ${plan.connections ? `${CONNECTION_USERS.toLocaleString('en')} connections` : `measuring ${DURATION} s`}${outageNote}`);
  await clearCacheKeys(redis, NAMESPACE);
  // Every phase starts from the same tables: the writes of the phases before left dead rows, and this machine's
  // PostgreSQL may run without autovacuum (then a later phase would read more than an earlier one).
  // The benchmark's connection (one in its pool) has a statement timeout, which a vacuum after a long run can pass.
  const connection = pg.em.getConnection();
  await connection.execute('set statement_timeout = 0');
  await connection.execute('vacuum (analyze) organisation, person, interaction, list_count, organisation_stat, cache_outbox');
  await connection.execute('reset statement_timeout');
  const peer = plan.cache === 'apicache' || plan.cache === 'bentocache' ? plan.cache : undefined;
  if (peer) await flushPeerDb(peer);
  try {
    const { children, orgUrl, peopleUrl, workerUrl } = await startStack(phase, plan.cache === 'ours', peer ? { name: peer, redisUrl: peerRedisUrl(peer) } : undefined);
    const reader = mintToken(JWT_SECRET, 'reader', { sub: 'bench', expiresInSeconds: 3600 });
    const editor = mintToken(JWT_SECRET, 'editor', { sub: 'bench', expiresInSeconds: 3600 });
    const orgPicker = organisationsMix(orgId);
    const peoplePicker = peopleMix(personId);

    const freshness = await startFreshness(orgUrl, peopleUrl, reader, editor, pg);
    let freshnessResult: Freshness | undefined;
    try {
      const seen = new Set<string>();
      const warm = newRecorder(seen);
      await Promise.all([
        runMix(orgUrl, ORG_CONNECTIONS, WARMUP, orgPicker, reader, editor, warm),
        runMix(peopleUrl, PEOPLE_CONNECTIONS, WARMUP, peoplePicker, reader, editor, warm),
      ]);
      // The services' counters run from their start: the window's figures are their increase from here.
      const scrapeStack = async () => ({ apis: await Promise.all([scrape(orgUrl), scrape(peopleUrl)]), worker: await scrape(workerUrl) });
      const [db0, metrics0] = await Promise.all([dbTransactions(pg), scrapeStack()]);
      const t0 = performance.now();
      const rec = newRecorder(seen);
      let connections: PhaseResult['connections'];
      let results: autocannon.Result[] = [];
      if (plan.connections) {
        connections = connectionFigures(await holdConnections({
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
        }));
      } else {
        rec.on = true;
        const timers: NodeJS.Timeout[] = [];
        const down = plan.outage ? outage(ownRedis, plan.outage) : undefined;
        if (down) {
          rec.window = { from: t0 + (DURATION * 1000) / 3, to: t0 + (2 * DURATION * 1000) / 3, latencies: [], non2xx: 0, errors: 0 };
          timers.push(setTimeout(() => down.start(), (DURATION * 1000) / 3));
          timers.push(setTimeout(() => void down.end(), (2 * DURATION * 1000) / 3));
        }
        try {
          results = await Promise.all([
            runMix(orgUrl, ORG_CONNECTIONS, DURATION, orgPicker, reader, editor, rec),
            runMix(peopleUrl, PEOPLE_CONNECTIONS, DURATION, peoplePicker, reader, editor, rec),
          ]);
        } finally {
          rec.on = false;
          for (const t of timers) clearTimeout(t);
          await down?.end();
        }
      }
      const elapsed = (performance.now() - t0) / 1000;
      // Backends report their counters to pg_stat at most once a second: let the last report land.
      await sleep(1_500);
      const db1 = await dbTransactions(pg);
      freshnessResult = await freshness.stop();
      const sweepFigures = plan.outage || plan.connections ? undefined : await sweep(orgUrl, reader);
      await sleep(500);
      const metrics1 = await scrapeStack();
      const mem = await redisMemory(redis);
      const ours = plan.cache === 'ours';
      const processes = Object.fromEntries(['organisations-api', 'people-api', 'cache-worker'].map((name, i) => [name, peakRssMiB(children[i]?.pid) ?? null]));

      const { classes, all } = classFigures(rec, elapsed, plan.cache !== 'none');
      const w = rec.window;
      const requests = connections?.requests ?? all.length;
      const perRequest = (delta: number, digits = 0) => Math.round((10 ** digits * delta) / Math.max(1, requests)) / 10 ** digits;
      return {
        phase, cache: plan.cache, durationSeconds: round(elapsed),
        rps: Math.round(requests / elapsed), requests,
        errors: results.reduce((sum, r) => sum + r.errors, 0), timeouts: results.reduce((sum, r) => sum + r.timeouts, 0), non2xx: results.reduce((sum, r) => sum + r.non2xx, 0),
        overall: latencyOf(all),
        classes,
        xCache: rec.xcache,
        hitRate: plan.cache === 'none' ? null : hitRateOf(rec.xcache),
        repeatShare: rec.reads ? rec.repeats / rec.reads : 0,
        dbTransactionsPerSecond: Math.round((db1.xacts - db0.xacts) / elapsed),
        dbTuplesReturnedPerSecond: Math.round((db1.tupReturned - db0.tupReturned) / elapsed),
        dbTuplesFetchedPerSecond: Math.round((db1.tupFetched - db0.tupFetched) / elapsed),
        dbTransactionsPerRequest: perRequest(db1.xacts - db0.xacts, 3),
        dbTuplesReturnedPerRequest: perRequest(db1.tupReturned - db0.tupReturned),
        dbTuplesFetchedPerRequest: perRequest(db1.tupFetched - db0.tupFetched),
        invalidationLag: lagQuantiles(metrics0.worker, metrics1.worker),
        freshness: freshnessResult,
        redis: mem,
        invalidation: ours ? invalidationFigures(metrics0, metrics1) : null,
        dependencyIndex: ours ? await dependencyIndex(redis, NAMESPACE) : null,
        peakRssMiB: processes,
        ...(sweepFigures ? { sweep: sweepFigures } : {}),
        ...(connections ? { connections } : {}),
        ...(w && plan.outage ? { outage: outageFigures(w, plan.outage) } : {}),
      };
    } finally {
      if (!freshnessResult) await freshness.stop().catch(() => undefined);
      if (peer) await flushPeerDb(peer).catch(() => undefined);
    }
  } finally {
    await stopAll();
  }
}
