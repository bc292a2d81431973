import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { keysOnEveryNode, waitFor } from '@crm/testing';
import { byteOrderedFamilies, Organisation, tagsForChange } from '@crm/database';
import { seedOrganisation, startHarness, type Harness } from './harness';

let h: Harness;
beforeAll(async () => { h = await startHarness({ cache: true }); });
afterAll(() => h.close());

const get = (url: string, role: 'reader' | 'admin' = 'reader') => request(h.app).get(url).set(h.auth(role));
/** The MISS path stores after answering, then releases its fill lock: wait for that condition, not a delay (on every master of a cluster). */
/** What a write does after its commit: applies its event's invalidation (here for a change made directly in the database). */
const invalidate = (tags: string[]) => h.cache!.applyEvent({ eventId: randomUUID(), occurredAt: new Date().toISOString(), tags });
const waitForStore = () => waitFor(async () => (await keysOnEveryNode(h.redis!, `${h.cache!.namespace}:*:fill`)).length === 0, 'the fill to be stored');

let emails = 0;
async function createPerson(extra: Record<string, unknown> = {}): Promise<{ id: number; lastName: string }> {
  const res = await request(h.app).post('/api/v1/people').set(h.auth('editor'))
    .send({ firstName: 'Ada', lastName: 'Lovelace', email: `cache${++emails}@people.test`, ...extra });
  expect(res.status).toBe(201);
  return res.body;
}

describe('people-api response cache', () => {
  let orgId: number;
  let personId: number;

  beforeAll(async () => {
    orgId = await seedOrganisation(h, { name: 'Old' });
    personId = (await createPerson({ organisationId: orgId })).id;
  });

  it('GET /people/:id: MISS then HIT with the same body and an ETag; If-None-Match answers 304', async () => {
    const first = await get(`/api/v1/people/${personId}`);
    expect(first.status).toBe(200);
    expect(first.headers['x-cache']).toBe('MISS');
    expect(first.headers.etag).toEqual(expect.any(String));
    await waitForStore();

    const second = await get(`/api/v1/people/${personId}`);
    expect(second.status).toBe(200);
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.body).toEqual(first.body);
    expect(second.headers.etag).toBe(first.headers.etag);

    const conditional = await get(`/api/v1/people/${personId}`).set('If-None-Match', first.headers.etag!);
    expect(conditional.status).toBe(304);
  });

  it('admins bypass the cache', async () => {
    const res = await get(`/api/v1/people/${personId}`, 'admin');
    expect(res.status).toBe(200);
    expect(res.headers['x-cache']).toBe('BYPASS');
  });

  it('PATCH invalidates the person detail', async () => {
    await get(`/api/v1/people/${personId}`);
    await waitForStore();
    expect((await get(`/api/v1/people/${personId}`)).headers['x-cache']).toBe('HIT');

    const patched = await request(h.app).patch(`/api/v1/people/${personId}`).set(h.auth('editor')).send({ lastName: 'King' });
    expect(patched.status).toBe(200);

    const after = await get(`/api/v1/people/${personId}`);
    expect(after.headers['x-cache']).toBe('MISS');
    expect(after.body.lastName).toBe('King');
  });

  it("an organisation write (as organisations-api invalidates it) refreshes the person detail's embedded organisation", async () => {
    await get(`/api/v1/people/${personId}`);
    await waitForStore();
    const cached = await get(`/api/v1/people/${personId}`);
    expect(cached.headers['x-cache']).toBe('HIT');
    expect(cached.body.organisation).toMatchObject({ id: orgId, name: 'Old' });

    await h.orm.em.fork().nativeUpdate(Organisation, { id: orgId }, { name: 'New' });
    await invalidate(tagsForChange({ entity: 'organisation', kind: 'updated', id: orgId, before: null, after: null }));

    const after = await get(`/api/v1/people/${personId}`);
    expect(after.headers['x-cache']).toBe('MISS');
    expect(after.body.organisation).toMatchObject({ id: orgId, name: 'New' });
  });

  it('GET /people: HIT after a MISS; POST /people makes the next list a MISS that includes the new person', async () => {
    const url = '/api/v1/people?limit=100';
    const first = await get(url);
    expect(first.status).toBe(200);
    expect(first.headers['x-cache']).toBe('MISS');
    await waitForStore();
    const second = await get(url);
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.body).toEqual(first.body);

    const created = await createPerson({ lastName: 'Hopper' });
    const after = await get(url);
    expect(after.headers['x-cache']).toBe('MISS');
    expect(after.body.items.map((p: { id: number }) => p.id)).toContain(created.id);
  });

  it('GET /people?sort=name: a change of a name far from the page leaves it cached; one that moves a person within it refreshes it', async () => {
    // Where names compare by bytes, the page depends on its range of last names (first two bytes); elsewhere on every change.
    const ranged = (await byteOrderedFamilies(h.orm)).includes('person');
    const org = await seedOrganisation(h, { name: 'Sorted' });
    const first = await createPerson({ organisationId: org, lastName: 'Aaberg', firstName: 'Ann' });
    await createPerson({ organisationId: org, lastName: 'Aaberg', firstName: 'Bea' });
    const far = await createPerson({ organisationId: org, lastName: 'Zweig', firstName: 'Carl' });
    const page = `/api/v1/people?organisationId=${org}&sort=name&limit=2`;
    const read = async () => { const res = await get(page); return [res.headers['x-cache'], ...res.body.items.map((p: { firstName: string }) => p.firstName)]; };
    const rename = (id: number, body: Record<string, string>) => request(h.app).patch(`/api/v1/people/${id}`).set(h.auth('editor')).send(body).expect(200);

    await read();
    await waitForStore();
    await rename(far.id, { lastName: 'Zwick' });
    expect(await read()).toEqual([ranged ? 'HIT' : 'MISS', 'Ann', 'Bea']);
    await waitForStore();
    await rename(first.id, { firstName: 'Cid' }); // same last name: it moves after Bea
    expect(await read()).toEqual(['MISS', 'Bea', 'Cid']);
  });

  it('GET /cache/stats returns the contract shape, counting people hits', async () => {
    const res = await get('/api/v1/cache/stats');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      available: true, hits: expect.any(Number), misses: expect.any(Number), totalRequests: expect.any(Number),
      hitRate: expect.any(Number), keysCount: expect.any(Number), memoryUsed: expect.any(String),
      memoryUsedBytes: expect.any(Number), evictedKeys: expect.any(Number), byPrefix: expect.any(Object),
      refills: { done: expect.any(Number), used: expect.any(Number), wasted: expect.any(Number) },
      auditor: { checks: expect.any(Number), inconsistencies: expect.any(Number) },
    });
    expect(res.body.hits).toBeGreaterThanOrEqual(1);
    expect(res.body.byPrefix.people).toEqual({ hits: expect.any(Number), misses: expect.any(Number), hitRate: expect.any(Number) });
    expect(res.body.byPrefix.people.hits).toBeGreaterThanOrEqual(1);
  });
});

