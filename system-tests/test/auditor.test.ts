import request from 'supertest';
import { waitFor } from '@crm/testing';
import { startStack, type Stack } from './stack';

// The consistency auditor of the cache worker, on the real PostgreSQL and Redis: it finds and repairs an entry the
// cache kept while PostgreSQL changed underneath it, counts nothing under a normal write mix, and never checks more
// entries per second than it is set to.
const PER_SECOND = 10;
const ORGANISATIONS = 30;

let s: Stack;
let ids: number[] = [];
beforeAll(async () => {
  // Production's confirmation delay (1.5 s), but no age margin: the write mix below shows that the re-read of the
  // entry and its tokens alone keeps writes in flight from being counted (and the test need not wait for entries to
  // age). Keys may be checked again at once, so the auditor keeps to the few hot entries of the write mix.
  s = await startStack({ replicas: 1, audit: { perSecond: PER_SECOND, minAgeMs: 0, revisitAfterMs: 0 } });
  const rows = await s.orm.em.fork().execute<{ id: number }[]>(
    `insert into organisation (name, category) select 'Audited ' || n, 'corporate' from generate_series(1, ${ORGANISATIONS}) n returning id`);
  ids = rows.map((r) => r.id);
  await cacheEverything();
}, 60_000);
afterAll(() => s.close());

const api = () => request(s.organisations[0]!.app);
const read = (path: string) => api().get(`/api/v1${path}`).set(s.auth('reader'));

/** The sum of a worker metric's series (all prefixes), from its /metrics. */
async function metric(name: string, prefix?: string): Promise<number> {
  const text = (await request(s.workerApp!).get('/metrics')).text;
  return text.split('\n')
    .filter((line) => line.startsWith(`${name}{`) && (!prefix || line.includes(`prefix="${prefix}"`)))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

/** Caches every organisation's detail and mandats (two entries each), so the auditor always has entries to check. */
async function cacheEverything(): Promise<void> {
  for (const id of ids) {
    expect((await read(`/organisations/${id}`)).status).toBe(200);
    expect((await read(`/organisations/${id}/mandats`)).status).toBe(200);
  }
}

it(`checks at most ${PER_SECOND} entries a second when set to ${PER_SECOND}/s, with more entries than that to check`, async () => {
  // Started: at least one check done (the entries are older than the age margin by then).
  await waitFor(async () => (await metric('cache_audit_checks_total')) > 0, 'a first check', 10_000);
  const startChecks = await metric('cache_audit_checks_total');
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 3_000)); // the measurement window itself
  const checks = (await metric('cache_audit_checks_total')) - startChecks;
  const seconds = (performance.now() - started) / 1_000;
  // One tick may straddle each end of the window.
  expect(checks).toBeLessThanOrEqual(Math.ceil(PER_SECOND * seconds) + 1);
  // And it does run: 60 entries, each revisited after 5 s, keep it busy (a loaded machine slows each check down).
  expect(checks).toBeGreaterThanOrEqual(PER_SECOND * seconds * 0.3);
  expect(await metric('cache_inconsistent_total')).toBe(0);
}, 30_000);

it('counts no inconsistency under a normal write mix through the API (writes and reads concurrently)', async () => {
  const before = { checks: await metric('cache_audit_checks_total'), inconsistent: await metric('cache_inconsistent_total') };
  // Only the entries of the mix: the auditor checks them over and over (no cold entries to sample instead).
  expect((await api().delete('/api/v1/cache').set(s.auth('admin'))).status).toBe(200);
  const subjects = ids.slice(0, 3);
  const deadline = performance.now() + 5_000;
  const pick = () => subjects[Math.floor(Math.random() * subjects.length)]!;
  let writes = 0;
  // Every write touches an organisation's detail and every list, search and stats entry: many checks overlap a write
  // (its commit before the fresh read, its invalidation after the entry was read), which must not count.
  const writer = async () => {
    for (let n = 0; performance.now() < deadline; n++) {
      const id = pick();
      const res = await api().patch(`/api/v1/organisations/${id}`).set(s.auth('editor')).send({ name: `Audited mix ${id} v${n}`, annualRevenue: n });
      expect(res.status).toBe(200);
      writes++;
    }
  };
  const reader = async () => {
    for (let n = 0; performance.now() < deadline; n++) {
      const path = [`/organisations/${pick()}`, '/organisations?limit=50', '/organisations/search?q=audited', '/organisations/stats'][n % 4]!;
      expect((await read(path)).status).toBe(200);
    }
  };
  await Promise.all([writer(), writer(), reader(), reader(), reader()]);
  // Let the checks that started during the mix finish (a difference is confirmed 1.5 s after its fresh read).
  const after = await metric('cache_audit_checks_total');
  await waitFor(async () => (await metric('cache_audit_checks_total')) >= after + 2 * PER_SECOND, 'two more seconds of checks', 15_000);
  expect(writes).toBeGreaterThan(10);
  expect((await metric('cache_audit_checks_total')) - before.checks).toBeGreaterThan(PER_SECOND);
  expect((await metric('cache_inconsistent_total')) - before.inconsistent).toBe(0);
  const stats = (await read('/cache/stats')).body as { auditor: { checks: number; inconsistencies: number } };
  expect(stats.auditor).toEqual({ checks: expect.any(Number), inconsistencies: 0 });
  expect(stats.auditor.checks).toBeGreaterThan(0);
}, 40_000);

it('finds an organisation detail changed in PostgreSQL behind the cache (no outbox event), counts it, and the next read is fresh', async () => {
  const id = ids.at(-1)!;
  const cached = await read(`/organisations/${id}`);
  expect(cached.status).toBe(200);
  expect((await read(`/organisations/${id}`)).headers['x-cache']).toBe('HIT');
  const before = await metric('cache_inconsistent_total', 'organisations');
  // Straight in PostgreSQL: no outbox row, so no invalidation. Only the auditor can notice.
  await s.orm.em.fork().execute('update organisation set name = ? where id = ?', ['Changed behind the cache', id]);
  expect((await read(`/organisations/${id}`)).body.name).toBe(cached.body.name); // still served stale

  // Repaired: the auditor deleted the entry, so a read refills it from PostgreSQL (the entry's TTL is 600 s).
  await waitFor(async () => (await read(`/organisations/${id}`)).body.name === 'Changed behind the cache', 'the stale detail to be found and repaired', 30_000, { everyMs: 250 });
  expect(await metric('cache_inconsistent_total', 'organisations')).toBeGreaterThan(before);
  // System-wide in the stats too (the worker adds its counts to the stats hash once a second).
  await waitFor(async () => ((await read('/cache/stats')).body as { auditor: { inconsistencies: number } }).auditor.inconsistencies > 0, 'the stats to show it', 5_000, { everyMs: 200 });
}, 45_000);

it("reads fresh with the worker's credential and Cache-Control: no-cache, but a reader's no-cache is served from the cache", async () => {
  const id = ids[5]!;
  await read(`/organisations/${id}`);
  expect((await read(`/organisations/${id}`).set('Cache-Control', 'no-cache')).headers['x-cache']).toBe('HIT');
  const worker = await api().get(`/api/v1/organisations/${id}`).set('Authorization', `Bearer ${s.warmupToken}`);
  expect(worker.headers['x-cache']).toBe('HIT'); // the warm-up's reads use the cache
  const audit = await api().get(`/api/v1/organisations/${id}`).set('Authorization', `Bearer ${s.warmupToken}`).set('Cache-Control', 'no-cache');
  expect(audit.status).toBe(200);
  expect(audit.headers['x-cache']).toBe('BYPASS');
});
