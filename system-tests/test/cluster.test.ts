import request from 'supertest';
import { invalidationJobId, QUEUE_PREFIX, warmupJobId } from '@crm/jobs';
import { freshnessSubjects, startStack, type Stack } from './stack';
import { RedisCluster, waitFor } from '@crm/testing';

// The whole system on a Redis Cluster (three masters, three replicas on ports 7101-7106) for both the cache and
// the queues: both APIs (two replicas each) and the worker in process. Then the master holding both the tag
// tokens and the queues dies under load.
let cluster: RedisCluster;
let s: Stack;

/** A namespace whose tag tokens live on the same master as the queues, so one kill takes both down. */
async function namespaceSharingTheQueueMaster(): Promise<string> {
  const queueMaster = await cluster.masterOf(`${QUEUE_PREFIX}:x`);
  for (let n = 0; ; n++) {
    const namespace = `crm-test-c${n}`;
    if ((await cluster.masterOf(`{${namespace}:tags}:x`)) === queueMaster) return namespace;
  }
}

beforeAll(async () => {
  cluster = await RedisCluster.start();
  s = await startStack({ cluster: cluster.nodes, namespace: await namespaceSharingTheQueueMaster() });
}, 60_000);
afterAll(async () => {
  await s?.close();
  await cluster?.stop();
});

const versionOf = (name: string) => Number(/-v(\d+)$/.exec(name)?.[1] ?? -1);
const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)]!;

/** Every service's /health status: four API replicas and the worker. */
async function healthOfAll(): Promise<string[]> {
  const apps = [...s.organisations, ...s.people].map((api) => api.app).concat(s.workerApp!);
  return Promise.all(apps.map(async (app) => (await request(app).get('/health')).body.status as string));
}

async function unpublishedCount(): Promise<number> {
  const [row] = await s.orm.em.fork().execute<{ n: string }[]>('select count(*) as n from cache_outbox where published_at is null');
  return Number(row!.n);
}

it('runs on the cluster: a write is fresh at once, its jobs run, the next reads hit on every replica; stats sum the masters', async () => {
  // Connections come up in the background after the start.
  await waitFor(async () => (await healthOfAll()).every((status) => status === 'healthy'), 'every service to be healthy');
  const created = await request(s.organisations[0]!.app).post('/api/v1/organisations').set(s.auth('editor')).send({ name: 'Clustered', category: 'advisor' });
  expect(created.status).toBe(201);
  const id = created.body.id as number;
  const eventId = await s.lastEventId('organisation', id);
  await s.completed(s.queues.invalidation, invalidationJobId(eventId));
  await s.completed(s.queues.warmup, warmupJobId(eventId));
  for (const api of s.organisations) {
    const read = await request(api.app).get(`/api/v1/organisations/${id}`).set(s.auth('reader'));
    expect([read.status, read.headers['x-cache'], read.body.name]).toEqual([200, 'HIT', 'Clustered']);
  }
  const stats = await request(s.people[1]!.app).get('/api/v1/cache/stats').set(s.auth('reader'));
  expect(stats.body).toMatchObject({ available: true, keysCount: expect.any(Number) });
  expect(stats.body.keysCount).toBeGreaterThan(3);
});

