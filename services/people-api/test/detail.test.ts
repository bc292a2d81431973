import request from 'supertest';
import { Organisation, Person } from '@crm/database';
import { organisationSummaryJson, personJson } from '../src/serializers';
import { startHarness, type Harness } from './harness';

// The detail is built by PostgreSQL in one statement (src/detail.ts): it must render exactly what the entities'
// serializers render, with and without an organisation, with nulls and timestamps with microseconds.
let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(() => h.close());

/** What the serializers render for person `id`, from entities read through the ORM. */
async function serialized(id: number) {
  const person = await h.orm.em.fork().findOneOrFail(Person, id, { populate: ['organisation'] });
  return { ...personJson(person), organisation: person.organisation ? organisationSummaryJson(person.organisation) : null };
}

it('renders what the serializers render, value for value and key for key', async () => {
  const em = h.orm.em.fork();
  const org = em.create(Organisation, { name: 'Zoë & Co "quoted"', category: 'corporate', annualRevenue: 5e9 });
  const member = em.create(Person, { firstName: 'Émile', lastName: "O'Brien", email: 'emile@detail.test', phone: '+33 1', title: 'CEO', organisation: org });
  const alone = em.create(Person, { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@detail.test' });
  await em.flush();
  // Timestamps with microseconds, as now() writes them: a JS Date keeps milliseconds only.
  await em.getConnection().execute("update person set created_at = '2024-03-01 10:00:00.123999+00', updated_at = '2024-03-01 10:00:00.000001+00' where id = ?", [member.id]);

  for (const id of [member.id, alone.id]) {
    const res = await request(h.app).get(`/api/v1/people/${id}`).set(h.auth('reader'));
    expect(res.status).toBe(200);
    const expected = await serialized(id);
    expect(res.body).toEqual(expected);
    expect(Object.keys(res.body)).toEqual(Object.keys(expected));
  }
});
