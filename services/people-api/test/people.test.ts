import request from 'supertest';
import { Interaction, Organisation, Person } from '@crm/database';
import { countRows, expectProblem, personRow, seedOrganisation, startHarness, type Harness } from './harness';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(() => h.close());

const createPerson = (body: Record<string, unknown>) =>
  request(h.app).post('/api/v1/people').set(h.auth('editor')).send(body);
const get = (url: string) => request(h.app).get(url).set(h.auth('reader'));

let emails = 0;
const person = (extra: Record<string, unknown> = {}) => ({ firstName: 'Ada', lastName: 'Lovelace', email: `p${++emails}@people.test`, ...extra });

async function truncate(): Promise<void> {
  await h.orm.em.getConnection().execute('truncate person, interaction, organisation restart identity cascade');
}

describe('people CRUD', () => {
  it('creates, reads, updates and deletes a person', async () => {
    const created = await createPerson({ firstName: '  Ada ', lastName: 'Lovelace', email: 'Ada@Example.test', phone: '+44 20 7946 0000', title: 'Analyst' });
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe(`/api/v1/people/${created.body.id}`);
    expect(created.body).toEqual({
      id: expect.any(Number), firstName: 'Ada', lastName: 'Lovelace', email: 'Ada@Example.test', phone: '+44 20 7946 0000',
      title: 'Analyst', organisationId: null, createdAt: expect.any(String), updatedAt: expect.any(String),
    });
    expect(new Date(created.body.createdAt).toISOString()).toBe(created.body.createdAt);
    const id = created.body.id as number;

    const detail = await get(`/api/v1/people/${id}`);
    expect(detail.status).toBe(200);
    expect(detail.body).toEqual({ ...created.body, organisation: null });

    const patched = await request(h.app).patch(`/api/v1/people/${id}`).set(h.auth('editor')).send({ title: null, lastName: 'King' });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ id, firstName: 'Ada', lastName: 'King', title: null, phone: '+44 20 7946 0000' });
    expect(new Date(patched.body.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(created.body.updatedAt).getTime());
    expect(await personRow(h, id)).toMatchObject({ last_name: 'King', title: null });

    const deleted = await request(h.app).delete(`/api/v1/people/${id}`).set(h.auth('editor'));
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expectProblem(await get(`/api/v1/people/${id}`), 404);
    expectProblem(await request(h.app).delete(`/api/v1/people/${id}`).set(h.auth('editor')), 404);
    expectProblem(await request(h.app).patch(`/api/v1/people/${id}`).set(h.auth('editor')).send({ title: 'x' }), 404);
  });

  it('links a person to an organisation and embeds {id, name, category} in the detail', async () => {
    const orgA = await seedOrganisation(h, { name: 'Acme Bank', category: 'institution', annualRevenue: 1000 });
    const orgB = await seedOrganisation(h, { name: 'Beta Advisors', category: 'advisor' });
    const created = await createPerson(person({ organisationId: orgA }));
    expect(created.status).toBe(201);
    expect(created.body.organisationId).toBe(orgA);

    const detail = await get(`/api/v1/people/${created.body.id}`);
    expect(detail.body.organisation).toEqual({ id: orgA, name: 'Acme Bank', category: 'institution' });
    expect(detail.body.organisationId).toBe(orgA);

    const moved = await request(h.app).patch(`/api/v1/people/${created.body.id}`).set(h.auth('editor')).send({ organisationId: orgB });
    expect(moved.status).toBe(200);
    expect(moved.body.organisationId).toBe(orgB);
    expect((await get(`/api/v1/people/${created.body.id}`)).body.organisation).toEqual({ id: orgB, name: 'Beta Advisors', category: 'advisor' });

    const detached = await request(h.app).patch(`/api/v1/people/${created.body.id}`).set(h.auth('editor')).send({ organisationId: null });
    expect(detached.body.organisationId).toBeNull();
    expect((await get(`/api/v1/people/${created.body.id}`)).body.organisation).toBeNull();
  });

  it('validates fields: names trimmed to 1..100, a valid email, phone <= 50, title <= 255', async () => {
    const before = await countRows(h, 'person');
    const cases: [Record<string, unknown>, string][] = [
      [person({ firstName: '   ' }), 'firstName'],
      [person({ lastName: 'x'.repeat(101) }), 'lastName'],
      [person({ email: 'not-an-email' }), 'email'],
      [{ firstName: 'A', lastName: 'B' }, 'email'],
      [person({ phone: '1'.repeat(51) }), 'phone'],
      [person({ title: 't'.repeat(256) }), 'title'],
      [person({ organisationId: 'one' }), 'organisationId'],
      [person({ organisationId: 1.5 }), 'organisationId'],
    ];
    for (const [body, path] of cases) {
      expect(expectProblem(await createPerson(body), 400)).toContain(path);
    }
    expect(await countRows(h, 'person')).toBe(before);
    expect((await createPerson(person({ lastName: 'x'.repeat(100) }))).status).toBe(201);
  });
});

