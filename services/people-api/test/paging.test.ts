import request from 'supertest';
import { connectClient } from '@crm/database';
import { startHarness, type Harness } from './harness';

let h: Harness;
let personId: number;
beforeAll(async () => {
  h = await startHarness();
  const seed = await connectClient(h.env.DATABASE_URL);
  try {
    // Ties on the name sort's every key (last name, then first name), and occurrence times a microsecond apart.
    await seed.query(`insert into person (first_name, last_name, email, created_at)
      select 'F' || (i % 3), 'L' || (i % 4), 'p' || i || '@example.test', timestamptz '2024-01-01 00:00:00.5+00' + make_interval(secs => (i % 5) * 0.000001)
      from generate_series(1, 90) as i`);
    const { rows } = await seed.query<{ id: number }>('select min(id)::int as id from person');
    personId = rows[0]!.id;
    await seed.query(`insert into interaction (person_id, type, subject, occurred_at)
      select $1, 'call', 'Call ' || i, timestamptz '2024-03-01 10:00:00.250+00' + make_interval(secs => (i % 7) * 0.000001)
      from generate_series(1, 80) as i`, [personId]);
  } finally {
    await seed.end();
  }
});
afterAll(() => h?.close());

const get = (url: string) => request(h.app).get(url).set(h.auth('reader'));

async function walk(path: string, limit: number): Promise<number[]> {
  const sep = path.includes('?') ? '&' : '?';
  const ids: number[] = [];
  let res = await get(`${path}${sep}limit=${limit}`);
  for (;;) {
    expect(res.status).toBe(200);
    ids.push(...res.body.items.map((o: { id: number }) => o.id));
    // A cursor that repeats rows would walk forever: stop well past any list here.
    if (!res.body.nextCursor || ids.length > 1_000) return ids;
    res = await get(`${path}${sep}limit=${limit}&cursor=${res.body.nextCursor}`);
  }
}

async function offsetIds(path: string): Promise<number[]> {
  const res = await get(`${path}${path.includes('?') ? '&' : '?'}limit=500`);
  expect(res.status).toBe(200);
  return res.body.items.map((o: { id: number }) => o.id);
}

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
