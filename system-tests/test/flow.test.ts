import request from 'supertest';
import { invalidationJobId, warmupJobId } from '@crm/jobs';
import { startStack, type Stack } from './stack';
import { waitFor } from '@crm/testing';

// The path from a write to a fresh, warm cache, through the real outbox, BullMQ and worker.
let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(() => s.close());

const get = (app: Stack['organisations'][number], path: string) => request(app.app).get(`/api/v1${path}`).set(s.auth('reader'));

async function createOrganisation(name: string): Promise<number> {
  const res = await request(s.organisations[0]!.app).post('/api/v1/organisations').set(s.auth('editor')).send({ name, category: 'corporate' });
  expect(res.status).toBe(201);
  return res.body.id;
}

describe('a write, its invalidation job and its warm-up', () => {
  it('the worker runs the event (already applied by the write: a no-op), then warms: the next detail read is a HIT with the new data', async () => {
    const id = await createOrganisation('Before');
    await get(s.organisations[1]!, `/organisations/${id}`);
    expect((await get(s.organisations[1]!, `/organisations/${id}`)).headers['x-cache']).toBe('HIT');

    const patched = await request(s.organisations[0]!.app).patch(`/api/v1/organisations/${id}`).set(s.auth('editor')).send({ name: 'After' });
    expect(patched.status).toBe(200);
    const eventId = await s.lastEventId('organisation', id);
    const job = await s.completed(s.queues.invalidation, invalidationJobId(eventId));
    expect(job.data).toMatchObject({ event: 'organisation.updated', entity: 'organisation', id, tags: expect.arrayContaining([`organisation:${id}`]) });
    expect(job.returnvalue).toMatchObject({ appliedNow: false, warmup: 2 });
    const warmup = await s.completed(s.queues.warmup, warmupJobId(eventId));
    expect(warmup.returnvalue).toEqual(expect.arrayContaining([expect.objectContaining({ path: `/organisations/${id}`, status: 200 })]));

    // Another replica than the one the worker warmed through: the cache is shared.
    const read = await get(s.organisations[1]!, `/organisations/${id}`);
    expect(read.headers['x-cache']).toBe('HIT');
    expect(read.body.name).toBe('After');
  });

  it('the outbox row is published exactly once, with a job id derived from it', async () => {
    const id = await createOrganisation('Published');
    const eventId = await s.lastEventId('organisation', id);
    await s.completed(s.queues.invalidation, invalidationJobId(eventId));
    const [row] = await s.orm.em.fork().execute<{ published_at: Date | null }[]>('select published_at from cache_outbox where id = ?', [eventId]);
    expect(row!.published_at).not.toBeNull();
  });
});

describe('freshness across services', () => {
  it("renaming an organisation is seen at once in a person's embedded organisation.name, on every people-api replica", async () => {
    const organisationId = await createOrganisation('Old Name');
    const person = await request(s.people[0]!.app).post('/api/v1/people').set(s.auth('editor'))
      .send({ firstName: 'Ada', lastName: 'Lovelace', email: `ada-${Date.now()}@example.com`, organisationId });
    expect(person.status).toBe(201);
    for (const api of s.people) {
      await get(api, `/people/${person.body.id}`);
      const cached = await get(api, `/people/${person.body.id}`);
      expect(cached.headers['x-cache']).toBe('HIT');
      expect(cached.body.organisation.name).toBe('Old Name');
    }

    const renamed = await request(s.organisations[1]!.app).patch(`/api/v1/organisations/${organisationId}`).set(s.auth('editor')).send({ name: 'New Name' });
    expect(renamed.status).toBe(200);
    // No waiting: the write invalidated before it answered.
    for (const api of s.people) {
      expect((await get(api, `/people/${person.body.id}`)).body.organisation.name).toBe('New Name');
    }
    // And the organisation's contacts list the person (organisation detail embeds them).
    const detail = await get(s.organisations[0]!, `/organisations/${organisationId}`);
    expect(detail.body.contacts.map((c: { id: number }) => c.id)).toEqual([person.body.id]);
  });
});

describe('duplicate delivery', () => {
  it('running the same event twice is harmless: the second run changes nothing and the warm entry stays a HIT', async () => {
    const id = await createOrganisation('Twice');
    const eventId = await s.lastEventId('organisation', id);
    const first = await s.completed(s.queues.invalidation, invalidationJobId(eventId));
    await s.completed(s.queues.warmup, warmupJobId(eventId));
    expect((await get(s.organisations[0]!, `/organisations/${id}`)).headers['x-cache']).toBe('HIT');

    // Redelivery (e.g. a relay that crashed after enqueueing but before marking the row): same event, new job.
    await s.queues.invalidation.add(first.name, first.data, { jobId: `redelivered-${eventId}` });
    const again = await s.completed(s.queues.invalidation, `redelivered-${eventId}`);
    expect(again.returnvalue).toMatchObject({ appliedNow: false });
    const read = await get(s.organisations[1]!, `/organisations/${id}`);
    expect(read.headers['x-cache']).toBe('HIT');
    expect(read.body.name).toBe('Twice');

    // The relay publishing the same row again is one job: BullMQ keeps the first.
    await s.queues.invalidation.add(first.name, first.data, { jobId: invalidationJobId(eventId) });
    expect(await s.queues.invalidation.getJobCountByTypes('waiting', 'active')).toBe(0);
  });
});

