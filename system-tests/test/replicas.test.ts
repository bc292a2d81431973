import request from 'supertest';
import { invalidationJobId, QUEUES, warmupJobId } from '@crm/jobs';
import { STATS_FLUSH_MS, startStack, type ApiInstance, type Stack } from './stack';
import { waitFor } from '@crm/testing';

// Issue 7: two replicas of each API and two cache workers on the same queues, tested together.
// There is no in-process cache tier (the cache is only the shared Redis), so there is no in-process staleness to measure.

let s: Stack;
/** Every job a worker finished, and which worker: BullMQ does not record it (the workers have no `name`), their events do. */
const finished: { queue: string; jobId: string; worker: number }[] = [];
const failures: string[] = [];

beforeAll(async () => {
  s = await startStack({ replicas: 2, workers: 2 });
  s.workers.forEach((cacheWorker, w) => {
    for (const bull of cacheWorker.workers) {
      bull.on('completed', (job) => finished.push({ queue: bull.name, jobId: job.id!, worker: w }));
      bull.on('failed', (job, error) => failures.push(`${bull.name} ${job?.id}: ${error.message}`));
    }
  });
});
afterAll(async () => {
  await s?.close();
});

/** Hits and misses per prefix of every read this file made (the stats test compares them with /cache/stats). */
const caused: Record<string, { hits: number; misses: number }> = {};
const prefixOf = (path: string) => {
  const bare = path.split('?')[0]!;
  return /^\/people\/\d+\/interactions$/.test(bare) ? 'interactions' : bare.split('/')[1]!;
};
function count(path: string, xCache: string | null | undefined): void {
  const kind = xCache === 'HIT' || xCache === 'STALE' ? 'hits' : xCache === 'MISS' ? 'misses' : null;
  if (kind) (caused[prefixOf(path)] ??= { hits: 0, misses: 0 })[kind]++;
}

async function read(api: ApiInstance, path: string) {
  const res = await request(api.app).get(`/api/v1${path}`).set(s.auth('reader'));
  expect([path, res.status]).toEqual([path, 200]);
  count(path, res.headers['x-cache']);
  return res;
}

/** Reads until the view is served from the cache (a fill is stored just after its response); returns that body. */
async function cached(api: ApiInstance, path: string) {
  let body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  await waitFor(async () => {
    const res = await read(api, path);
    body = res.body;
    return res.headers['x-cache'] === 'HIT';
  }, `a HIT on ${path}`, 5_000);
  return body;
}