describe('unique email, case-insensitively', () => {
  it('answers 409 on a POST with an email already used in another case, and writes nothing', async () => {
    expect((await createPerson(person({ email: 'grace@navy.test' }))).status).toBe(201);
    const before = await countRows(h, 'person');
    const conflict = await createPerson(person({ email: 'GRACE@Navy.TEST' }));
    expect(expectProblem(conflict, 409)).toEqual(['email']);
    expect(await countRows(h, 'person')).toBe(before);
  });

  it("answers 409 on a PATCH to another person's email in another case, leaving the row unchanged", async () => {
    const a = await createPerson(person({ email: 'alan@bletchley.test' }));
    const b = await createPerson(person({ email: 'joan@bletchley.test' }));
    const rowBefore = await personRow(h, b.body.id);
    const conflict = await request(h.app).patch(`/api/v1/people/${b.body.id}`).set(h.auth('editor')).send({ email: 'ALAN@bletchley.test', title: 'Cryptanalyst' });
    expectProblem(conflict, 409);
    expect(await personRow(h, b.body.id)).toEqual(rowBefore);

    // A person may change the case of their own email.
    const own = await request(h.app).patch(`/api/v1/people/${a.body.id}`).set(h.auth('editor')).send({ email: 'Alan@Bletchley.test' });
    expect(own.status).toBe(200);
    expect(own.body.email).toBe('Alan@Bletchley.test');
  });
});

describe('dangling organisationId', () => {
  it('is a 400 with a field error on POST, and nothing is written', async () => {
    const before = await countRows(h, 'person');
    const res = await createPerson(person({ organisationId: 999 }));
    expectProblem(res, 400);
    expect(res.body.errors).toEqual([{ path: 'organisationId', message: 'organisation 999 does not exist' }]);
    expect(await countRows(h, 'person')).toBe(before);
  });

  it('is a 400 with a field error on PATCH, and the row is unchanged', async () => {
    const { body } = await createPerson(person());
    const rowBefore = await personRow(h, body.id);
    const res = await request(h.app).patch(`/api/v1/people/${body.id}`).set(h.auth('editor')).send({ firstName: 'Changed', organisationId: 999 });
    expectProblem(res, 400);
    expect(res.body.errors).toEqual([{ path: 'organisationId', message: 'organisation 999 does not exist' }]);
    expect(await personRow(h, body.id)).toEqual(rowBefore);
  });

  it('a PATCH that fails validation leaves the row unchanged', async () => {
    const { body } = await createPerson(person());
    const rowBefore = await personRow(h, body.id);
    const res = await request(h.app).patch(`/api/v1/people/${body.id}`).set(h.auth('editor')).send({ firstName: 'Changed', email: 'nope' });
    expect(expectProblem(res, 400)).toEqual(['email']);
    expect(await personRow(h, body.id)).toEqual(rowBefore);
  });
});

