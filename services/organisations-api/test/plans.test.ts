import request from 'supertest';
import { connectClient, recordStatements, sequentialScans } from '@crm/database';
import { startHarness, type Harness } from './harness';

/**
 * Every list and search statement, with every sort, first page, deepest page and cursor page, is planned on
 * tables large enough that a sequential scan would cost: none may read a large table in full.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  const seed = await connectClient(h.env.DATABASE_URL);
  try {
    await seed.query(`insert into organisation (name, category, is_active, created_at, updated_at)
      select 'Org ' || md5(i::text), (array['institution','wholesale','advisor','corporate','other'])[1 + i % 5], i % 10 <> 0,
             now() - make_interval(secs => i), now()
      from generate_series(1, 30000) as i`);
    await seed.query(`insert into mandat (organisation_id, type, status, start_date)
      select 1 + i % 50, 'advisory', 'active', date '2020-01-01' + (i % 1000) from generate_series(1, 30000) as i`);
    await seed.query(`insert into produit (name, category, is_active)
      select 'Produit ' || md5(i::text), 'cat' || (i % 20), i % 4 <> 0 from generate_series(1, 20000) as i`);
    await seed.query('analyze organisation, mandat, produit');
  } finally {
    await seed.end();
  }
}, 120_000);
afterAll(() => h?.close());

const SORTS = ['id', 'name', 'createdAt'];
const both = (fields: string[]) => fields.flatMap((f) => [f, `-${f}`]);

/** The statements a list URL sends for its first page, its deepest page and the page after the first by cursor. */
async function statementsOf(path: string): Promise<string[]> {
  const urls = [`${path}&limit=100`, `${path}&limit=100&page=101`];
  const first = await request(h.app).get(urls[0]!).set(h.auth('reader'));
  expect(first.status).toBe(200);
  if (first.body.nextCursor) urls.push(`${path}&limit=100&cursor=${first.body.nextCursor}`);
  const recorder = await recordStatements(h.orm);
  try {
    for (const url of urls) expect((await request(h.app).get(url).set(h.auth('reader'))).status).toBe(200);
  } finally {
    recorder.stop();
  }
  // The page statements; the count (every matching row, by definition) is bounded by the statement timeout.
  const pages = recorder.statements.filter((s) => /\blimit\b/i.test(s.sql));
  expect(pages.length).toBeGreaterThanOrEqual(urls.length);
  const scans = await sequentialScans(h.env.DATABASE_URL, pages);
  return scans.flatMap((s) => s.tables.map((table) => `${table}: ${s.sql}`));
}

describe('query plans of the list routes', () => {
  it('organisation lists use an index for every sort and filter', async () => {
    const seqScans: string[] = [];
    for (const sort of both(SORTS)) {
      for (const filter of ['', '&category=advisor', '&activeOnly=false', '&category=other&activeOnly=false']) {
        seqScans.push(...await statementsOf(`/api/v1/organisations?sort=${sort}${filter}`));
      }
    }
    expect(seqScans).toEqual([]);
  }, 120_000);

  it('organisation search uses an index for short and long terms with every sort', async () => {
    const seqScans: string[] = [];
    for (const sort of both(SORTS)) {
      for (const q of ['o', 'or', 'org 1a']) seqScans.push(...await statementsOf(`/api/v1/organisations/search?sort=${sort}&q=${encodeURIComponent(q)}`));
    }
    expect(seqScans).toEqual([]);
  }, 120_000);

  it("an organisation's mandats and the produits list use an index for every sort", async () => {
    const seqScans: string[] = [];
    for (const sort of both(['id', 'createdAt', 'startDate'])) seqScans.push(...await statementsOf(`/api/v1/organisations/1/mandats?sort=${sort}`));
    for (const sort of both(SORTS)) {
      for (const filter of ['', '&category=cat3', '&activeOnly=true']) seqScans.push(...await statementsOf(`/api/v1/produits?sort=${sort}${filter}`));
    }
    expect(seqScans).toEqual([]);
  }, 120_000);
});
