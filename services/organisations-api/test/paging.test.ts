import request from 'supertest';
import { withClient } from '@crm/database/testing';
import { MAX_OFFSET } from '@crm/http';
import { walkCursors } from '@crm/http/test-support';
import { startHarness, type Harness } from './harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  await withClient(h.env.DATABASE_URL, async (seed) => {
    // Ties everywhere: 12 names, creation times shared by pairs of rows or a microsecond apart in one millisecond.
    await seed.query(`insert into organisation (name, category, is_active, created_at, updated_at)
      select 'Name ' || (i % 12), (array['institution','wholesale','advisor','corporate','other'])[1 + i % 5], i % 7 <> 0,
             timestamptz '2024-01-01 00:00:00.123456+00' + make_interval(secs => (i / 2) * 0.000001 + (i % 3)), now()
      from generate_series(1, 230) as i`);
    await seed.query(`insert into mandat (organisation_id, type, status, start_date)
      select (select min(id) from organisation), 'advisory', 'active', date '2024-01-01' + (i % 9) from generate_series(1, 40) as i`);
  });
});
afterAll(() => h?.close());

const get = (url: string) => request(h.app).get(url).set(h.auth('reader'));

/** Every id of a list, walked with cursors `limit` at a time; a page fetched by cursor has no page number. */
const walk = (path: string, limit: number) => walkCursors(get, path, limit, (res) => expect(res.body.page).toBeNull());

const SORTS = ['id', '-id', 'name', '-name', 'createdAt', '-createdAt'];

describe('paging', () => {
  it('walking with cursors gives every row once, in the order of the offset pages, for every sort and filter', async () => {
    for (const sort of SORTS) {
      for (const filter of ['', '&category=advisor', '&activeOnly=false']) {
        const path = `/api/v1/organisations?sort=${sort}${filter}`;
        const all = await get(`${path}&limit=500`);
        expect(all.body.nextCursor).toBeNull();
        const expected = all.body.items.map((o: { id: number }) => o.id);
        expect(expected.length).toBeGreaterThan(20);
        expect(await walk(path, 7)).toEqual(expected);
      }
    }
    for (const sort of ['startDate', '-startDate', 'createdAt', '-id']) {
      const path = `/api/v1/organisations/${(await get('/api/v1/organisations?limit=1&activeOnly=false')).body.items[0].id}/mandats?sort=${sort}`;
      const expected = (await get(`${path}&limit=500`)).body.items.map((m: { id: number }) => m.id);
      expect(expected).toHaveLength(40);
      expect(await walk(path, 6)).toEqual(expected);
    }
    for (const sort of SORTS) {
      const path = `/api/v1/organisations/search?q=${encodeURIComponent('name 1')}&sort=${sort}`;
      const expected = (await get(`${path}&limit=500`)).body.items.map((o: { id: number }) => o.id);
      expect(await walk(path, 5)).toEqual(expected);
    }
  }, 60_000);

  it('answers the next cursor with the page, and null on the last page', async () => {
    const first = await get('/api/v1/organisations?limit=100&activeOnly=false');
    expect(first.body).toMatchObject({ total: 230, page: 1, limit: 100, pages: 3, nextCursor: expect.stringMatching(/^[A-Za-z0-9_-]+$/) });
    const last = await get('/api/v1/organisations?limit=100&activeOnly=false&page=3');
    expect(last.body).toMatchObject({ page: 3, nextCursor: null });
    expect(last.body.items).toHaveLength(30);
  });

  it('refuses a page that starts beyond the offset cap with a 400 naming page', async () => {
    expect((await get(`/api/v1/organisations?limit=100&page=${MAX_OFFSET / 100 + 1}`)).status).toBe(200);
    for (const url of [`/api/v1/organisations?limit=100&page=${MAX_OFFSET / 100 + 2}`, '/api/v1/organisations?page=1000000', '/api/v1/organisations/search?q=ab&limit=500&page=22']) {
      const res = await get(url);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.errors).toEqual([expect.objectContaining({ path: 'query.page' })]);
    }
  });

  it('refuses a malformed, altered or foreign cursor, or one with page, with a 400 naming cursor', async () => {
    const { body } = await get('/api/v1/organisations?limit=5&sort=name');
    const cursor = body.nextCursor as string;
    const decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString());
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const bad = [
      `cursor=${cursor}&page=1&sort=name`,
      `cursor=${cursor}&sort=-name`, // issued for another sort
      'cursor=!!!&sort=name',
      'cursor=AAAA&sort=name',
      `cursor=${cursor}A&sort=name`,
      `cursor=${encode({ ...decoded, k: [decoded.k[0], 'x'] })}&sort=name`,
      `cursor=${encode({ ...decoded, k: [decoded.k[0], 0] })}&sort=name`,
      `cursor=${encode({ ...decoded, k: [decoded.k[0]] })}&sort=name`,
      `cursor=${encode({ ...decoded, k: ['x'.repeat(256), 1] })}&sort=name`,
      `cursor=${encode({ ...decoded, extra: 1 })}&sort=name`,
      `cursor=${encode([1, 2])}&sort=name`,
      `cursor=${encode({ s: 'createdAt', k: ['2024-13-45T00:00:00Z', 1] })}&sort=createdAt`,
      `cursor=${encode({ s: 'createdAt', k: [1, 1] })}&sort=createdAt`,
      `cursor=${Buffer.from([0xff, 0xfe, 0x7b]).toString('base64url')}&sort=name`,
      `cursor=${'A'.repeat(5000)}`,
    ];
    for (const query of bad) {
      const res = await get(`/api/v1/organisations?${query}`);
      expect({ query, status: res.status }).toEqual({ query, status: 400 });
      expect(res.body.errors).toEqual([expect.objectContaining({ path: 'query.cursor' })]);
    }
    // An altered but well-formed key is only another starting point: a 200, never a 500.
    const moved = await get(`/api/v1/organisations?cursor=${encode({ ...decoded, k: ['Name 5', 1] })}&sort=name&limit=5`);
    expect(moved.status).toBe(200);
    expect(moved.body.items.every((o: { name: string }) => o.name >= 'Name 5')).toBe(true);
  });
});
