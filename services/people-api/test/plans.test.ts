import request from 'supertest';
import { listSeqScans, routeSeqScans, withClient } from '@crm/database/testing';
import { startHarness, type Harness } from './harness';

/**
 * Every people and interactions list and search statement, with every sort and filter, first page, deepest page
 * and cursor page, is planned on tables large enough that a sequential scan would cost: none may read one in full.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  await withClient(h.env.DATABASE_URL, async (seed) => {
    await seed.query(`insert into organisation (name, category) select 'Org ' || i, 'other' from generate_series(1, 2000) as i`);
    await seed.query(`insert into person (first_name, last_name, email, organisation_id, created_at)
      select 'First' || (i % 300), 'Last' || (i % 700), 'p' || i || '@example.test', (select min(id) from organisation) + i % 2000,
             now() - make_interval(secs => i)
      from generate_series(1, 20000) as i`);
    await seed.query(`insert into interaction (person_id, organisation_id, type, subject, occurred_at, created_at)
      select p.id, p.organisation_id, 'call', 'Call ' || i, now() - make_interval(secs => i * 7), now() - make_interval(secs => i)
      from generate_series(1, 50000) as i join person p on p.id = (select min(id) from person) + i % 20000`);
    await seed.query('analyze organisation, person, interaction');
  });
}, 180_000);
afterAll(() => h?.close());

const both = (fields: string[]) => fields.flatMap((f) => [f, `-${f}`]);

/**
 * The tables a list URL's page statements scan in full: first page, deepest page, and the second page by cursor.
 * `substring`: a 3+ character search over three columns, which PostgreSQL finds cheaper to scan at this test's
 * size; it is planned with sequential scans off, so it must at least have an index path (the trigram indexes).
 */
const seqScansOf = (path: string, substring = false) => listSeqScans(
  { orm: h.orm, databaseUrl: h.env.DATABASE_URL, get: (url) => request(h.app).get(url).set(h.auth('reader')) },
  path,
  { withoutSeqScan: substring },
);

describe('query plans of the list routes', () => {
  it('people lists and search use an index for every sort, filter and term length', async () => {
    const orgId = (await request(h.app).get('/api/v1/people?limit=1').set(h.auth('reader'))).body.items[0].organisationId as number;
    const found: string[] = [];
    for (const sort of both(['id', 'name', 'createdAt'])) {
      for (const filter of ['', `&organisationId=${orgId}`]) found.push(...await seqScansOf(`/api/v1/people?sort=${sort}${filter}`));
      for (const q of ['l', 'la', 'ast', 'st12', 'p1@']) found.push(...await seqScansOf(`/api/v1/people/search?sort=${sort}&q=${encodeURIComponent(q)}`, q.length >= 3));
    }
    expect(found).toEqual([]);
  }, 180_000);

  it('interaction lists use an index for every sort and filter, the default most-recent-first included', async () => {
    const someone = (await request(h.app).get('/api/v1/interactions?limit=1').set(h.auth('reader'))).body.items[0] as { personId: number; organisationId: number };
    const found: string[] = [];
    for (const sort of ['', ...both(['occurredAt', 'id', 'createdAt']).map((s) => `sort=${s}`)]) {
      for (const filter of ['', `&personId=${someone.personId}`, `&organisationId=${someone.organisationId}`, `&personId=${someone.personId}&organisationId=${someone.organisationId}`]) {
        found.push(...await seqScansOf(`/api/v1/interactions?${sort}${filter}`));
      }
      found.push(...await seqScansOf(`/api/v1/people/${someone.personId}/interactions?${sort}`));
    }
    expect(found).toEqual([]);
  }, 180_000);

  it('a person with their organisation, their interactions and one interaction read no large table in full', async () => {
    const someone = (await request(h.app).get('/api/v1/interactions?limit=1').set(h.auth('reader'))).body.items[0] as { id: number; personId: number };
    expect(await routeSeqScans(
      { orm: h.orm, databaseUrl: h.env.DATABASE_URL, get: (url) => request(h.app).get(url).set(h.auth('reader')) },
      [`/api/v1/people/${someone.personId}`, `/api/v1/people/${someone.personId}/interactions`, `/api/v1/interactions/${someone.id}`],
    )).toEqual([]);
  }, 60_000);
});
