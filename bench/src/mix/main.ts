/**
 * `npm run bench` (issue 6): the whole stack (organisations-api, people-api, cache-worker as child processes)
 * on the issue's data set, driven by a realistic mix (Zipf ids, 90% reads, 10% writes), in phases: no cache
 * (CACHE_ENABLED=false), our cache, the same routes cached by apicache and by bentocache, our cache while its
 * Redis hangs and while it is killed, and 10,000 keep-alive connections. A freshness checker runs in every
 * phase. Writes docs/benchmarks/bench.{json,md,svg} and prints the figures next to the seed guide's targets.
 *
 * The parts: settings.ts (the environment), data.ts (the data set), workload.ts (what is asked), stack.ts
 * (the processes), recorder.ts and sweep.ts (autocannon and the per-request timer), freshness.ts, counters.ts
 * (the servers' own figures), phases.ts (what a phase does), report.ts (the files written).
 */
import { cpus } from 'node:os';
import { createOrm } from '@crm/database';
import { DATABASE_URL, TRACING } from '../environment';
import { benchRedis, BenchRedisServer } from '../redis';
import { runBenchmark } from '../run';
import { log } from '../util';
import { MIX_SIZES, prepareMixDatabase } from './data';
import type { PhaseResult } from './figures';
import { logOwnRedis, phasePlan, runPhase } from './phases';
import { writeReport } from './report';
import { DURATION, OWN_REDIS, OWN_REDIS_PORT, REDIS_URL, WARMUP, ZIPF_S } from './settings';
import { zipf } from './workload';

async function main(): Promise<void> {
  const started = Date.now();
  log(`bench: ${cpus().length} CPUs, Node ${process.version}; ${WARMUP} s + ${DURATION} s per phase; tracing ${TRACING ? 'on' : 'off'}`);
  const sizes = await prepareMixDatabase(DATABASE_URL, log);
  const orgId = zipf(MIX_SIZES.organisations, ZIPF_S);
  const personId = zipf(MIX_SIZES.people, ZIPF_S);

  // LRU like the compose file's cache Redis; its memory is ours alone.
  const ownRedis = OWN_REDIS ? await BenchRedisServer.start(OWN_REDIS_PORT, ['--maxmemory', '512mb', '--maxmemory-policy', 'allkeys-lru']) : undefined;
  if (ownRedis) logOwnRedis(ownRedis);
  // Reconnects by itself: the killed-Redis phase restarts the server under it.
  const redis = benchRedis(REDIS_URL, true);
  const pg = await createOrm({ databaseUrl: DATABASE_URL, poolMax: 1 });
  await redis.connect();
  const phases: PhaseResult[] = [];
  try {
    for (const p of phasePlan()) {
      phases.push(await runPhase(p, { redis, ownRedis, pg, orgId, personId }));
      const r = phases.at(-1)!;
      log(`   ${r.rps} req/s, p99 ${r.overall.p99Ms} ms, hit rate ${r.hitRate === null ? '-' : `${(r.hitRate * 100).toFixed(1)}%`}, DB ${r.dbTransactionsPerSecond} xacts/s, stale ${r.freshness.stale}/${r.freshness.reads}${r.connections ? `, ${r.connections.establishedAtEnd} connections held, ${r.connections.errors + r.connections.timeouts + r.connections.non2xx} errors` : ''}`);
    }
  } finally {
    redis.disconnect();
    await pg.close(true);
    await ownRedis?.stop();
  }
  writeReport(phases, sizes, started);
}

runBenchmark('bench', main);
