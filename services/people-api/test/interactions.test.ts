import request from 'supertest';
import { countRows, expectProblem, seedOrganisation, startHarness, type Harness } from './harness';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(() => h.close());

let emails = 0;
async function createPerson(organisationId: number | null = null): Promise<number> {
  const res = await request(h.app).post('/api/v1/people').set(h.auth('editor'))
    .send({ firstName: 'Ada', lastName: 'Lovelace', email: `i${++emails}@interactions.test`, organisationId });
  expect(res.status).toBe(201);
  return res.body.id as number;
}

const createInteraction = (body: Record<string, unknown>) =>
  request(h.app).post('/api/v1/interactions').set(h.auth('editor')).send(body);
const get = (url: string) => request(h.app).get(url).set(h.auth('reader'));
const call = (personId: number, extra: Record<string, unknown> = {}) =>
  ({ personId, type: 'call', subject: 'Quarterly review', occurredAt: '2024-05-01T09:30:00Z', ...extra });

describe('interactions CRUD', () => {
  it('creates, lists, updates and deletes an interaction', async () => {
    const org = await seedOrganisation(h, { name: 'Acme' });
    const personId = await createPerson(org);

    const created = await createInteraction(call(personId, { subject: '  Quarterly review ', notes: 'Went well', occurredAt: '2024-05-01T11:30:00+02:00' }));
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe(`/api/v1/interactions/${created.body.id}`);
    expect(created.body).toEqual({
      id: expect.any(Number), personId, organisationId: org, type: 'call', subject: 'Quarterly review', notes: 'Went well',
      occurredAt: '2024-05-01T09:30:00.000Z', createdAt: expect.any(String),
    });
    expect(new Date(created.body.createdAt).toISOString()).toBe(created.body.createdAt);
    const id = created.body.id as number;

    const list = await get(`/api/v1/people/${personId}/interactions`);
    expect(list.status).toBe(200);
    expect(list.body).toEqual({ items: [created.body], total: 1, page: 1, limit: 100, pages: 1, nextCursor: null });

    const patched = await request(h.app).patch(`/api/v1/interactions/${id}`).set(h.auth('editor'))
      .send({ type: 'meeting', notes: null, occurredAt: '2024-05-02T08:00:00.123Z' });
    expect(patched.status).toBe(200);
    expect(patched.body).toEqual({ ...created.body, type: 'meeting', notes: null, occurredAt: '2024-05-02T08:00:00.123Z' });

    const deleted = await request(h.app).delete(`/api/v1/interactions/${id}`).set(h.auth('editor'));
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expectProblem(await request(h.app).delete(`/api/v1/interactions/${id}`).set(h.auth('editor')), 404);
    expectProblem(await request(h.app).patch(`/api/v1/interactions/${id}`).set(h.auth('editor')).send({ subject: 'x' }), 404);
    expect((await get(`/api/v1/people/${personId}/interactions`)).body.total).toBe(0);
  });

  it("defaults organisationId to the person's current organisation; an explicit null or another organisation is kept", async () => {
    const org = await seedOrganisation(h, { name: 'Home' });
    const other = await seedOrganisation(h, { name: 'Elsewhere' });
    const member = await createPerson(org);
    const loner = await createPerson(null);

    expect((await createInteraction(call(member))).body.organisationId).toBe(org);
    expect((await createInteraction(call(member, { organisationId: null }))).body.organisationId).toBeNull();
    expect((await createInteraction(call(member, { organisationId: other }))).body.organisationId).toBe(other);
    expect((await createInteraction(call(loner))).body.organisationId).toBeNull();
  });

  it('validates type, subject, notes (<= 10,000 characters) and occurredAt (ISO 8601 with an offset)', async () => {
    const personId = await createPerson();
    const before = await countRows(h, 'interaction');
    const cases: [Record<string, unknown>, string][] = [
      [call(personId, { type: 'visit' }), 'type'],
      [call(personId, { subject: '   ' }), 'subject'],
      [call(personId, { subject: 's'.repeat(256) }), 'subject'],
      [call(personId, { notes: 'n'.repeat(10_001) }), 'notes'],
      [call(personId, { occurredAt: '2024-05-01T09:30:00' }), 'occurredAt'],
      [call(personId, { occurredAt: '2024-05-01' }), 'occurredAt'],
      [call(personId, { occurredAt: '2024-02-30T09:30:00Z' }), 'occurredAt'],
      [call(personId, { occurredAt: 'yesterday' }), 'occurredAt'],
      [{ type: 'call', subject: 'x', occurredAt: '2024-05-01T09:30:00Z' }, 'personId'],
      [call(personId, { personId: '1' }), 'personId'],
      [call(personId, { updatedAt: '2024-05-01T09:30:00Z' }), 'updatedAt'],
    ];
    for (const [body, path] of cases) {
      expect(expectProblem(await createInteraction(body), 400)).toContain(path);
    }
    expect(await countRows(h, 'interaction')).toBe(before);
    expect((await createInteraction(call(personId, { notes: 'n'.repeat(10_000) }))).status).toBe(201);
  });

  it('a dangling personId or organisationId is a 400 with field errors, and nothing is written', async () => {
    const personId = await createPerson();
    const before = await countRows(h, 'interaction');

    const noPerson = await createInteraction(call(999));
    expectProblem(noPerson, 400);
    expect(noPerson.body.errors).toEqual([{ path: 'personId', message: 'person 999 does not exist' }]);

    const noOrg = await createInteraction(call(personId, { organisationId: 999 }));
    expect(noOrg.body.errors).toEqual([{ path: 'organisationId', message: 'organisation 999 does not exist' }]);

    const neither = await createInteraction(call(998, { organisationId: 999 }));
    expect(expectProblem(neither, 400)).toEqual(['personId', 'organisationId']);
    expect(await countRows(h, 'interaction')).toBe(before);

    const { body: existing } = await createInteraction(call(personId));
    const patched = await request(h.app).patch(`/api/v1/interactions/${existing.id}`).set(h.auth('editor')).send({ subject: 'Changed', personId: 999 });
    expect(patched.body.errors).toEqual([{ path: 'personId', message: 'person 999 does not exist' }]);
    const patchedOrg = await request(h.app).patch(`/api/v1/interactions/${existing.id}`).set(h.auth('editor')).send({ subject: 'Changed', organisationId: 999 });
    expect(patchedOrg.body.errors).toEqual([{ path: 'organisationId', message: 'organisation 999 does not exist' }]);
    const invalid = await request(h.app).patch(`/api/v1/interactions/${existing.id}`).set(h.auth('editor')).send({ subject: 'Changed', type: 'fax' });
    expect(expectProblem(invalid, 400)).toEqual(['type']);
    expect((await get(`/api/v1/people/${personId}/interactions`)).body.items).toEqual([existing]);
  });

  it('moves an interaction to another person and organisation', async () => {
    const org = await seedOrganisation(h, { name: 'Moved' });
    const from = await createPerson();
    const to = await createPerson();
    const { body: i } = await createInteraction(call(from));
    const moved = await request(h.app).patch(`/api/v1/interactions/${i.id}`).set(h.auth('editor')).send({ personId: to, organisationId: org });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ id: i.id, personId: to, organisationId: org });
    expect((await get(`/api/v1/people/${from}/interactions`)).body.total).toBe(0);
    expect((await get(`/api/v1/people/${to}/interactions`)).body.items.map((x: { id: number }) => x.id)).toEqual([i.id]);
  });
});

