import request from 'supertest';
import { Mandat, Organisation, Person } from '@crm/database';
import { startHarness, type Harness } from './harness';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(() => h.close());

const create = (body: Record<string, unknown>) =>
  request(h.app).post('/api/v1/organisations').set(h.auth('editor')).send(body);

describe('organisations CRUD', () => {
  it('creates, reads, updates and deletes an organisation', async () => {
    const created = await create({ name: 'Acme Bank', category: 'institution', email: 'contact@acme.test', country: 'FR', annualRevenue: 1500000.5, website: 'https://acme.test' });
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe(`/api/v1/organisations/${created.body.id}`);
    expect(created.body).toMatchObject({ name: 'Acme Bank', category: 'institution', isActive: true, email: 'contact@acme.test', country: 'FR', annualRevenue: 1500000.5 });
    expect(new Date(created.body.createdAt).toISOString()).toBe(created.body.createdAt);

    const id = created.body.id as number;
    const detail = await request(h.app).get(`/api/v1/organisations/${id}`).set(h.auth('reader'));
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({ id, name: 'Acme Bank', mandats: [], contacts: [] });

    const patched = await request(h.app).patch(`/api/v1/organisations/${id}`).set(h.auth('editor')).send({ name: 'Acme Group', isActive: false });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ id, name: 'Acme Group', isActive: false, country: 'FR' });
    expect(new Date(patched.body.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(created.body.updatedAt).getTime());

    const deleted = await request(h.app).delete(`/api/v1/organisations/${id}`).set(h.auth('editor'));
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    const gone = await request(h.app).get(`/api/v1/organisations/${id}`).set(h.auth('reader'));
    expect(gone.status).toBe(404);
    expect(gone.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect((await request(h.app).delete(`/api/v1/organisations/${id}`).set(h.auth('editor'))).status).toBe(404);
  });

  it('deleting an organisation deletes its mandats and detaches its people', async () => {
    const { body: org } = await create({ name: 'Doomed', category: 'other' });
    const mandat = await request(h.app).post(`/api/v1/organisations/${org.id}/mandats`).set(h.auth('editor'))
      .send({ type: 'advisory', status: 'active', startDate: '2024-01-01' });
    expect(mandat.status).toBe(201);
    const em = h.orm.em.fork();
    const person = em.create(Person, { firstName: 'Al', lastName: 'Ive', email: 'al@doomed.test', organisation: em.getReference(Organisation, org.id) });
    await em.flush();

    expect((await request(h.app).delete(`/api/v1/organisations/${org.id}`).set(h.auth('editor'))).status).toBe(204);
    expect((await request(h.app).patch(`/api/v1/mandats/${mandat.body.id}`).set(h.auth('editor')).send({ status: 'terminated' })).status).toBe(404);
    const after = await h.orm.em.fork().findOneOrFail(Person, person.id);
    expect(after.organisation).toBeNull();
  });

  it('lists active organisations by default, filters by category, paginates and sorts', async () => {
    await h.orm.em.getConnection().execute('truncate organisation restart identity cascade');
    for (const [name, category, isActive] of [['b', 'advisor', true], ['a', 'advisor', true], ['c', 'corporate', true], ['d', 'advisor', false]] as const) {
      expect((await create({ name, category, isActive })).status).toBe(201);
    }
    const all = await request(h.app).get('/api/v1/organisations').set(h.auth('reader'));
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({ total: 3, page: 1, limit: 100, pages: 1 });
    expect(all.body.items.map((o: { name: string }) => o.name)).toEqual(['b', 'a', 'c']);

    const withInactive = await request(h.app).get('/api/v1/organisations?activeOnly=false&category=advisor&sort=-name').set(h.auth('reader'));
    expect(withInactive.body.items.map((o: { name: string }) => o.name)).toEqual(['d', 'b', 'a']);

    const page2 = await request(h.app).get('/api/v1/organisations?limit=2&page=2&sort=name').set(h.auth('reader'));
    expect(page2.body).toMatchObject({ total: 3, page: 2, limit: 2, pages: 2 });
    expect(page2.body.items.map((o: { name: string }) => o.name)).toEqual(['c']);
  });

  it('searches names case-insensitively, taking % and _ literally', async () => {
    await h.orm.em.getConnection().execute('truncate organisation restart identity cascade');
    for (const name of ['100% Capital', '100 Capital', 'Fund_One', 'FundXOne', 'Alpha Advisors']) {
      await create({ name, category: 'other' });
    }
    const search = async (q: string) => {
      const res = await request(h.app).get('/api/v1/organisations/search').query({ q }).set(h.auth('reader'));
      expect(res.status).toBe(200);
      return (res.body.items as { name: string }[]).map((o) => o.name).sort();
    };
    expect(await search('100%')).toEqual(['100% Capital']);
    expect(await search('d_o')).toEqual(['Fund_One']);
    expect(await search('ALPHA')).toEqual(['Alpha Advisors']);
    expect(await search('capital')).toEqual(['100 Capital', '100% Capital']);
    expect(await search('\\')).toEqual([]);
  });

  it('computes stats with one aggregate query, matching a direct SQL computation', async () => {
    await h.orm.em.getConnection().execute('truncate organisation restart identity cascade');
    const rows = [
      ['advisor', 100, true], ['advisor', 201.25, true], ['advisor', null, true], ['advisor', 9999, false],
      ['corporate', 50, true], ['institution', null, true],
    ] as const;
    for (const [category, annualRevenue, isActive] of rows) await create({ name: `${category}-${annualRevenue}`, category, annualRevenue, isActive });

    const before = h.sql.length;
    const res = await request(h.app).get('/api/v1/organisations/stats').set(h.auth('reader'));
    expect(res.status).toBe(200);
    expect(h.sql.length - before).toBe(1);

    const direct: { category: string; count: string; avg: string | null }[] = await h.orm.em.getConnection().execute(
      'select category, count(*) as count, avg(annual_revenue) as avg from organisation where is_active group by category order by category',
    );
    expect(res.body).toEqual(direct.map((d) => ({
      category: d.category, count: Number(d.count), avgAnnualRevenue: d.avg === null ? null : Math.round(Number(d.avg) * 100) / 100,
    })));
    expect(res.body).toEqual([
      { category: 'advisor', count: 3, avgAnnualRevenue: 150.63 },
      { category: 'corporate', count: 1, avgAnnualRevenue: 50 },
      { category: 'institution', count: 1, avgAnnualRevenue: null },
    ]);
    const live = await request(h.app).get('/api/v1/organisations/stats/live').set(h.auth('reader'));
    expect(live.body).toEqual(res.body);
  });
});

