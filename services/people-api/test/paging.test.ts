import request from 'supertest';
import { withClient } from '@crm/database/testing';
import { offsetIds as offsetIdsOf, walkCursors } from '@crm/http/test-support';
import { startHarness, type Harness } from './harness';

let h: Harness;
let personId: number;
beforeAll(async () => {
  h = await startHarness();
  await withClient(h.env.DATABASE_URL, async (seed) => {
    // Ties on the name sort's every key (last name, then first name), and occurrence times a microsecond apart.
    await seed.query(`insert into person (first_name, last_name, email, created_at)
      select 'F' || (i % 3), 'L' || (i % 4), 'p' || i || '@example.test', timestamptz '2024-01-01 00:00:00.5+00' + make_interval(secs => (i % 5) * 0.000001)
      from generate_series(1, 90) as i`);
    const { rows } = await seed.query<{ id: number }>('select min(id)::int as id from person');
    personId = rows[0]!.id;
    await seed.query(`insert into interaction (person_id, type, subject, occurred_at)
      select $1, 'call', 'Call ' || i, timestamptz '2024-03-01 10:00:00.250+00' + make_interval(secs => (i % 7) * 0.000001)
      from generate_series(1, 80) as i`, [personId]);
  });
});
afterAll(() => h?.close());

const get = (url: string) => request(h.app).get(url).set(h.auth('reader'));

const walk = (path: string, limit: number) => walkCursors(get, path, limit);
const offsetIds = (path: string) => offsetIdsOf(get, path);

describe('paging', () => {
  it('walks people by cursor in the order of the offset pages for every sort, search included', async () => {
    for (const sort of ['id', '-id', 'name', '-name', 'createdAt', '-createdAt']) {
      for (const path of [`/api/v1/people?sort=${sort}`, `/api/v1/people/search?q=example&sort=${sort}`, `/api/v1/people/search?q=l1&sort=${sort}`]) {
        const expected = await offsetIds(path);
        expect(expected.length).toBeGreaterThan(10);
        expect(await walk(path, 7)).toEqual(expected);
      }
    }
  }, 60_000);

  it('walks interactions by cursor for every sort, the default most-recent-first included', async () => {
    for (const sort of ['', 'sort=occurredAt', 'sort=-occurredAt', 'sort=id', 'sort=-createdAt']) {
      for (const path of [`/api/v1/interactions?${sort}`, `/api/v1/people/${personId}/interactions?${sort}`]) {
        const expected = await offsetIds(path);
        expect(expected).toHaveLength(80);
        expect(await walk(path, 9)).toEqual(expected);
      }
    }
  }, 60_000);
});