async function write(api: ApiInstance, method: 'post' | 'patch', path: string, body: object) {
  const res = await request(api.app)[method](`/api/v1${path}`).set(s.auth('editor')).send(body);
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** `n` organisations with one person each, created through every replica. */
async function fixtures(n: number, label: string) {
  const organisationIds: number[] = [];
  const personIds: number[] = [];
  for (let i = 0; i < n; i++) {
    const org = await write(s.organisations[i % 2]!, 'post', '/organisations', { name: `${label} org ${i}`, category: 'corporate' });
    const person = await write(s.people[i % 2]!, 'post', '/people',
      { firstName: 'P', lastName: `${label} ${i}`, email: `${label}-${i}-${Date.now()}@example.com`, organisationId: org.id });
    organisationIds.push(org.id);
    personIds.push(person.id);
  }
  return { organisationIds, personIds };
}

/** `n` writes, 8 at a time, alternating organisation and person renames, spread over every replica of both APIs. */
async function writeMany(n: number, ids: { organisationIds: number[]; personIds: number[] }, label: string, onWrite = () => {}) {
  let next = 0;
  const writer = async () => {
    for (let i = next++; i < n; i = next++) {
      const k = Math.floor(i / 2);
      if (i % 2 === 0) await write(s.organisations[k % 2]!, 'patch', `/organisations/${ids.organisationIds[k % ids.organisationIds.length]}`, { name: `${label} ${i}` });
      else await write(s.people[k % 2]!, 'patch', `/people/${ids.personIds[k % ids.personIds.length]}`, { lastName: `${label} ${i}` });
      onWrite();
    }
  };
  await Promise.all(Array.from({ length: 8 }, writer));
}

/** Every outbox row published and no job left to run in either queue. */
async function idle(): Promise<void> {
  await waitFor(async () => {
    const [row] = await s.orm.em.fork().execute<{ n: number }[]>('select count(*)::int as n from cache_outbox where published_at is null');
    if (row!.n > 0) return false;
    // One connection, in this order: a warm-up is added before its invalidation job completes.
    const counts = await Promise.all([s.queues.invalidation, s.queues.warmup]
      .map((q) => q.getJobCountByTypes('waiting', 'active', 'delayed', 'prioritized')));
    return counts.every((n) => n === 0);
  }, 'every event published and every job done', 20_000);
}

const lastEvent = async () =>
  Number((await s.orm.em.fork().execute<{ id: string | null }[]>('select max(id) as id from cache_outbox'))[0]!.id ?? 0);
const eventsAfter = async (after: number) =>
  (await s.orm.em.fork().execute<{ id: string }[]>('select id from cache_outbox where id > ? order by id', [after])).map((r) => String(r.id));
/** Waits for the workers' 'completed' events of these jobs (they may fire just after Redis shows the jobs done). */
const reported = (queue: string, jobIds: string[]) =>
  waitFor(() => jobIds.every((id) => finished.some((r) => r.queue === queue && r.jobId === id)), `the completed events of ${queue}`, 5_000);
/** Events whose job did not finish exactly once among `runs`. */
const notExactlyOnce = (runs: typeof finished, queue: string, jobIds: string[]) =>
  jobIds.map((id) => [id, runs.filter((r) => r.queue === queue && r.jobId === id).length] as const).filter(([, n]) => n !== 1);

/** Waits until every event's invalidation and warm-up were reported, checks each ran exactly once since `start`; returns those runs. */
async function eachRunOnce(events: string[], start: number): Promise<typeof finished> {
  await reported(QUEUES.invalidation, events.map(invalidationJobId));
  await reported(QUEUES.warmup, events.map(warmupJobId));
  const runs = finished.slice(start);
  expect(notExactlyOnce(runs, QUEUES.invalidation, events.map(invalidationJobId))).toEqual([]);
  expect(notExactlyOnce(runs, QUEUES.warmup, events.map(warmupJobId))).toEqual([]);
  return runs;
}

describe('invalidation across replicas', () => {
  it('a view cached through one replica shows every write made through another at once, embedded views on the other API included', async () => {
    const [orgA, orgB] = [s.organisations[0]!, s.organisations[1]!];
    const [peopleA, peopleB] = [s.people[0]!, s.people[1]!];
    const org = await write(orgA, 'post', '/organisations', { name: 'Fresh v0', category: 'corporate' });
    const person = await write(peopleA, 'post', '/people', { firstName: 'Grace', lastName: 'Hopper v0', email: `grace-${Date.now()}@example.com`, organisationId: org.id });
    const detail = `/organisations/${org.id}`;
    const personPath = `/people/${person.id}`;
    for (let v = 1; v <= 8; v++) {
      // Alternate which replica reads and which writes.
      const [reader, writer] = v % 2 ? [orgA, orgB] : [orgB, orgA];
      const [peopleReader, peopleWriter] = v % 2 ? [peopleA, peopleB] : [peopleB, peopleA];

      // Cached with the previous version, then renamed through the other replica: no waiting, the write invalidated before it answered.
      expect((await cached(reader, detail)).name).toBe(`Fresh v${v - 1}`);
      expect((await cached(reader, '/organisations/search?q=Fresh')).items.map((o: { name: string }) => o.name)).toEqual([`Fresh v${v - 1}`]);
      for (const api of s.people) expect((await cached(api, personPath)).organisation.name).toBe(`Fresh v${v - 1}`);
      await write(writer, 'patch', detail, { name: `Fresh v${v}` });
      expect((await read(reader, detail)).body.name).toBe(`Fresh v${v}`);
      expect((await read(reader, '/organisations/search?q=Fresh')).body.items.map((o: { name: string }) => o.name)).toEqual([`Fresh v${v}`]);
      for (const api of s.people) expect((await read(api, personPath)).body.organisation.name).toBe(`Fresh v${v}`);

      // The other way: a person renamed through people-api, seen in the organisation's contacts on organisations-api.
      expect((await cached(reader, detail)).contacts.map((c: { lastName: string }) => c.lastName)).toEqual([`Hopper v${v - 1}`]);
      expect((await cached(peopleReader, personPath)).lastName).toBe(`Hopper v${v - 1}`);
      await write(peopleWriter, 'patch', personPath, { lastName: `Hopper v${v}` });
      expect((await read(reader, detail)).body.contacts.map((c: { lastName: string }) => c.lastName)).toEqual([`Hopper v${v}`]);
      expect((await read(peopleReader, personPath)).body.lastName).toBe(`Hopper v${v}`);
    }
  });
});

describe('two workers on the same queues', () => {
  it('run each of 200 events exactly once between them, both taking part, with no failed job', async () => {
    const ids = await fixtures(10, 'load');
    await idle();
    const after = await lastEvent();
    const start = finished.length;
    await writeMany(200, ids, 'load');
    await idle();

    const events = await eventsAfter(after);
    expect(events).toHaveLength(200);
    const runs = await eachRunOnce(events, start);
    expect(runs).toHaveLength(400); // nothing else ran: one invalidation and one warm-up per event
    // BullMQ agrees: each event's job completed, started once.
    const jobs = await Promise.all(events.map((id) => s.queues.invalidation.getJob(invalidationJobId(id))));
    const states = await Promise.all(jobs.map((job) => job!.getState()));
    expect(states.filter((state) => state !== 'completed')).toEqual([]);
    expect(jobs.filter((job) => job!.attemptsStarted !== 1).map((job) => job!.id)).toEqual([]);

    const byWorker = [0, 1].map((w) => runs.filter((r) => r.queue === QUEUES.invalidation && r.worker === w).length);
    process.stdout.write(`replicas: 200 events, invalidation jobs per worker ${byWorker.join(' / ')}\n`);
    expect(byWorker.every((n) => n > 0)).toBe(true);
    expect(failures).toEqual([]);
    for (const q of Object.values(s.queues)) expect(await q.getJobCountByTypes('failed')).toBe(0);
  });
});

describe('warm-up with two workers', () => {
  it.each([
    ['organisation', 'organisations', (id: number) => `/organisations/${id}`, { name: 'Warm v1' }, 'name', 'Warm v1'],
    ['person', 'people', (id: number) => `/people/${id}`, { lastName: 'Warm v1' }, 'lastName', 'Warm v1'],
  ] as const)('%s write: its detail is warmed exactly once (not once per worker) and the next read is a HIT on every replica',
    async (entity, api, pathOf, patch, field, value) => {
      const ids = await fixtures(1, `warm-${entity}`);
      const id = entity === 'organisation' ? ids.organisationIds[0]! : ids.personIds[0]!;
      const path = pathOf(id);
      await idle();
      const replicas = api === 'organisations' ? s.organisations : s.people;
      const warmGets = () => replicas.flatMap((r) => r.served).filter((line) => line === `GET /api/v1${path}`).length;
      const before = warmGets();
      const start = finished.length;

      await write(replicas[1]!, 'patch', path, patch);
      const eventId = await s.lastEventId(entity, id);
      const warmup = await s.completed(s.queues.warmup, warmupJobId(eventId));
      expect(warmup.returnvalue).toEqual(expect.arrayContaining([{ path, status: 200, cache: 'MISS' }]));
      await idle();
      await reported(QUEUES.invalidation, [invalidationJobId(eventId)]);
      await reported(QUEUES.warmup, [warmupJobId(eventId)]);
      // This event's jobs (an earlier event's completion may be reported late, within this window: not this write's).
      const runs = finished.slice(start);
      expect(runs.filter((r) => r.queue === QUEUES.warmup && r.jobId === warmupJobId(eventId))).toHaveLength(1);
      expect(runs.filter((r) => r.queue === QUEUES.invalidation && r.jobId === invalidationJobId(eventId))).toHaveLength(1);
      expect(warmGets() - before).toBe(1); // one GET of the detail reached the APIs

      for (const replica of replicas) {
        const res = await read(replica, path);
        expect([res.headers['x-cache'], res.body[field]]).toEqual(['HIT', value]);
      }
    });
});

describe('a worker shut down mid-load', () => {
  it('loses nothing: the other worker finishes every remaining job and no view is stale', async () => {
    const ids = await fixtures(10, 'drain');
    await idle();
    const after = await lastEvent();
    const start = finished.length;
    const [, leaving] = s.workers;
    let written = 0;
    const load = writeMany(200, ids, 'drain', () => written++);
    let writtenAtClose: number, closedAt: number, lastBeforeClosed: number;
    try {
      // Let the leaving worker take part first, so it goes away with work in hand.
      await waitFor(() => finished.slice(start).filter((r) => r.worker === 1).length >= 5, 'worker 1 to take part', 10_000);
      writtenAtClose = written;
      await leaving!.close(); // graceful: finishes its active jobs, takes no more
      closedAt = finished.length;
      lastBeforeClosed = await lastEvent();
    } finally {
      await load; // never leave writes running into the stack's close
    }
    await idle();

    process.stdout.write(`replicas: worker 1 left after ${writtenAtClose} of 200 writes\n`);
    expect(writtenAtClose).toBeLessThan(200);
    const events = await eventsAfter(after);
    expect(events).toHaveLength(200);
    const runs = await eachRunOnce(events, start);
    expect(finished.slice(closedAt).filter((r) => r.worker === 1)).toEqual([]);
    // Events recorded after it left were all run by the remaining worker.
    const later = events.filter((id) => Number(id) > lastBeforeClosed).map(invalidationJobId);
    process.stdout.write(`replicas: ${later.length} events recorded after it left, all run by worker 0\n`);
    expect(later.length).toBeGreaterThan(0);
    expect(runs.filter((r) => later.includes(r.jobId) && r.worker !== 0)).toEqual([]);
    expect(failures).toEqual([]);

    // No stale view on any replica: every detail and embedded organisation matches the database.
    const em = s.orm.em.fork();
    const orgs = await em.execute<{ id: number; name: string }[]>(`select id, name from organisation where id in (${ids.organisationIds.join(',')})`);
    const people = await em.execute<{ id: number; last_name: string; organisation_id: number }[]>(`select id, last_name, organisation_id from person where id in (${ids.personIds.join(',')})`);
    const nameOf = new Map(orgs.map((o) => [o.id, o.name]));
    for (const o of orgs) {
      for (const replica of s.organisations) expect((await read(replica, `/organisations/${o.id}`)).body.name).toBe(o.name);
    }
    for (const p of people) {
      for (const replica of s.people) {
        const body = (await read(replica, `/people/${p.id}`)).body;
        expect([body.lastName, body.organisation.name]).toEqual([p.last_name, nameOf.get(p.organisation_id)]);
      }
    }
  });
});

describe('stats', () => {
  it('GET /cache/stats on any replica of either API reports the same system-wide counts: every hit and miss of every replica', async () => {
    const ids = await fixtures(2, 'stats');
    const personId = ids.personIds[0]!;
    // Reads on every replica of both APIs, each view missed once then hit from the shared cache elsewhere.
    const paths = {
      organisations: ['/organisations', `/organisations/${ids.organisationIds[1]}`, '/organisations/search?q=stats', '/organisations/stats', '/produits'],
      people: ['/people', `/people/${personId}`, `/people/${personId}/interactions`, '/people/search?q=stats'],
    };
    for (const [api, list] of [[s.organisations, paths.organisations], [s.people, paths.people]] as const) {
      for (const replica of api) for (const path of list) await read(replica, path);
    }
    await idle();

    // What this file caused: its own reads and the worker's warm-up GETs (each job returns its X-Cache results).
    const expected: Record<string, { hits: number; misses: number }> = structuredClone(caused);
    expect(failures).toEqual([]); // a failed warm-up attempt could have read without returning what it saw
    for (const job of await s.queues.warmup.getJobs(['completed'], 0, -1)) {
      for (const target of job.returnvalue as { path: string; cache: string | null }[]) {
        const kind = target.cache === 'HIT' || target.cache === 'STALE' ? 'hits' : target.cache === 'MISS' ? 'misses' : null;
        if (kind) (expected[prefixOf(target.path)] ??= { hits: 0, misses: 0 })[kind]++;
      }
    }
    const total = (kind: 'hits' | 'misses') => Object.values(expected).reduce((sum, e) => sum + e[kind], 0);
    const want = { hits: total('hits'), misses: total('misses'), byPrefix: expected };
    expect(want.hits).toBeGreaterThan(0);
    expect(want.misses).toBeGreaterThan(0);

    type Stats = { hits: number; misses: number; totalRequests: number; byPrefix: Record<string, { hits: number; misses: number }> };
    const seen = async (replica: ApiInstance) => {
      const body = (await request(replica.app).get('/api/v1/cache/stats').set(s.auth('reader'))).body as Stats;
      const byPrefix = Object.fromEntries(Object.entries(body.byPrefix).map(([p, e]) => [p, { hits: e.hits, misses: e.misses }]));
      return { hits: body.hits, misses: body.misses, byPrefix };
    };
    // Each replica adds its counts every STATS_FLUSH_MS: wait for the others' flushes, not a fixed time.
    let last: Awaited<ReturnType<typeof seen>> | undefined;
    await waitFor(async () => {
      last = await seen(s.organisations[0]!);
      return last.hits === want.hits && last.misses === want.misses;
    }, 'the stats flushes', Math.max(3_000, 30 * STATS_FLUSH_MS)).catch(() => undefined);
    expect(last).toEqual(want);
    for (const replica of [...s.organisations, ...s.people]) expect(await seen(replica)).toEqual(want);
  });
});
