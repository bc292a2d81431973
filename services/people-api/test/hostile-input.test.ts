import request from 'supertest';
import { countRows, expectProblem, seedOrganisation, startHarness, type Harness } from './harness';

let h: Harness;
let personId: number;
beforeAll(async () => {
  h = await startHarness();
  const orgId = await seedOrganisation(h, { name: 'Hostile Org' });
  personId = (await request(h.app).post('/api/v1/people').set(h.auth('editor')).send({ firstName: 'Ada', lastName: 'L', email: 'ada@example.com', organisationId: orgId })).body.id;
});
afterAll(() => h.close());

/** Rows of every table this API writes, and the outbox: a refused request must leave them all as they were. */
async function snapshot(): Promise<string> {
  const rows = await h.orm.em.getConnection().execute<{ t: string }[]>(`select concat_ws('|',
    (select string_agg(p::text, ',' order by id) from person p), (select string_agg(i::text, ',' order by id) from interaction i),
    (select count(*) from cache_outbox)) as t`);
  return rows[0]!.t;
}

const interaction = (occurredAt: string) => ({ personId, type: 'call', subject: 'Hello', occurredAt });

describe('timestamps PostgreSQL cannot store or JSON cannot round-trip', () => {
  it.each(['0000-01-01T00:00:00Z', '0000-12-31T23:59:59+00:00', '9999-12-31T23:00:00-05:00', '10000-01-01T00:00:00Z', '+275760-09-13T00:00:00Z'])(
    'refuses occurredAt %s with a 400 naming the field, and writes nothing', async (occurredAt) => {
      const before = await snapshot();
      const res = await request(h.app).post('/api/v1/interactions').set(h.auth('editor')).send(interaction(occurredAt));
      expect(expectProblem(res, 400)).toEqual(['occurredAt']);
      expect(await snapshot()).toBe(before);
    },
  );

  it('refuses it on update too', async () => {
    const created = await request(h.app).post('/api/v1/interactions').set(h.auth('editor')).send(interaction('2024-05-01T09:30:00Z'));
    const res = await request(h.app).patch(`/api/v1/interactions/${created.body.id}`).set(h.auth('editor')).send({ occurredAt: '0000-06-01T00:00:00Z' });
    expect(expectProblem(res, 400)).toEqual(['occurredAt']);
  });

  it.each(['0001-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z'])('stores and returns the edge %s', async (occurredAt) => {
    const res = await request(h.app).post('/api/v1/interactions').set(h.auth('editor')).send(interaction(occurredAt));
    expect(res.status).toBe(201);
    expect(res.body.occurredAt).toBe(occurredAt);
    const read = await request(h.app).get(`/api/v1/people/${personId}/interactions?limit=500`).set(h.auth('admin'));
    expect(read.body.items).toContainEqual(expect.objectContaining({ id: res.body.id, occurredAt }));
  });
});

describe('NUL characters, lone surrogates and malformed percent-encoding', () => {
  it.each(['/people/%ED%A0%80', '/interactions/%zz', '/people/%ff/interactions', '/people/%C0%AF'])('GET %s answers 400', async (path) => {
    expect(expectProblem(await request(h.app).get(`/api/v1${path}`).set(h.auth('reader')), 400)).toEqual(['params']);
  });

  it('refuses NUL in a search term and in query filters', async () => {
    expect(expectProblem(await request(h.app).get('/api/v1/people/search?q=a%00b').set(h.auth('reader')), 400)).toEqual(['query.q']);
    expect(expectProblem(await request(h.app).get('/api/v1/people?organisationId=1%00').set(h.auth('reader')), 400)).toEqual(['query.organisationId']);
  });

  it.each(['%01', 'ab%01cd', 'a%09b', 'x%7F'])('refuses the control characters in search term %s (fields are joined by one to search them)', async (q) => {
    expect(expectProblem(await request(h.app).get(`/api/v1/people/search?q=${q}`).set(h.auth('reader')), 400)).toEqual(['query.q']);
  });

  it('refuses NUL and lone surrogates in body fields, and writes nothing', async () => {
    const before = await snapshot();
    const people = () => request(h.app).post('/api/v1/people').set(h.auth('editor'));
    expect(expectProblem(await people().send({ firstName: 'A\u0000', lastName: 'B', email: 'nul@example.com' }), 400)).toEqual(['firstName']);
    expect(expectProblem(await people().send({ firstName: 'A', lastName: '\uDFFF', email: 'lone@example.com' }), 400)).toEqual(['lastName']);
    const notes = await request(h.app).post('/api/v1/interactions').set(h.auth('editor')).send({ ...interaction('2024-01-01T00:00:00Z'), notes: 'x\u0000y' });
    expect(expectProblem(notes, 400)).toEqual(['notes']);
    const patch = await request(h.app).patch(`/api/v1/people/${personId}`).set(h.auth('editor')).send({ title: 'Dr\u0000' });
    expect(expectProblem(patch, 400)).toEqual(['title']);
    expect(await snapshot()).toBe(before);
    expect(await countRows(h, 'person')).toBe(1);
  });
});
