import { fuzzEveryRoute, tableDigest } from '@crm/http/test-support';
import { truncateAll } from '@crm/database';
import { startHarness, type Harness } from './harness';

let h: Harness;
// No response cache: the properties are about input handling, and on a loaded machine a cache command timing out
// makes DELETE /cache a legitimate 503 (a dependency down), which would make "no 5xx" flaky.
beforeAll(async () => { h = await startHarness(); });
afterAll(() => h.close());

const execute = (sql: string) => h.orm.em.fork().getConnection().execute<Record<string, unknown>[]>(sql);

/** Three organisations, mandats and produits with ids 1..3, so generated ids reach real rows. */
async function reset(): Promise<void> {
  await truncateAll(h.orm);
  await execute(`insert into organisation (name, category, country, annual_revenue, email)
    select 'Org ' || i, 'corporate', 'FR', i * 1000, 'org' || i || '@example.com' from generate_series(1, 3) i`);
  await execute(`insert into mandat (organisation_id, type, status, start_date) select i, 'advisory', 'active', '2024-01-01' from generate_series(1, 3) i`);
  await execute(`insert into produit (name, isin, category) select 'Fund ' || i, 'FR001031577' || i, 'equity' from generate_series(1, 3) i`);
}

describe('hostile requests to every organisations-api route', () => {
  it('never answer 5xx; every 4xx is problem+json and writes nothing', async () => {
    const report = await fuzzEveryRoute({
      app: h.app,
      tokens: { reader: h.token('reader'), editor: h.token('editor'), admin: h.token('admin') },
      reset,
      snapshot: tableDigest(execute),
    });
    // The run reached every part of the contract: the routes from the document, successes and each kind of refusal.
    expect(report.operations).toEqual(expect.arrayContaining(['POST /api/v1/organisations', 'PATCH /api/v1/mandats/{id}', 'DELETE /api/v1/produits/{id}', 'GET /api/v1/organisations/search']));
    expect(Object.keys(report.statuses).map(Number)).toEqual(expect.arrayContaining([200, 201, 204, 400, 401, 403, 404, 415]));
  }, 120_000);
});
