import request from 'supertest';
import { Mandat, Organisation, Person } from '@crm/database';
import { contactJson, mandatJson, organisationJson } from '../src/serializers';
import { startHarness, type Harness } from './harness';

// The detail is built by PostgreSQL in one statement (src/detail.ts): it must render exactly what the entities'
// serializers render, for every kind of value: nulls, decimals, timestamps with microseconds, no mandats or contacts.
let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(() => h.close());

/** What the serializers render for organisation `id`, from entities read through the ORM. */
async function serialized(id: number) {
  const em = h.orm.em.fork();
  const organisation = await em.findOneOrFail(Organisation, id);
  const mandats = await em.find(Mandat, { organisation: id }, { orderBy: { id: 'asc' } });
  const contacts = await em.find(Person, { organisation: id }, { orderBy: { id: 'asc' } });
  return { ...organisationJson(organisation), mandats: mandats.map(mandatJson), contacts: contacts.map(contactJson) };
}

it('renders what the serializers render, value for value and key for key', async () => {
  const em = h.orm.em.fork();
  const full = em.create(Organisation, { name: 'Zoë & Co "quoted" \\ back', category: 'wholesale', email: 'z@co.test', website: 'https://co.test', country: 'FR', annualRevenue: 1234567890123.45 });
  const bare = em.create(Organisation, { name: 'Bare', category: 'other', annualRevenue: 0.1 });
  const none = em.create(Organisation, { name: 'No revenue', category: 'advisor', isActive: false });
  for (const [i, status] of (['active', 'terminated'] as const).entries()) {
    em.create(Mandat, { organisation: full, type: 'advisory', status, startDate: `2024-0${i + 1}-15`, ...(i ? { endDate: '2025-12-31' } : {}) });
  }
  em.create(Person, { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@co.test', title: 'CEO', organisation: full });
  em.create(Person, { firstName: 'Émile', lastName: "O'Brien", email: 'emile@co.test', organisation: full });
  await em.flush();
  // Timestamps with microseconds, as now() writes them: a JS Date keeps milliseconds only.
  await em.getConnection().execute("update organisation set created_at = '2024-03-01 10:00:00.123999+00', updated_at = '2024-03-01 10:00:00.000001+00' where id = ?", [full.id]);
  await em.getConnection().execute("update mandat set created_at = '2023-12-31 23:59:59.999999+00' where organisation_id = ?", [full.id]);

  for (const id of [full.id, bare.id, none.id]) {
    const res = await request(h.app).get(`/api/v1/organisations/${id}`).set(h.auth('reader'));
    expect(res.status).toBe(200);
    const expected = await serialized(id);
    expect(res.body).toEqual(expected);
    expect(Object.keys(res.body)).toEqual(Object.keys(expected));
  }
});

it('answers 404 for an organisation that does not exist', async () => {
  const res = await request(h.app).get('/api/v1/organisations/999999999').set(h.auth('reader'));
  expect(res.status).toBe(404);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
});
