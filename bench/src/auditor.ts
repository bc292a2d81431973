/**
 * `npm run bench:auditor`: what the cache worker's consistency auditor costs at a rate (CACHE_AUDIT_PER_SECOND,
 * default 2/s; BENCH_AUDIT_PER_SECOND changes it). Starts organisations-api and the worker as processes on the bench
 * database, caches BENCH_ORGANISATIONS organisation details, then measures over BENCH_WINDOW_S seconds, once with
 * the auditor off and once on: checks per second, PostgreSQL statements per second on the API (db_queries_total)
 * and the worker's CPU. Nothing else runs meanwhile, so the differences are the auditor's. Prints the figures.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createOrm, ensureDatabase, migrate } from '@crm/database';
import { mintToken } from '@crm/http';
import { cpuSeconds, freePort, startNode, stopAll, waitForHealth } from './children';
import { DATABASE_URL, JWT_SECRET, serviceEnv, serviceServer } from './environment';
import { runBenchmark } from './run';
import { log, positiveNumber, sleep } from './util';

const REDIS_URL = process.env.BENCH_AUDITOR_REDIS_URL ?? 'redis://127.0.0.1:6379/5';
const NAMESPACE = 'crm-bench-auditor';
const PER_SECOND = positiveNumber('BENCH_AUDIT_PER_SECOND', 2);
const ORGANISATIONS = Math.round(positiveNumber('BENCH_ORGANISATIONS', 200));
const WINDOW_S = positiveNumber('BENCH_WINDOW_S', 20);
const WARMUP_TOKEN = randomBytes(24).toString('hex');

/** The sum of a metric's series in a /metrics text. */
async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `)).reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

async function seed(): Promise<void> {
  await ensureDatabase(DATABASE_URL);
  await migrate(DATABASE_URL);
  const orm = await createOrm({ databaseUrl: DATABASE_URL, poolMax: 1 });
  const em = orm.em.fork();
  const [{ count }] = await em.execute<{ count: string }[]>('select count(*) from organisation') as [{ count: string }];
  if (Number(count) < ORGANISATIONS) {
    await em.execute(`insert into organisation (name, category) select 'Bench audit ' || n, 'corporate' from generate_series(1, ${ORGANISATIONS - Number(count)}) n`);
  }
  await orm.close(true);
}

/** One window with the auditor at `perSecond`: its checks, the API's statements and the worker's CPU. */
async function measure(perSecond: number, api: string, reader: string): Promise<{ checksPerSecond: number; queriesPerSecond: number; workerCpuMs: number }> {
  const redis = new Redis(REDIS_URL);
  await redis.flushdb(); // only this benchmark's database: every entry is filled again below
  redis.disconnect();
  const port = await freePort();
  const worker = startNode(`worker-${perSecond}`, serviceServer('cache-worker'), serviceEnv(REDIS_URL, {
    CACHE_NAMESPACE: NAMESPACE, CACHE_WORKER_PORT: String(port), WARMUP_TOKEN, WARMUP_ON_START: 'false',
    ORGANISATIONS_API_URL: api, CACHE_AUDIT_PER_SECOND: String(perSecond), OTEL_SDK_DISABLED: 'true',
  }));
  const workerUrl = `http://127.0.0.1:${port}`;
  await waitForHealth(worker, workerUrl);
  const orgs = await (await fetch(`${api}/api/v1/organisations?limit=500&activeOnly=false`, { headers: { authorization: `Bearer ${reader}` } })).json() as { items: { id: number }[] };
  for (const { id } of orgs.items.slice(0, ORGANISATIONS)) await fetch(`${api}/api/v1/organisations/${id}`, { headers: { authorization: `Bearer ${reader}` } });
  await sleep(2_500); // past the auditor's age margin (2 s)
  const before = { checks: await metric(workerUrl, 'cache_audit_checks_total'), queries: await metric(api, 'db_queries_total'), cpu: cpuSeconds(worker.pid) ?? 0 };
  const started = performance.now();
  await sleep(WINDOW_S * 1_000);
  const seconds = (performance.now() - started) / 1_000;
  const checks = (await metric(workerUrl, 'cache_audit_checks_total')) - before.checks;
  const queries = (await metric(api, 'db_queries_total')) - before.queries;
  const cpu = (cpuSeconds(worker.pid) ?? 0) - before.cpu;
  worker.kill('SIGTERM');
  await new Promise((resolve) => worker.once('exit', resolve));
  return { checksPerSecond: checks / seconds, queriesPerSecond: queries / seconds, workerCpuMs: (cpu * 1_000) / seconds };
}

runBenchmark('bench:auditor', async () => {
  await seed();
  const apiPort = await freePort();
  const api = `http://127.0.0.1:${apiPort}`;
  const child = startNode('organisations-api', serviceServer('organisations-api'), serviceEnv(REDIS_URL, {
    CACHE_NAMESPACE: NAMESPACE, ORGANISATIONS_API_PORT: String(apiPort), WARMUP_TOKEN, OTEL_SDK_DISABLED: 'true',
  }));
  await waitForHealth(child, api);
  const reader = mintToken(JWT_SECRET, 'reader');
  log(`auditor cost over ${WINDOW_S} s windows, ${ORGANISATIONS} cached organisation details, no other load:`);
  const off = await measure(0, api, reader);
  const on = await measure(PER_SECOND, api, reader);
  const perCheck = (value: number, base: number) => (on.checksPerSecond > 0 ? (value - base) / on.checksPerSecond : 0);
  log(`  off:     ${off.checksPerSecond.toFixed(2)} checks/s, ${off.queriesPerSecond.toFixed(2)} PostgreSQL statements/s, worker CPU ${off.workerCpuMs.toFixed(1)} ms/s`);
  log(`  ${PER_SECOND}/s:     ${on.checksPerSecond.toFixed(2)} checks/s, ${on.queriesPerSecond.toFixed(2)} PostgreSQL statements/s, worker CPU ${on.workerCpuMs.toFixed(1)} ms/s`);
  log(`  per check: ${perCheck(on.queriesPerSecond, off.queriesPerSecond).toFixed(2)} statements, ${perCheck(on.workerCpuMs, off.workerCpuMs).toFixed(2)} ms of worker CPU`);
  await stopAll();
});