describe("a person's interactions list is invalidated by that person's interactions only", () => {
  const list = (personId: number) => `/api/v1/people/${personId}/interactions`;
  const record = (personId: number, subject: string) => request(h.app).post('/api/v1/interactions').set(h.auth('editor'))
    .send({ personId, type: 'call', subject, occurredAt: '2026-01-05T10:00:00.000Z' });
  const cached = async (url: string) => {
    await get(url);
    await waitForStore();
    return (await get(url)).headers['x-cache'];
  };

  it("a new interaction of A refreshes A's list and keeps B's; moving one refreshes both; deleting an organisation refreshes all", async () => {
    const organisationId = await seedOrganisation(h, { name: 'Detached Soon' });
    const a = (await createPerson({ organisationId })).id;
    const b = (await createPerson()).id;
    expect((await record(a, 'first call')).status).toBe(201);
    const moved = await record(b, 'wrong person');
    expect([await cached(list(a)), await cached(list(b))]).toEqual(['HIT', 'HIT']);

    expect((await record(a, 'second call')).status).toBe(201);
    const afterA = await get(list(a));
    expect(afterA.headers['x-cache']).toBe('MISS');
    expect(afterA.body.items.map((i: { subject: string }) => i.subject)).toContain('second call');
    expect((await get(list(b))).headers['x-cache']).toBe('HIT');

    await waitForStore();
    const patched = await request(h.app).patch(`/api/v1/interactions/${moved.body.id}`).set(h.auth('editor')).send({ personId: a });
    expect(patched.status).toBe(200);
    expect((await get(list(a))).body.items.map((i: { id: number }) => i.id)).toContain(moved.body.id);
    expect((await get(list(b))).body.items).toEqual([]);

    // Deleting the organisation sets the interactions' organisationId to null: every person's list shows it.
    await waitForStore();
    expect(await cached(list(a))).toBe('HIT');
    await h.orm.em.fork().nativeDelete(Organisation, { id: organisationId });
    await invalidate(tagsForChange({ entity: 'organisation', kind: 'deleted', id: organisationId, before: null, after: null }));
    const detached = await get(list(a));
    expect(detached.headers['x-cache']).toBe('MISS');
    expect(detached.body.items.every((i: { organisationId: number | null }) => i.organisationId === null)).toBe(true);
  });
});