describe('lists', () => {
  it('lists people, filters by organisation, paginates, and sorts by name as last name then first name', async () => {
    await truncate();
    const org = await seedOrganisation(h, { name: 'Org' });
    const other = await seedOrganisation(h, { name: 'Other' });
    for (const [firstName, lastName, organisationId] of [
      ['Zoe', 'Adams', org], ['Adam', 'Brown', null], ['Bob', 'Adams', org], ['Carl', 'Young', other],
    ] as const) {
      expect((await createPerson(person({ firstName, lastName, organisationId }))).status).toBe(201);
    }
    const names = (res: request.Response) => (res.body.items as { firstName: string; lastName: string }[]).map((p) => `${p.firstName} ${p.lastName}`);

    const all = await get('/api/v1/people');
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({ total: 4, page: 1, limit: 100, pages: 1 });
    expect(names(all)).toEqual(['Zoe Adams', 'Adam Brown', 'Bob Adams', 'Carl Young']);
    expect(all.body.items[0]).toEqual({
      id: 1, firstName: 'Zoe', lastName: 'Adams', email: expect.any(String), phone: null, title: null, organisationId: org,
      createdAt: expect.any(String), updatedAt: expect.any(String),
    });

    expect(names(await get('/api/v1/people?sort=name'))).toEqual(['Bob Adams', 'Zoe Adams', 'Adam Brown', 'Carl Young']);
    expect(names(await get('/api/v1/people?sort=-name'))).toEqual(['Carl Young', 'Adam Brown', 'Zoe Adams', 'Bob Adams']);
    expect(names(await get('/api/v1/people?sort=-id'))).toEqual(['Carl Young', 'Bob Adams', 'Adam Brown', 'Zoe Adams']);
    expect((await get('/api/v1/people?sort=createdAt')).body.total).toBe(4);

    const byOrg = await get(`/api/v1/people?organisationId=${org}&sort=name`);
    expect(byOrg.body.total).toBe(2);
    expect(names(byOrg)).toEqual(['Bob Adams', 'Zoe Adams']);
    expect((await get('/api/v1/people?organisationId=999')).body).toMatchObject({ items: [], total: 0, pages: 0 });

    const page2 = await get('/api/v1/people?limit=3&page=2&sort=name');
    expect(page2.body).toMatchObject({ total: 4, page: 2, limit: 3, pages: 2 });
    expect(names(page2)).toEqual(['Carl Young']);
    expectProblem(await get('/api/v1/people?sort=email'), 400);
  });

  it('searches first name, last name and email case-insensitively, taking % and _ literally', async () => {
    await truncate();
    for (const [firstName, lastName, email] of [
      ['Marie', 'Curie', 'marie@radium.test'],
      ['Pierre', '100% Curie', 'pierre@radium.test'],
      ['Irene', 'Joliot_Curie', 'irene@radium.test'],
      ['Fred', 'JoliotXCurie', 'fred_j@lab.test'],
      ['Other', 'Person', 'someone@Example.ORG'],
    ] as const) {
      expect((await createPerson({ firstName, lastName, email })).status).toBe(201);
    }
    const search = async (q: string) => {
      const res = await get(`/api/v1/people/search?${new URLSearchParams({ q })}`);
      expect(res.status).toBe(200);
      return (res.body.items as { firstName: string }[]).map((p) => p.firstName).sort();
    };
    expect(await search('curie')).toEqual(['Fred', 'Irene', 'Marie', 'Pierre']);
    expect(await search('100%')).toEqual(['Pierre']);
    expect(await search('t_c')).toEqual(['Irene']);
    expect(await search('d_j')).toEqual(['Fred']);
    // 1-2 characters match the start of a first name, last name or email (an index range, never a table scan).
    expect(await search('%')).toEqual([]);
    expect(await search('_')).toEqual([]);
    expect(await search('10')).toEqual(['Pierre']);
    expect(await search('fR')).toEqual(['Fred']);
    expect(await search('j')).toEqual(['Fred', 'Irene']);
    expect(await search('MARIE')).toEqual(['Marie']);
    expect(await search('example.org')).toEqual(['Other']);
    expect(await search('@radium')).toEqual(['Irene', 'Marie', 'Pierre']);
    expect(await search('\\')).toEqual([]);

    const sorted = await get('/api/v1/people/search?q=curie&sort=-name&limit=2');
    expect(sorted.body).toMatchObject({ total: 4, limit: 2, pages: 2 });
    // The database collation decides how `_` sorts against `X`; both Joliot names come before Curie.
    expect(sorted.body.items.map((p: { lastName: string }) => p.lastName).sort()).toEqual(['JoliotXCurie', 'Joliot_Curie']);

    expect(expectProblem(await get('/api/v1/people/search'), 400)).toEqual(['query.q']);
    expect(expectProblem(await get('/api/v1/people/search?q='), 400)).toEqual(['query.q']);
    expect(expectProblem(await get(`/api/v1/people/search?q=${'a'.repeat(101)}`), 400)).toEqual(['query.q']);
    expect((await get(`/api/v1/people/search?q=${'a'.repeat(100)}`)).status).toBe(200);
  });
});

