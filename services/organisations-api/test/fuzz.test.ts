import { fuzzSuite } from '@crm/http/test-support';
import { truncateAll } from '@crm/database/testing';
import { startHarness } from './harness';

fuzzSuite({
  service: 'organisations-api',
  // No response cache: the properties are about input handling, and on a loaded machine a cache command timing out
  // makes DELETE /cache a legitimate 503 (a dependency down), which would make "no 5xx" flaky.
  start: () => startHarness(),
  execute: (h) => (sql) => h.orm.em.fork().getConnection().execute<Record<string, unknown>[]>(sql),
  // Three organisations, mandats and produits with ids 1..3, so generated ids reach real rows.
  reset: async (h, execute) => {
    await truncateAll(h.orm);
    await execute(`insert into organisation (name, category, country, annual_revenue, email)
      select 'Org ' || i, 'corporate', 'FR', i * 1000, 'org' || i || '@example.com' from generate_series(1, 3) i`);
    await execute(`insert into mandat (organisation_id, type, status, start_date) select i, 'advisory', 'active', '2024-01-01' from generate_series(1, 3) i`);
    await execute(`insert into produit (name, isin, category) select 'Fund ' || i, 'FR001031577' || i, 'equity' from generate_series(1, 3) i`);
  },
  operations: ['POST /api/v1/organisations', 'PATCH /api/v1/mandats/{id}', 'DELETE /api/v1/produits/{id}', 'GET /api/v1/organisations/search'],
});
