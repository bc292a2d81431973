import { createOrm, migrate, Organisation, MikroORM, RequestContext, replicaRouter, withReadRouting, type ReplicaRouter } from '../src';
import { startReplicaCluster, type ReplicaCluster } from '@crm/testing';
import { prepareTestDatabase, truncateAll } from '../test-support';

// A real streaming replica of a primary this test starts, replaying each commit 1.5 s late.
jest.setTimeout(120_000);

let cluster: ReplicaCluster;
let orm: MikroORM;
let router: ReplicaRouter;
const warnings: string[] = [];

/** Runs `fn` as an HTTP request would (see requestContext): one read-routing decision, at its first read. */
const inRequest = <T>(o: MikroORM, fn: () => Promise<T>): Promise<T> => withReadRouting(o, () => RequestContext.create(o.em, fn));

/** Whether the connection a request's reads actually use is the standby. */
const readsStandby = async (o: MikroORM): Promise<boolean> => {
  const [row] = await o.em.getConnection('read').execute<[{ standby: boolean }]>('select pg_is_in_recovery() as standby');
  return row.standby;
};

const replicaHas = async (id: number): Promise<boolean> =>
  (await cluster.query('replica', 'crm_test', 'select 1 from organisation where id = $1', [id])).length === 1;

const createOrganisation = async (name: string): Promise<number> => {
  const em = orm.em.fork();
  const org = em.create(Organisation, { name, category: 'corporate' });
  await em.flush();
  return org.id;
};

beforeAll(async () => {
  cluster = await startReplicaCluster({ primaryPort: 5441, replicaPort: 5442, applyDelayMs: 1_500 });
  await prepareTestDatabase(cluster.primaryUrl('crm_test'));
  orm = await createOrm({
    databaseUrl: cluster.primaryUrl('crm_test'),
    replicaUrls: [cluster.replicaUrl('crm_test')],
    replicaRouting: { retryAfterMs: 200, logger: { warn: (_details, message) => warnings.push(message) } },
  });
  router = replicaRouter(orm)!;
  await truncateAll(orm);
  await cluster.waitForReplay();
});

afterAll(async () => {
  await orm?.close(true);
  await cluster?.stop();
});

beforeEach(() => router.resetCounts());

describe('reads with a lagging streaming replica', () => {
  it('a read right after a committed write goes to the primary and sees it; once replayed, reads use the replica', async () => {
    const id = await createOrganisation('Fresh');
    expect(await replicaHas(id)).toBe(false); // the lag is real

    const [found, standby] = await inRequest(orm, async () => [await orm.em.findOne(Organisation, id), await readsStandby(orm)] as const);
    expect(found?.name).toBe('Fresh');
    expect(standby).toBe(false);
    expect(router.reads).toEqual({ replica: 0, primary: 2 });

    const waited = await cluster.waitForReplay();
    expect(waited).toBeGreaterThan(500); // most of the 1.5 s delay was left
    process.stdout.write(`replica replayed the write ${waited} ms after the read\n`);
    router.resetCounts();
    const [again, standbyAfter] = await inRequest(orm, async () => [await orm.em.findOne(Organisation, id), await readsStandby(orm)] as const);
    expect(again?.name).toBe('Fresh');
    expect(standbyAfter).toBe(true);
    expect(router.reads).toEqual({ replica: 2, primary: 0 });
  });

  it('all reads of a request share one decision, taken at its first read', async () => {
    await cluster.waitForReplay();
    const results = await inRequest(orm, () => Promise.all([
      orm.em.find(Organisation, {}), orm.em.count(Organisation, {}), readsStandby(orm),
    ]));
    expect(results[2]).toBe(true);
    expect(router.reads).toEqual({ replica: 3, primary: 0 });
  });

  it('reads in a transaction, and outside any request, use the primary', async () => {
    await cluster.waitForReplay();
    const standby = await inRequest(orm, () => orm.em.transactional(async (em) => {
      await em.find(Organisation, {});
      const [row] = await em.execute<[{ standby: boolean }]>('select pg_is_in_recovery() as standby');
      return row.standby;
    }));
    expect(standby).toBe(false);
    await orm.em.fork().find(Organisation, {});
    expect(router.reads.replica).toBe(0);
    expect(router.reads.primary).toBeGreaterThan(0);
  });

  it('after a request commits a write, its later reads see it (the primary)', async () => {
    const id = await createOrganisation('Before');
    await cluster.waitForReplay();
    const [first, after] = await inRequest(orm, async () => {
      const first = await readsStandby(orm);
      await orm.em.transactional((em) => em.nativeUpdate(Organisation, { id }, { name: 'After' }));
      const [row] = await orm.em.getConnection('read').execute<[{ name: string; standby: boolean }]>(
        'select name, pg_is_in_recovery() as standby from organisation where id = ?', [id]);
      return [first, row] as const;
    });
    expect(first).toBe(true);
    expect(after).toEqual({ name: 'After', standby: false });
  });

  it('the freshness check is what keeps lagging reads away: without it, the replica serves the old data', async () => {
    const unchecked = await createOrm({
      databaseUrl: cluster.primaryUrl('crm_test'), replicaUrls: [cluster.replicaUrl('crm_test')], replicaRouting: { skipFreshnessCheck: true },
    });
    try {
      await cluster.waitForReplay();
      const id = await createOrganisation('Lagging');
      const [found, standby] = await inRequest(unchecked, async () => [await unchecked.em.findOne(Organisation, id), await readsStandby(unchecked)] as const);
      expect(standby).toBe(true);
      expect(found).toBeNull(); // committed and acknowledged, yet not there
    } finally {
      await unchecked.close(true);
    }
  });

  it('replica down: reads go to the primary without an error, and back to the replica once it is up', async () => {
    await cluster.waitForReplay();
    // Decided for the replica, which then stops mid-request: the next read moves to the primary.
    const [before, after, count] = await inRequest(orm, async () => {
      const before = await readsStandby(orm);
      await cluster.stopReplica();
      const after = await readsStandby(orm);
      return [before, after, await orm.em.count(Organisation, {})] as const;
    });
    expect([before, after]).toEqual([true, false]);
    expect(count).toBeGreaterThan(0);

    for (let i = 0; i < 3; i++) {
      expect(await inRequest(orm, () => readsStandby(orm))).toBe(false);
    }
    expect(warnings.some((w) => /replica unavailable/.test(w))).toBe(true);

    await cluster.startReplica();
    await cluster.waitForReplay();
    // The replica is skipped for retryAfterMs (200 ms) after a failure, then checked again.
    const deadline = Date.now() + 10_000;
    while (!(await inRequest(orm, () => readsStandby(orm)))) {
      if (Date.now() > deadline) throw new Error('reads never returned to the replica');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });

  it('migrations use the primary only', async () => {
    await expect(migrate(cluster.primaryUrl('crm_test'))).resolves.toEqual([]);
  });
});
