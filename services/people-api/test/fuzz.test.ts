import { fuzzSuite } from '@crm/http/test-support';
import { truncateAll } from '@crm/database/testing';
import { startHarness } from './harness';

fuzzSuite({
  service: 'people-api',
  // No response cache: the properties are about input handling, and on a loaded machine a cache command timing out
  // makes DELETE /cache a legitimate 503 (a dependency down), which would make "no 5xx" flaky.
  start: () => startHarness(),
  execute: (h) => (sql) => h.orm.em.fork().getConnection().execute<Record<string, unknown>[]>(sql),
  // Three organisations, people and interactions with ids 1..3, so generated ids reach real rows.
  reset: async (h, execute) => {
    await truncateAll(h.orm);
    await execute(`insert into organisation (name, category) select 'Org ' || i, 'corporate' from generate_series(1, 3) i`);
    await execute(`insert into person (first_name, last_name, email, organisation_id)
      select 'First' || i, 'Last' || i, 'person' || i || '@example.com', i from generate_series(1, 3) i`);
    await execute(`insert into interaction (person_id, organisation_id, type, subject, occurred_at)
      select i, i, 'call', 'Subject ' || i, '2024-05-01T09:30:00Z' from generate_series(1, 3) i`);
  },
  operations: ['POST /api/v1/people', 'PATCH /api/v1/interactions/{id}', 'DELETE /api/v1/people/{id}', 'GET /api/v1/people/search'],
});
