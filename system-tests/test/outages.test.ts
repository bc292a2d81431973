import request from 'supertest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { eventForChange, recordEvent } from '@crm/database';
import { invalidationJobId, warmupJobId } from '@crm/jobs';
import { startStack, type Stack } from './stack';
import { RedisServer, waitFor } from '@crm/testing';

// Redis servers of their own, on spare ports, so the tests can kill and hang them.
const QUEUE_PORT = 6420;
const CACHE_PORT = 6421;

const get = (s: Stack, api: Stack['organisations'][number], path: string) => request(api.app).get(`/api/v1${path}`).set(s.auth('reader'));

async function unpublished(s: Stack, eventId: string): Promise<boolean> {
  const [row] = await s.orm.em.fork().execute<{ published_at: Date | null }[]>('select published_at from cache_outbox where id = ?', [eventId]);
  return row!.published_at === null;
}

describe('the queue Redis is down at write time', () => {
  let queueServer: RedisServer;
  let s: Stack;
  beforeAll(async () => {
    queueServer = await RedisServer.start(QUEUE_PORT, { args: ['--maxmemory-policy', 'noeviction'] });
    s = await startStack({ queueRedisUrl: queueServer.url });
  });
  afterAll(async () => {
    if (!queueServer.running) await queueServer.start(); // the stack's queues need a server to close cleanly
    await s.close();
    await queueServer.stop();
  });

  it('the write answers 2xx and is fresh at once; the event waits in the outbox and runs once the queue is back', async () => {
    const created = await request(s.organisations[0]!.app).post('/api/v1/organisations').set(s.auth('editor')).send({ name: 'Steady', category: 'advisor' });
    const id = created.body.id as number;
    await s.completed(s.queues.invalidation, invalidationJobId(await s.lastEventId('organisation', id)));
    await get(s, s.organisations[1]!, `/organisations/${id}`);
    expect((await get(s, s.organisations[1]!, `/organisations/${id}`)).headers['x-cache']).toBe('HIT');

    await queueServer.kill(); // every queued job is lost with it: only the outbox remembers
    const started = Date.now();
    const patched = await request(s.organisations[0]!.app).patch(`/api/v1/organisations/${id}`).set(s.auth('editor')).send({ name: 'Moved On' });
    expect(patched.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(1_000);
    // Fresh on every replica without the worker: the write invalidated before it answered.
    for (const api of s.organisations) expect((await get(s, api, `/organisations/${id}`)).body.name).toBe('Moved On');
    const eventId = await s.lastEventId('organisation', id);
    // The relays keep trying (every 200 ms here); the row stays unpublished while the queue is away.
    await new Promise((r) => setTimeout(r, 600));
    expect(await unpublished(s, eventId)).toBe(true);
    const health = await request(s.organisations[0]!.app).get('/health');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'degraded', queue: { status: 'down' } });

    await queueServer.start(); // empty: as after a crash without persistence
    await waitFor(async () => !(await unpublished(s, eventId)), 'the relay to publish the event');
    const job = await s.completed(s.queues.invalidation, invalidationJobId(eventId));
    expect(job.data).toMatchObject({ event: 'organisation.updated', id });
    await s.completed(s.queues.warmup, warmupJobId(eventId));
    const read = await get(s, s.organisations[1]!, `/organisations/${id}`);
    expect([read.headers['x-cache'], read.body.name]).toEqual(['HIT', 'Moved On']);
  });
});

describe('the cache Redis hangs or dies around a write, with two replicas of the API', () => {
  let cacheServer: RedisServer;
  let s: Stack;
  beforeAll(async () => {
    cacheServer = await RedisServer.start(CACHE_PORT);
    s = await startStack({ cacheRedisUrl: cacheServer.url });
  });
  afterAll(async () => {
    await s.close();
    await cacheServer.stop();
  });

  async function cachedOrganisation(name: string): Promise<number> {
    const created = await request(s.organisations[0]!.app).post('/api/v1/organisations').set(s.auth('editor')).send({ name, category: 'advisor' });
    const id = created.body.id as number;
    await s.completed(s.queues.warmup, warmupJobId(await s.lastEventId('organisation', id)));
    expect((await get(s, s.organisations[1]!, `/organisations/${id}`)).headers['x-cache']).toBe('HIT');
    return id;
  }

  it('hang: the write answers; once Redis resumes, the replica that never noticed the hang serves the new data', async () => {
    const id = await cachedOrganisation('Before Hang');
    await cacheServer.pause();
    const patched = await request(s.organisations[0]!.app).patch(`/api/v1/organisations/${id}`).set(s.auth('editor')).send({ name: 'During Hang' });
    expect(patched.status).toBe(200);
    await cacheServer.resume();
    // Replica 1 made no call during the hang: its connection never saw a problem.
    const read = await get(s, s.organisations[1]!, `/organisations/${id}`);
    expect(read.body.name).toBe('During Hang');
    const eventId = await s.lastEventId('organisation', id);
    await s.completed(s.queues.warmup, warmupJobId(eventId), 20_000);
    expect((await get(s, s.organisations[1]!, `/organisations/${id}`)).body.name).toBe('During Hang');
  });

});

describe('the cache Redis crashes and comes back with its data (persisted), after a writer died before invalidating', () => {
  let cacheServer: RedisServer;
  let s: Stack;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'crm-cache-rdb-'));
    cacheServer = await RedisServer.start(CACHE_PORT + 1, { args: ['--dir', dir, '--dbfilename', 'cache.rdb'] });
    // No worker: only the replicas themselves can put things right.
    s = await startStack({ cacheRedisUrl: cacheServer.url, worker: false });
  });
  afterAll(async () => {
    await s.close();
    await cacheServer.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('every replica replays the events committed around the outage from the outbox before it serves from the cache again', async () => {
    const created = await request(s.organisations[0]!.app).post('/api/v1/organisations').set(s.auth('editor')).send({ name: 'Before Crash', category: 'advisor' });
    const id = created.body.id as number;
    for (const api of s.organisations) await get(s, api, `/organisations/${id}`);
    expect((await get(s, s.organisations[1]!, `/organisations/${id}`)).headers['x-cache']).toBe('HIT');

    const admin = new Redis(cacheServer.url);
    await admin.save(); // the cache on disk still holds the old entry and its tag tokens
    admin.disconnect();
    await cacheServer.kill();
    // A writer commits its change and its outbox event, then dies before it could invalidate anything.
    await s.orm.em.fork().transactional(async (em) => {
      await em.execute("update organisation set name = 'After Crash' where id = ?", [id]);
      await recordEvent(em, eventForChange({ entity: 'organisation', kind: 'updated', id, before: null, after: null }));
    });
    await cacheServer.start(); // loads cache.rdb: the old entry is back, valid as far as Redis can tell
    for (const api of s.organisations) {
      await waitFor(() => api.runtime.cacheRedis!.status === 'ready', 'the replica to reconnect');
      const read = await get(s, api, `/organisations/${id}`);
      expect(read.body.name).toBe('After Crash');
    }
    // Replayed once, the cache works again: the next reads fill and hit.
    await waitFor(async () => (await get(s, s.organisations[0]!, `/organisations/${id}`)).headers['x-cache'] === 'HIT', 'a hit');
    expect((await get(s, s.organisations[1]!, `/organisations/${id}`)).body.name).toBe('After Crash');
  });
});
