import request from 'supertest';
import { listSeqScans, routeSeqScans, withClient } from '@crm/database/testing';
import { startHarness, type Harness } from './harness';

/**
 * Every list and search statement, with every sort, first page, deepest page and cursor page, is planned on
 * tables large enough that a sequential scan would cost: none may read a large table in full.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  await withClient(h.env.DATABASE_URL, async (seed) => {
    await seed.query(`insert into organisation (name, category, is_active, created_at, updated_at)
      select 'Org ' || md5(i::text), (array['institution','wholesale','advisor','corporate','other'])[1 + i % 5], i % 10 <> 0,
             now() - make_interval(secs => i), now()
      from generate_series(1, 30000) as i`);
    await seed.query(`insert into mandat (organisation_id, type, status, start_date)
      select 1 + i % 50, 'advisory', 'active', date '2020-01-01' + (i % 1000) from generate_series(1, 30000) as i`);
    await seed.query(`insert into produit (name, category, is_active)
      select 'Produit ' || md5(i::text), 'cat' || (i % 20), i % 4 <> 0 from generate_series(1, 20000) as i`);
    await seed.query('analyze organisation, mandat, produit');
  });
}, 120_000);
afterAll(() => h?.close());

const SORTS = ['id', 'name', 'createdAt'];
const both = (fields: string[]) => fields.flatMap((f) => [f, `-${f}`]);

const api = () => ({ orm: h.orm, databaseUrl: h.env.DATABASE_URL, get: (url: string) => request(h.app).get(url).set(h.auth('reader')) });
/** The large tables a list URL's statements, its total's included, scan in full (see listSeqScans). */
const statementsOf = (path: string, withoutSeqScan = false) => listSeqScans(api(), path, { withoutSeqScan });

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
      // 1-2 characters: a prefix; 'org': in every name; 'org 1a': a longer term, counted with the trigram index.
      for (const q of ['o', 'or', 'org', 'org 1a']) seqScans.push(...await statementsOf(`/api/v1/organisations/search?sort=${sort}&q=${encodeURIComponent(q)}`));
      // A rarer term: names here are hex digits, 16 letters whose every trigram is common, so at this size PostgreSQL
      // finds a scan cheaper; planned with sequential scans off, it must at least have an index path (as for people).
      seqScans.push(...await statementsOf(`/api/v1/organisations/search?sort=${sort}&q=f0e`, true));
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

  it('stats, an organisation with its mandats and contacts, one mandat and one produit read no large table in full', async () => {
    expect(await routeSeqScans(api(), [
      '/api/v1/organisations/stats', '/api/v1/organisations/1', '/api/v1/organisations/1/mandats', '/api/v1/mandats/1', '/api/v1/produits/1',
    ])).toEqual([]);
  }, 60_000);
});