describe('POST /cache/invalidate', () => {
  it('is done by the worker: the tags are invalidated and the prefix removed', async () => {
    await get(s.organisations[0]!, '/produits');
    expect((await get(s.organisations[0]!, '/produits')).headers['x-cache']).toBe('HIT');
    const res = await request(s.organisations[1]!.app).post('/api/v1/cache/invalidate').set(s.auth('admin')).send({ tags: ['produits'], prefix: 'produits' });
    expect(res.status).toBe(202);
    const job = await s.completed(s.queues.invalidation, invalidationJobId(res.body.eventId));
    expect(job.returnvalue).toMatchObject({ appliedNow: true, deleted: expect.any(Number) });
    expect((await get(s.organisations[0]!, '/produits')).headers['x-cache']).toBe('MISS');
  });
});

describe('startup warm-up', () => {
  it('warms the most recently updated organisations and every produit', async () => {
    const em = s.orm.em.fork();
    await em.execute("insert into organisation (name, category, updated_at) values ('Recent', 'advisor', now() + interval '1 hour')");
    await em.execute("insert into produit (name, isin, category) values ('Fund', 'FR0000000001', 'equity')");
    const [{ id: recent }] = await em.execute<{ id: number }[]>("select id from organisation where name = 'Recent'") as [{ id: number }];
    const [{ id: produit }] = await em.execute<{ id: number }[]>("select id from produit where isin = 'FR0000000001'") as [{ id: number }];

    const targets = await s.worker!.enqueueStartupWarmup();
    expect(targets).toBeGreaterThanOrEqual(4);
    await waitFor(async () => (await s.queues.warmup.getJobCountByTypes('waiting', 'active', 'delayed')) === 0, 'the warm-up jobs');
    for (const path of [`/organisations/${recent}`, `/produits/${produit}`, '/organisations', '/produits']) {
      expect([path, (await get(s.organisations[1]!, path)).headers['x-cache']]).toEqual([path, 'HIT']);
    }
  });
});

describe('metrics', () => {
  it('exposes the invalidation lag and the job counts per queue and state', async () => {
    const metrics = await s.worker!['options'].metrics.expose();
    expect(metrics.body).toMatch(/cache_invalidation_lag_seconds_count\{[^}]*\} [1-9]/);
    expect(metrics.body).toMatch(/bullmq_jobs\{[^}]*queue="cache-invalidation"[^}]*state="completed"[^}]*\} [1-9]/);
  });
});

describe('jobs that cannot succeed', () => {
  it('a malformed invalidation job fails for good at once (no retries), stays in the failed set and is counted', async () => {
    const job = await s.queues.invalidation.add('organisation.updated', { event: 'organisation.renamed', id: 'x' }, { attempts: 5, jobId: 'malformed-1' });
    await waitFor(async () => (await job.getState()) === 'failed', 'the malformed job to fail');
    const failed = (await s.queues.invalidation.getJob('malformed-1'))!;
    expect(failed.attemptsMade).toBe(1);
    expect(failed.failedReason).toMatch(/invalid cache-invalidation job/);
    const metrics = await s.worker!['options'].metrics.expose();
    expect(metrics.body).toMatch(/bullmq_jobs\{[^}]*queue="cache-invalidation"[^}]*state="failed"[^}]*\} [1-9]/);
  });

  it('a warm-up whose API does not answer is retried with backoff, then completes once the API is back', async () => {
    const apiUrls = s.worker!['options'].apiUrls;
    const real = apiUrls['organisations-api'];
    apiUrls['organisations-api'] = 'http://127.0.0.1:1'; // nothing listens there
    try {
      const job = await s.queues.warmup.add('warmup', { reason: 'startup', targets: [{ service: 'organisations-api', path: '/produits' }] },
        { attempts: 5, backoff: { type: 'exponential', delay: 300 }, jobId: 'unreachable-api-1' });
      await waitFor(async () => (await s.queues.warmup.getJob(job.id!))!.attemptsMade >= 1, 'a failed first attempt');
      const retrying = (await s.queues.warmup.getJob(job.id!))!;
      expect(retrying.failedReason).toMatch(/warm-up failed for 1 target/);
      expect(['delayed', 'waiting', 'active']).toContain(await retrying.getState());
    } finally {
      apiUrls['organisations-api'] = real;
    }
    const done = await s.completed(s.queues.warmup, 'unreachable-api-1');
    expect(done.attemptsMade).toBeGreaterThanOrEqual(1);
    expect(done.returnvalue).toEqual([expect.objectContaining({ path: '/produits', status: 200 })]);
  });
});