it('the master of the tags and the queues dies under load: no acknowledged write is ever read stale, and everything recovers by itself', async () => {
  const ORGANISATIONS = 4;
  const { organisationIds, personOf, isSubject, acknowledge, requiredAt } = await freshnessSubjects(s, ORGANISATIONS);
  const latest = new Map<number, number>(organisationIds.map((id) => [id, 0]));

  const violations: string[] = [];
  const stats = { writes: 0, reads: 0, hits: 0, hitsAfterFailover: 0, writesAfterFailover: 0 };
  let killedAt = Infinity;
  let okAt = Infinity;
  let firstHitAfterKill = Infinity;
  let stop = false;
  const check = (id: number, name: string, start: number, where: string) => {
    const required = requiredAt(id, start);
    if (versionOf(name) < required) violations.push(`${where}: organisation ${id} read ${name}, but v${required} was acknowledged before the read started`);
  };

  const writer = async (w: number) => {
    const mine = organisationIds.filter((_, i) => i % 2 === w);
    while (!stop) {
      const id = pick(mine);
      const version = latest.get(id)! + 1;
      latest.set(id, version);
      const res = await request(pick(s.organisations).app).patch(`/api/v1/organisations/${id}`).set(s.auth('editor')).send({ name: `org${organisationIds.indexOf(id)}-v${version}` });
      if (res.status !== 200) throw new Error(`write failed: ${res.status} ${JSON.stringify(res.body)}`);
      acknowledge(id, version);
      stats.writes++;
      if (Date.now() > okAt) stats.writesAfterFailover++;
    }
  };
  const reader = async () => {
    while (!stop) {
      const id = pick(organisationIds);
      const kind = pick(['detail', 'person', 'list'] as const);
      const start = performance.now();
      const startedAt = Date.now();
      const res = kind === 'detail' ? await request(pick(s.organisations).app).get(`/api/v1/organisations/${id}`).set(s.auth('reader'))
        : kind === 'person' ? await request(pick(s.people).app).get(`/api/v1/people/${personOf.get(id)}`).set(s.auth('reader'))
        : await request(pick(s.organisations).app).get('/api/v1/organisations?limit=100').set(s.auth('reader'));
      if (res.status !== 200) throw new Error(`read failed: ${res.status}`);
      stats.reads++;
      if (res.headers['x-cache'] === 'HIT') {
        stats.hits++;
        if (startedAt > killedAt) firstHitAfterKill = Math.min(firstHitAfterKill, Date.now());
        if (startedAt > okAt) stats.hitsAfterFailover++;
      }
      if (kind === 'detail') check(id, res.body.name, start, 'organisation detail');
      if (kind === 'person') check(id, res.body.organisation.name, start, "person's embedded organisation");
      if (kind === 'list') {
        for (const item of res.body.items as { id: number; name: string }[]) if (isSubject(item.id)) check(item.id, item.name, start, 'organisation list');
      }
    }
  };

  const load = Promise.all([writer(0), writer(1), ...Array.from({ length: 6 }, reader)]);
  let recoveredAt = 0;
  let master = 0;
  try {
    await waitFor(() => stats.hits > 20 && stats.writes > 10, 'load with hits before the kill');
    master = await cluster.masterOf(`${QUEUE_PREFIX}:x`);
    const killed = await cluster.killMaster(master);
    killedAt = killed.killedAt;
    okAt = (await killed.failover()).okAt;
    // Recovered by itself: every service healthy, reads hit again, writes go on.
    await waitFor(async () => stats.hitsAfterFailover >= 20 && stats.writesAfterFailover >= 10
      && (await healthOfAll()).every((status) => status === 'healthy'), 'every service to recover', 30_000);
    recoveredAt = Date.now();
  } finally {
    stop = true;
    await load;
  }
  expect(violations).toEqual([]);

  // Jobs complete: the outbox is drained (events of the outage included) and the queue holds nothing pending.
  await waitFor(async () => (await unpublishedCount()) === 0, 'every outbox row to be published', 20_000);
  for (const id of organisationIds) {
    const eventId = await s.lastEventId('organisation', id);
    await s.completed(s.queues.invalidation, invalidationJobId(eventId), 20_000);
    await s.completed(s.queues.warmup, warmupJobId(eventId), 20_000);
  }
  await waitFor(async () => {
    const counts = await s.queues.invalidation.getJobCounts('waiting', 'active', 'delayed', 'failed');
    return counts.waiting === 0 && counts.active === 0 && counts.delayed === 0;
  }, 'the invalidation queue to drain', 30_000);
  const drainedAt = Date.now();
  expect((await s.queues.invalidation.getJobCounts('failed')).failed).toBe(0);

  // After it all, every view is the latest write's, on every replica, and served from the cache again.
  for (const id of organisationIds) {
    const name = `org${organisationIds.indexOf(id)}-v${latest.get(id)}`;
    for (const api of s.organisations) expect((await request(api.app).get(`/api/v1/organisations/${id}`).set(s.auth('reader'))).body.name).toBe(name);
    for (const api of s.people) expect((await request(api.app).get(`/api/v1/people/${personOf.get(id)}`).set(s.auth('reader'))).body.organisation.name).toBe(name);
  }
  const again = await request(s.organisations[1]!.app).get(`/api/v1/organisations/${organisationIds[0]}`).set(s.auth('reader'));
  expect(again.headers['x-cache']).toBe('HIT');

  process.stdout.write(
    `cluster stack: master ${master} (tags and queues) killed; cluster ok after ${okAt - killedAt} ms; first HIT after ${firstHitAfterKill - killedAt} ms; ` +
    `all healthy after ${recoveredAt - killedAt} ms; queue drained after ${drainedAt - killedAt} ms; ` +
    `${stats.writes} writes, ${stats.reads} reads (${stats.hits} hits), ${violations.length} violations\n`,
  );
}, 60_000);
