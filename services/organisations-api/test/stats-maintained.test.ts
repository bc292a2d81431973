import request from 'supertest';
import { withClient } from '@crm/database/testing';
import { createRng } from '@crm/database';
import { startHarness, type Harness } from './harness';

/**
 * GET /organisations/stats reads the per-category sums the organisation triggers keep; /stats/live aggregates the
 * table. After random writes through the API and in bulk SQL, they agree to the cent.
 */
let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(() => h?.close());

const CATEGORIES = ['institution', 'wholesale', 'advisor', 'corporate', 'other'] as const;
// admin reads bypass the cache: each GET below computes its answer.
const stats = async (path: string) => {
  const res = await request(h.app).get(`/api/v1/organisations/${path}`).set(h.auth('admin'));
  expect(res.status).toBe(200);
  return res.body as unknown[];
};

it('the maintained stats equal the live aggregate after random creates, updates and deletes', async () => {
  const random = createRng(11);
  const rng = () => random.next();
  const pick = <T>(items: readonly T[]) => random.pick(items);
  const revenue = () => (rng() < 0.3 ? null : Math.round(rng() * 1e9) / 100);
  await withClient(h.env.DATABASE_URL, (c) => c.query(`insert into organisation (name, category, is_active, annual_revenue)
    select 'Bulk ' || i, (array['institution','wholesale','advisor','corporate','other'])[1 + i % 5], i % 3 <> 0,
           case when i % 4 = 0 then null else (i * 37.13)::numeric(18,2) end from generate_series(1, 500) as i`));
  const ids: number[] = [];
  for (let i = 0; i < 60; i++) {
    const action = rng();
    if (action < 0.4 || ids.length === 0) {
      const res = await request(h.app).post('/api/v1/organisations').set(h.auth('editor'))
        .send({ name: `Random ${i}`, category: pick(CATEGORIES), isActive: rng() < 0.7, annualRevenue: revenue() });
      expect(res.status).toBe(201);
      ids.push(res.body.id);
    } else if (action < 0.85) {
      const body = pick([{ category: pick(CATEGORIES) }, { isActive: rng() < 0.5 }, { annualRevenue: revenue() }, { name: `Renamed ${i}` }]);
      expect((await request(h.app).patch(`/api/v1/organisations/${pick(ids)}`).set(h.auth('editor')).send(body)).status).toBe(200);
    } else {
      const id = ids.splice(Math.floor(rng() * ids.length), 1)[0]!;
      expect((await request(h.app).delete(`/api/v1/organisations/${id}`).set(h.auth('editor'))).status).toBe(204);
    }
  }
  await withClient(h.env.DATABASE_URL, (c) => c.query(`update organisation set is_active = not is_active, annual_revenue = annual_revenue * 1.5
    where id % 7 = 0`));
  const live = await stats('stats/live');
  expect(live.length).toBe(5);
  expect(await stats('stats')).toEqual(live);
});
