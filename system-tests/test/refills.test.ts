import request from 'supertest';
import { invalidationJobId, JOB_OPTIONS, QUEUES, warmupJobId } from '@crm/jobs';
import { waitFor } from '@crm/testing';
import { hangingServer, startStack, type Stack } from './stack';

// Read-driven refills: after a write, the worker refills the invalidated entries clients read recently, once per
// burst of writes, so the next read of a hot view is a hit; through the real outbox, BullMQ, worker and APIs.
let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(() => s.close());

const api = () => s.organisations[0]!;
const get = (path: string) => request(api().app).get(`/api/v1${path}`).set(s.auth('reader'));
const stats = async () => (await get('/cache/stats')).body.refills as { done: number; used: number; wasted: number };
/** The worker's GETs of `path` (it warms through organisations replica 0, with the query sorted). */
const refillsOf = (path: string) => api().served.filter((line) => line === `GET /api/v1${path}`).length;

/**
 * Reads `path` (sorted query), a page showing organisation `shown`, from the cache and waits until that hit is
 * recorded after the entry's store (recording is fire-and-forget): only an entry read again since it was stored is
 * worth a refill.
 */
async function hitAgain(path: string, shown: number): Promise<void> {
  expect((await get(path)).headers['x-cache']).toBe('HIT');
  const { cacheRedis: redis, cache } = s.worker!;
  const reader = `organisations-api ${path}`;
  await waitFor(async () => {
    const [stored, readAt] = await Promise.all([redis.get(cache.keys.stored(reader)), redis.zscore(cache.keys.readers(`organisation:${shown}`), reader)]);
    return stored !== null && readAt !== null && Number(readAt) > Number(stored.replace(/^\D/, ''));
  }, `the hit on ${path} recorded after its store`);
}

async function createAdvisor(name: string): Promise<number> {
  const res = await request(api().app).post('/api/v1/organisations').set(s.auth('editor')).send({ name, category: 'advisor' });
  expect(res.status).toBe(201);
  return res.body.id;
}

/** PATCHes an organisation and waits for its invalidation job; returns the job's result and its event id. */
async function rename(id: number, name: string) {
  const res = await request(api().app).patch(`/api/v1/organisations/${id}`).set(s.auth('editor')).send({ name });
  expect(res.status).toBe(200);
  const eventId = await s.lastEventId('organisation', id);
  const job = await s.completed(s.queues.invalidation, invalidationJobId(eventId));
  return { eventId, result: job.returnvalue as { warmup: number; refills: number } };
}

it('a page clients read again is refilled after a write invalidates it, and its next read is a HIT counted as a refill used; a page read once, or not changed, is not', async () => {
  const id = await createAdvisor('Refill A');
  await createAdvisor('Refill B');
  // Page 1 shows A (the older advisor): renaming A changes it. Page 2 shows B: the rename leaves it as it is.
  const read = '/organisations?category=advisor&limit=1&page=1';
  const unread = '/organisations?category=advisor&limit=1&page=2';
  // The search shows A too, but was filled and never read again: a refill would cost what its next miss costs.
  const once = '/organisations/search?q=refill';
  expect((await get('/organisations?page=1&limit=1&category=advisor')).headers['x-cache']).toBe('MISS'); // parameter order does not matter
  await hitAgain(read, id);
  expect((await get(once)).headers['x-cache']).toBe('MISS');
  const before = await stats();

  const { eventId, result } = await rename(id, 'Refill A2');
  expect(result.refills).toBe(1);
  const warmup = await s.completed(s.queues.warmup, warmupJobId(eventId));
  const paths = (warmup.returnvalue as { path: string }[]).map((r) => r.path);
  // The fixed warm-up is still there, and the page read is added to it; the page nobody read is not.
  expect(paths).toEqual(expect.arrayContaining([`/organisations/${id}`, '/organisations', read]));
  expect(paths).not.toContain(unread);
  expect(paths).not.toContain(once);
  expect(refillsOf(read)).toBe(1);

  const next = await get(read);
  expect(next.headers['x-cache']).toBe('HIT');
  await waitFor(async () => (await stats()).used === before.used + 1, 'the refill counted as used');
  expect((await stats()).done).toBe(before.done + 1);
  expect((await get(unread)).headers['x-cache']).toBe('MISS');
  const metrics = await s.worker!['options'].metrics.expose();
  expect(metrics.body).toMatch(/cache_refill_targets_total\{[^}]*\} [1-9]/);
});