describe('no N+1 queries', () => {
  async function countQueries(url: string): Promise<{ count: number; statements: string[]; body: any }> {
    const before = h.sql.length;
    const res = await get(url);
    expect(res.status).toBe(200);
    return { count: h.sql.length - before, statements: h.sql.slice(before), body: res.body };
  }

  it('loads a detail in the same number of statements (<= 2) with or without an organisation, selecting only its id, name, category', async () => {
    const org = await seedOrganisation(h, { name: 'Rich Corp', category: 'corporate', annualRevenue: 5e9 });
    const alone = (await createPerson(person())).body.id as number;
    const member = (await createPerson(person({ organisationId: org }))).body.id as number;

    const a = await countQueries(`/api/v1/people/${alone}`);
    const b = await countQueries(`/api/v1/people/${member}`);
    expect(a.body.organisation).toBeNull();
    expect(b.body.organisation).toEqual({ id: org, name: 'Rich Corp', category: 'corporate' });
    expect(b.count).toBe(a.count);
    expect(b.count).toBeLessThanOrEqual(2);
    const organisationSql = b.statements.filter((s) => /\borganisation\b/.test(s));
    expect(organisationSql.length).toBeGreaterThan(0);
    for (const s of organisationSql) {
      expect(s).not.toMatch(/annual_revenue|website|is_active/);
    }
  });

  it('loads a page of 100 people in as many statements as a page of 5', async () => {
    const org = await seedOrganisation(h, { name: 'Bulk' });
    const em = h.orm.em.fork();
    for (let i = 0; i < 120; i++) {
      em.create(Person, { firstName: `F${i}`, lastName: `L${i}`, email: `bulk${i}@n1.test`, organisation: em.getReference(Organisation, org) });
    }
    await em.flush();
    const a = await countQueries('/api/v1/people?limit=5');
    const b = await countQueries('/api/v1/people?limit=100');
    expect(b.body.items).toHaveLength(100);
    expect(b.count).toBe(a.count);
    expect(b.count).toBeLessThanOrEqual(2);
  });
});

describe('cascades', () => {
  it("deleting a person deletes their interactions", async () => {
    const { body: p } = await createPerson(person());
    const { body: other } = await createPerson(person());
    for (const personId of [p.id, p.id, other.id]) {
      const res = await request(h.app).post('/api/v1/interactions').set(h.auth('editor'))
        .send({ personId, type: 'call', subject: 'Hello', occurredAt: '2024-03-01T10:00:00Z' });
      expect(res.status).toBe(201);
    }
    expect(await h.orm.em.fork().count(Interaction, { person: p.id })).toBe(2);
    expect((await request(h.app).delete(`/api/v1/people/${p.id}`).set(h.auth('editor'))).status).toBe(204);
    expect(await h.orm.em.fork().count(Interaction, { person: p.id })).toBe(0);
    expect(await h.orm.em.fork().count(Interaction, { person: other.id })).toBe(1);
    expectProblem(await get(`/api/v1/people/${p.id}/interactions`), 404);
  });

  it('deleting an organisation sets organisationId to null on its people and interactions', async () => {
    const org = await seedOrganisation(h, { name: 'Doomed' });
    const { body: p } = await createPerson(person({ organisationId: org }));
    const { body: i } = await request(h.app).post('/api/v1/interactions').set(h.auth('editor'))
      .send({ personId: p.id, type: 'meeting', subject: 'Kick-off', occurredAt: '2024-03-01T10:00:00Z' });
    expect(i.organisationId).toBe(org);

    expect(await h.orm.em.fork().nativeDelete(Organisation, { id: org })).toBe(1);

    const detail = await get(`/api/v1/people/${p.id}`);
    expect(detail.body).toMatchObject({ id: p.id, organisationId: null, organisation: null });
    const interactions = await get(`/api/v1/people/${p.id}/interactions`);
    expect(interactions.body.items).toEqual([expect.objectContaining({ id: i.id, personId: p.id, organisationId: null })]);
    expect((await get(`/api/v1/interactions?organisationId=${org}`)).body.total).toBe(0);
  });
});
