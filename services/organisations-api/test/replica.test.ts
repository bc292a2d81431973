import request from 'supertest';
import { startReplicaCluster, type ReplicaCluster } from '@crm/testing';
import { startHarness, type Harness } from './harness';

// The API on a primary and a real streaming replica (started here) that applies each commit 1.5 s late.
jest.setTimeout(120_000);

let cluster: ReplicaCluster;
beforeAll(async () => { cluster = await startReplicaCluster({ primaryPort: 5441, replicaPort: 5442, applyDelayMs: 1_500 }); });
afterAll(async () => { await cluster?.stop(); });

const onCluster = (skipReplicaFreshnessCheck: boolean) => startHarness({
  cache: true,
  env: { DATABASE_URL: cluster.primaryUrl('crm_test'), DATABASE_REPLICA_URLS: cluster.replicaUrl('crm_test') },
  skipReplicaFreshnessCheck,
});

/** The name the replica has right now (read directly, bypassing the API). */
async function replicaName(id: number): Promise<string | undefined> {
  const rows = await cluster.query<{ name: string }>('replica', 'crm_test', 'select name from organisation where id = $1', [id]);
  return rows[0]?.name;
}

/** GET detail (filled from the caught-up replica), PATCH the name, GET at once: what does the second GET show? */
async function renameRightAfterAFill(h: Harness) {
  const get = (id: number, role: 'reader' | 'admin' = 'reader') => request(h.app).get(`/api/v1/organisations/${id}`).set(h.auth(role));
  const created = await request(h.app).post('/api/v1/organisations').set(h.auth('editor')).send({ name: 'Old Name', category: 'advisor' });
  expect(created.status).toBe(201);
  const id = created.body.id as number;
  await cluster.waitForReplay();

  h.replicas!.resetCounts();
  const fill = await get(id);
  expect([fill.headers['x-cache'], fill.body.name]).toEqual(['MISS', 'Old Name']);
  expect(h.replicas!.reads).toEqual({ replica: 1, primary: 0 }); // the detail's one statement, on the replica

  const patched = await request(h.app).patch(`/api/v1/organisations/${id}`).set(h.auth('editor')).send({ name: 'New Name' });
  expect(patched.status).toBe(200);
  const before = { ...h.replicas!.reads };
  const afterWrite = await get(id);
  const routed = { replica: h.replicas!.reads.replica - before.replica, primary: h.replicas!.reads.primary - before.primary };
  // The replica had not replayed the rename when that GET read (and still has not): the lag was real.
  expect(await replicaName(id)).toBe('Old Name');

  const lagMs = await cluster.waitForReplay();
  expect(await replicaName(id)).toBe('New Name');
  const later = await get(id);
  return { id, get, afterWrite, routed, later, lagMs };
}

describe('organisations-api on a lagging read replica, with the cache', () => {
  let h: Harness;
  beforeAll(async () => { h = await onCluster(false); });
  afterAll(() => h.close());

  it('a read right after an acknowledged write shows it: the fill reads the primary, not the lagging replica', async () => {
    const { id, get, afterWrite, routed, later, lagMs } = await renameRightAfterAFill(h);
    expect([afterWrite.headers['x-cache'], afterWrite.body.name]).toEqual(['MISS', 'New Name']);
    expect(routed).toEqual({ replica: 0, primary: 1 });
    expect([later.headers['x-cache'], later.body.name]).toEqual(['HIT', 'New Name']);
    process.stdout.write(`replica replayed the rename ${lagMs} ms after the read that followed it\n`);

    // Caught up: reads go to the replica again (an admin read bypasses the cache).
    h.replicas!.resetCounts();
    const admin = await get(id, 'admin');
    expect([admin.headers['x-cache'], admin.body.name]).toEqual(['BYPASS', 'New Name']);
    expect(h.replicas!.reads).toEqual({ replica: 1, primary: 0 });
    const metrics = await request(h.app).get('/metrics');
    expect(metrics.text).toMatch(/^db_reads_total\{target="replica",service="organisations-api"\} [1-9]\d*$/m);
  });
});

describe('control: the same sequence without the freshness check', () => {
  let h: Harness;
  beforeAll(async () => { h = await onCluster(true); });
  afterAll(() => h.close());

  it('serves the old name after the rename was acknowledged, and caches it', async () => {
    const { afterWrite, routed, later } = await renameRightAfterAFill(h);
    expect([afterWrite.headers['x-cache'], afterWrite.body.name]).toEqual(['MISS', 'Old Name']);
    expect(routed).toEqual({ replica: 1, primary: 0 });
    // Stored with the tag tokens of after the write: the stale entry outlives the lag.
    expect([later.headers['x-cache'], later.body.name]).toEqual(['HIT', 'Old Name']);
  });
});