describe('interaction lists', () => {
  let orgA: number;
  let orgB: number;
  let alice: number;
  let bob: number;
  beforeAll(async () => {
    await h.orm.em.getConnection().execute('truncate person, interaction, organisation restart identity cascade');
    orgA = await seedOrganisation(h, { name: 'A' });
    orgB = await seedOrganisation(h, { name: 'B' });
    alice = await createPerson(orgA);
    bob = await createPerson(orgB);
    for (const [personId, occurredAt, organisationId] of [
      [alice, '2024-01-03T00:00:00Z', orgA],
      [alice, '2024-01-01T00:00:00Z', orgB],
      [alice, '2024-01-02T00:00:00Z', null],
      [bob, '2024-01-05T00:00:00Z', orgB],
    ] as const) {
      expect((await createInteraction(call(personId, { occurredAt, organisationId }))).status).toBe(201);
    }
  });

  const days = (res: request.Response) => (res.body.items as { occurredAt: string }[]).map((i) => i.occurredAt.slice(8, 10));

  it("lists a person's interactions most recent first, paginated and sortable; 404 for an unknown person", async () => {
    const res = await get(`/api/v1/people/${alice}/interactions`);
    expect(res.body).toMatchObject({ total: 3, page: 1, limit: 100, pages: 1 });
    expect(days(res)).toEqual(['03', '02', '01']);
    expect(days(await get(`/api/v1/people/${alice}/interactions?sort=occurredAt`))).toEqual(['01', '02', '03']);
    expect(days(await get(`/api/v1/people/${alice}/interactions?sort=id`))).toEqual(['03', '01', '02']);
    const byCreation = (await get(`/api/v1/people/${alice}/interactions?sort=-createdAt`)).body.items as { createdAt: string }[];
    expect(byCreation.map((i) => i.createdAt)).toEqual(byCreation.map((i) => i.createdAt).sort().reverse());
    const page = await get(`/api/v1/people/${alice}/interactions?limit=2&page=2`);
    expect(page.body).toMatchObject({ total: 3, page: 2, limit: 2, pages: 2 });
    expect(days(page)).toEqual(['01']);

    expectProblem(await get('/api/v1/people/9999/interactions'), 404);
    expect(expectProblem(await get(`/api/v1/people/${alice}/interactions?sort=name`), 400)).toEqual(['query.sort']);
    expect(expectProblem(await get(`/api/v1/people/${alice}/interactions?personId=1`), 400)).toEqual(['query.personId']);
  });

  it('lists all interactions, filtered by person and/or organisation', async () => {
    const all = await get('/api/v1/interactions');
    expect(all.body).toMatchObject({ total: 4, pages: 1 });
    expect(days(all)).toEqual(['05', '03', '02', '01']);
    expect(days(await get(`/api/v1/interactions?personId=${alice}`))).toEqual(['03', '02', '01']);
    expect(days(await get(`/api/v1/interactions?organisationId=${orgB}`))).toEqual(['05', '01']);
    expect(days(await get(`/api/v1/interactions?organisationId=${orgB}&personId=${alice}`))).toEqual(['01']);
    expect((await get('/api/v1/interactions?personId=9999')).body).toMatchObject({ items: [], total: 0, pages: 0 });
    expect(days(await get('/api/v1/interactions?sort=id&limit=1&page=4'))).toEqual(['05']);
    expect(expectProblem(await get('/api/v1/interactions?personId=abc'), 400)).toEqual(['query.personId']);
    expect(expectProblem(await get('/api/v1/interactions?organisationId=0'), 400)).toEqual(['query.organisationId']);
    expect(expectProblem(await get('/api/v1/interactions?type=call'), 400)).toEqual(['query.type']);
  });

  it('loads a page of interactions in a bounded number of statements', async () => {
    const before = h.sql.length;
    const res = await get(`/api/v1/people/${alice}/interactions`);
    expect(res.status).toBe(200);
    expect(h.sql.length - before).toBeLessThanOrEqual(3);
  });
});