it('a burst of writes refills each entry once; a refill nobody read before the next write is counted wasted and not refilled again', async () => {
  const id = await createAdvisor('Burst');
  await s.completed(s.queues.invalidation, invalidationJobId(await s.lastEventId('organisation', id)));
  const page = '/organisations/search?q=burst';
  expect((await get(page)).headers['x-cache']).toBe('MISS');
  await hitAgain(page, id);
  const before = await stats();

  // Three writes before the refill starts (the warm-up worker held until all three are taken): a burst.
  const warmupWorker = s.worker!.workers.find((w) => w.name === QUEUES.warmup)!;
  await warmupWorker.pause();
  await Promise.all([1, 2, 3].map(async (v) => {
    const res = await request(api().app).patch(`/api/v1/organisations/${id}`).set(s.auth('editor')).send({ name: `Burst ${v}` });
    expect(res.status).toBe(200);
  }));
  const rows = await s.orm.em.fork().execute<{ id: string }[]>("select id from cache_outbox where entity = 'organisation' and entity_id = ? order by id desc limit 3", [id]);
  await Promise.all(rows.map((row) => s.completed(s.queues.invalidation, invalidationJobId(String(row.id)))));
  warmupWorker.resume();
  const warmups = await Promise.all(rows.map((row) => s.completed(s.queues.warmup, warmupJobId(String(row.id)))));
  // Three writes, one refill of the page read (the other jobs are the fixed warm-up only).
  const refilling = warmups.filter((job) => job.data.targets.some((t: { path: string; refill?: boolean }) => t.path === page && t.refill));
  expect(refilling).toHaveLength(1);
  expect(refillsOf(page)).toBe(1);
  await waitFor(async () => (await stats()).done > before.done, 'the refill stored');

  // The refill started, so the burst is over; nobody reads the refilled page, and the next write finds it unread:
  // wasted, and not refilled.
  expect(await s.worker!.cacheRedis.exists(s.worker!.cache.keys.taken(`organisations-api ${page}`))).toBe(0);
  const { eventId } = await rename(id, 'Burst 4');
  const after = await s.completed(s.queues.warmup, warmupJobId(eventId));
  expect(after.data.targets.map((t: { path: string }) => t.path)).not.toContain(page);
  await waitFor(async () => (await stats()).wasted > before.wasted, 'the wasted refill counted');
  expect(refillsOf(page)).toBe(1);
});

it('warm-up jobs waiting on a slow API do not hold the others back: a refill that queues lands after the reads it was for', async () => {
  const slow = await hangingServer();
  const apiUrls = s.worker!['options'].apiUrls;
  const real = apiUrls['organisations-api'];
  apiUrls['organisations-api'] = slow.url;
  try {
    // More jobs than invalidation runs at once (8): all of them are waiting on the API together.
    const jobs = Array.from({ length: 24 }, (_, i) => `slow-api-${i}`);
    await Promise.all(jobs.map((jobId, i) => s.queues.warmup.add('warmup', { reason: 'startup', targets: [{ service: 'organisations-api', path: `/organisations/${i + 1}` }] }, { ...JOB_OPTIONS, jobId })));
    await waitFor(() => slow.held() === jobs.length, `all ${jobs.length} warm-up GETs in flight at once`);
    slow.release();
    await Promise.all(jobs.map((jobId) => s.completed(s.queues.warmup, jobId)));
  } finally {
    apiUrls['organisations-api'] = real;
    await slow.close();
  }
});