describe('no N+1 queries', () => {
  let seeded = 0;
  async function seedOrganisation(mandats: number, contacts: number): Promise<number> {
    seeded++;
    const em = h.orm.em.fork();
    const org = em.create(Organisation, { name: `org-${mandats}-${contacts}`, category: 'corporate' });
    for (let i = 0; i < mandats; i++) em.create(Mandat, { organisation: org, type: 'distribution', status: 'active', startDate: '2023-01-01' });
    for (let i = 0; i < contacts; i++) em.create(Person, { firstName: `F${i}`, lastName: `L${i}`, email: `p${i}-${seeded}@n1.test`, phone: '+33 1', organisation: org });
    await em.flush();
    return org.id;
  }

  async function countQueries(url: string): Promise<{ count: number; statements: string[]; body: any }> {
    const before = h.sql.length;
    const res = await request(h.app).get(url).set(h.auth('reader'));
    expect(res.status).toBe(200);
    return { count: h.sql.length - before, statements: h.sql.slice(before), body: res.body };
  }

  it('loads a detail with 50 mandats and 50 contacts in as many statements as one with 1 of each', async () => {
    const small = await seedOrganisation(1, 1);
    const large = await seedOrganisation(50, 50);
    const a = await countQueries(`/api/v1/organisations/${small}`);
    const b = await countQueries(`/api/v1/organisations/${large}`);
    expect(b.body.mandats).toHaveLength(50);
    expect(b.body.contacts).toHaveLength(50);
    expect(b.count).toBe(a.count);
    expect(b.count).toBe(1);
    // Contacts select only the columns the detail shows.
    expect(b.statements[0]).toMatch(/from person/);
    expect(b.statements[0]).not.toMatch(/phone/);
    expect(Object.keys(b.body.contacts[0]).sort()).toEqual(['email', 'firstName', 'id', 'lastName', 'title']);
  });

  it('loads a page of 100 in as many statements as a page of 5', async () => {
    for (let i = 0; i < 10; i++) await seedOrganisation(2, 2);
    const em = h.orm.em.fork();
    for (let i = 0; i < 120; i++) em.create(Organisation, { name: `bulk-${i}`, category: 'other' });
    await em.flush();
    const a = await countQueries('/api/v1/organisations?limit=5');
    const b = await countQueries('/api/v1/organisations?limit=100');
    expect(b.body.items).toHaveLength(100);
    expect(b.count).toBe(a.count);
    expect(b.count).toBeLessThanOrEqual(2);
  });
});
