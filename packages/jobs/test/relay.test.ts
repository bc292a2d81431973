import type { Queue } from 'bullmq';
import { createOrm, deletePublishedBefore, eventForChange, recordEvent, unpublishedCount, type MikroORM } from '@crm/database';
import { prepareTestDatabase, truncateAll, TEST_DATABASE_URL } from '@crm/database/testing';
import { createLogger } from '@crm/telemetry';
import { invalidationJobId, openQueue, OutboxRelay, QUEUES } from '../src';

// The relay against the real test database and a queue database of its own on the local Redis.
const QUEUE_URL = 'redis://127.0.0.1:6379/8';
const logger = createLogger('relay-test', 'silent');

let orm: MikroORM;
let queue: Queue;
beforeAll(async () => {
  await prepareTestDatabase();
  orm = await createOrm({ databaseUrl: TEST_DATABASE_URL, poolMax: 6 });
  queue = openQueue(QUEUES.invalidation, { url: QUEUE_URL });
});
beforeEach(async () => {
  await truncateAll(orm);
  await queue.obliterate({ force: true });
});
afterAll(async () => {
  await queue.obliterate({ force: true });
  await queue.close();
  await orm.close(true);
});

async function record(n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 1; i <= n; i++) {
    const event = await orm.em.fork().transactional((em) => recordEvent(em, eventForChange({ entity: 'produit', kind: 'updated', id: i, before: null, after: null })));
    ids.push(event.eventId);
  }
  return ids;
}

const unpublished = () => unpublishedCount(orm.em.fork());

it('publishes every outbox row once, oldest first, with a job id derived from the row, and marks it published', async () => {
  const ids = await record(5);
  const relay = new OutboxRelay({ orm, logger, queueRedisUrl: QUEUE_URL });
  relay.kick();
  await relay.settle();
  await relay.stop();
  const jobs = await queue.getJobs(['waiting']);
  expect(jobs.map((j) => j.id).sort()).toEqual(ids.map(invalidationJobId).sort());
  const first = await queue.getJob(invalidationJobId(ids[0]!));
  expect(first!.data).toMatchObject({ event: 'produit.updated', entity: 'produit', id: 1, tags: ['produit:1'], eventId: ids[0] });
  expect(first!.opts).toMatchObject({ attempts: 10, backoff: { type: 'exponential', delay: 500 } });
  expect(await unpublished()).toBe(0);
});

it('three relays running at once (three replicas) publish each row exactly once', async () => {
  const ids = await record(300);
  const relays = [0, 1, 2].map(() => new OutboxRelay({ orm, logger, queueRedisUrl: QUEUE_URL, batchSize: 20 }));
  relays.forEach((r) => r.kick());
  await Promise.all(relays.map((r) => r.settle()));
  await Promise.all(relays.map((r) => r.stop()));
  expect(relays.reduce((sum, r) => sum + r.published, 0)).toBe(300);
  expect(await queue.getJobCountByTypes('waiting')).toBe(ids.length);
  expect(await unpublished()).toBe(0);
});

it('with the queue unreachable, rows stay in the outbox, the relay neither throws nor hangs, and publishes them once it can', async () => {
  await record(3);
  const down = new OutboxRelay({ orm, logger, queueRedisUrl: 'redis://127.0.0.1:1/0' });
  const started = Date.now();
  down.kick();
  await down.settle();
  expect(Date.now() - started).toBeLessThan(5_000);
  await down.stop();
  expect(await unpublished()).toBe(3);
  expect(await queue.getJobCountByTypes('waiting')).toBe(0);

  const up = new OutboxRelay({ orm, logger, queueRedisUrl: QUEUE_URL });
  up.kick();
  await up.settle();
  await up.stop();
  expect(await unpublished()).toBe(0);
  expect(await queue.getJobCountByTypes('waiting')).toBe(3);
});

it('retention deletes published rows past their age and never a row still waiting to be published', async () => {
  await record(2);
  const relay = new OutboxRelay({ orm, logger, queueRedisUrl: QUEUE_URL });
  relay.kick();
  await relay.settle();
  await relay.stop();
  await record(1); // not published
  expect(await deletePublishedBefore(orm.em.fork(), new Date(Date.now() - 3_600_000))).toBe(0); // too young
  expect(await deletePublishedBefore(orm.em.fork(), new Date(Date.now() + 3_600_000))).toBe(2);
  const [{ n }] = await orm.em.fork().execute<{ n: number }[]>('select count(*)::int as n from cache_outbox') as [{ n: number }];
  expect(n).toBe(1);
  expect(await unpublished()).toBe(1);
});
