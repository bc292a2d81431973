import { fuzzEveryRoute, tableDigest } from '@crm/http/test-support';
import { truncateAll } from '@crm/database';
import { startHarness, type Harness } from './harness';

let h: Harness;
// No response cache: the properties are about input handling, and on a loaded machine a cache command timing out
// makes DELETE /cache a legitimate 503 (a dependency down), which would make "no 5xx" flaky.
beforeAll(async () => { h = await startHarness(); });
afterAll(() => h.close());

const execute = (sql: string) => h.orm.em.fork().getConnection().execute<Record<string, unknown>[]>(sql);

/** Three organisations, people and interactions with ids 1..3, so generated ids reach real rows. */
async function reset(): Promise<void> {
  await truncateAll(h.orm);
  await execute(`insert into organisation (name, category) select 'Org ' || i, 'corporate' from generate_series(1, 3) i`);
  await execute(`insert into person (first_name, last_name, email, organisation_id)
    select 'First' || i, 'Last' || i, 'person' || i || '@example.com', i from generate_series(1, 3) i`);
  await execute(`insert into interaction (person_id, organisation_id, type, subject, occurred_at)
    select i, i, 'call', 'Subject ' || i, '2024-05-01T09:30:00Z' from generate_series(1, 3) i`);
}

describe('hostile requests to every people-api route', () => {
  it('never answer 5xx; every 4xx is problem+json and writes nothing', async () => {
    const report = await fuzzEveryRoute({
      app: h.app,
      tokens: { reader: h.token('reader'), editor: h.token('editor'), admin: h.token('admin') },
      reset,
      snapshot: tableDigest(execute),
    });
    // The run reached every part of the contract: the routes from the document, successes and each kind of refusal.
    expect(report.operations).toEqual(expect.arrayContaining(['POST /api/v1/people', 'PATCH /api/v1/interactions/{id}', 'DELETE /api/v1/people/{id}', 'GET /api/v1/people/search']));
    expect(Object.keys(report.statuses).map(Number)).toEqual(expect.arrayContaining([200, 201, 204, 400, 401, 403, 404, 415]));
  }, 120_000);
});
