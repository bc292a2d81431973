import { Client } from 'pg';
import { countKeys, readCount, seedDatabase, type CountKey } from '../src';
import { COUNTED } from '../src/migrations/004-list-counts';
import { ORGANISATION_STATS } from '../src/migrations/005-organisation-stats';
import { truncateAll, TEST_DATABASE_URL } from '../test-support';
import { useTestDatabase } from './fixture';

/**
 * The totals and stats the statement triggers keep (migrations 004, 005) equal what count(*) and avg() say of the
 * rows, after the seeder's bulk load and after concurrent writers insert, update (the filtered columns) and delete.
 */
const db = useTestDatabase(4);
const sql = db.sql;

/** Keys whose kept total differs from a recount of the table (each summary's own key function over every row). */
async function drift(): Promise<string[]> {
  const found: string[] = [];
  for (const counted of COUNTED) {
    const rows = await sql<{ list: string; key: string; kept: string | null; actual: string | null }>(
      `with actual as (select list, key, sum(delta) as n from (${counted.deltas(counted.table, '1')}) d group by list, key),
            kept as (select list, key, sum(n) as n from list_count
                     where list in (select distinct list from (${counted.deltas(counted.table, '1')}) d) or list like '${counted.table}%'
                     group by list, key having sum(n) <> 0)
       select list, key, kept.n as kept, actual.n as actual from actual full join kept using (list, key)
       where kept.n is distinct from actual.n`);
    found.push(...rows.map((r) => `${r.list} ${r.key}: kept ${r.kept}, actual ${r.actual}`));
  }
  return found;
}

/** The maintained stats and the aggregate over the table, as GET /organisations/stats and /stats/live compute them. */
async function stats() {
  const kept = await sql(`select category, sum(active_count)::int as count, round(sum(revenue_sum) / nullif(sum(revenue_count), 0), 2) as avg
         from ${ORGANISATION_STATS.name} group by category having sum(active_count) > 0 order by category`);
  const live = await sql(`select category, count(*)::int as count, round(avg(annual_revenue), 2) as avg from organisation where is_active group by category order by category`);
  return { kept, live };
}

/** What the routes read for their filters, against count(*) of the same filter. */
async function routeTotals(): Promise<{ key: CountKey | undefined; kept: number | undefined; actual: number }[]> {
  const checks: [CountKey | undefined, string, unknown[]][] = [];
  for (const category of [undefined, 'advisor', 'other']) {
    for (const activeOnly of [false, true]) {
      const where = [category ? 'category = $1' : 'true', activeOnly ? 'is_active' : 'true'].join(' and ');
      checks.push([countKeys.byCategory('organisation', { category, activeOnly }), `select count(*) from organisation where ${where}`, category ? [category] : []]);
    }
  }
  const [org] = await sql<{ id: number }>('select organisation_id as id from person where organisation_id is not null order by id limit 1');
  const [someone] = await sql<{ id: number }>('select person_id as id from interaction order by id limit 1');
  checks.push(
    [countKeys.byParent('person', {}), 'select count(*) from person', []],
    [countKeys.byParent('person', { organisation: org!.id }), 'select count(*) from person where organisation_id = $1', [org!.id]],
    [countKeys.byParent('mandat', { organisation: org!.id }), 'select count(*) from mandat where organisation_id = $1', [org!.id]],
    [countKeys.byParent('interaction', { person: someone!.id }), 'select count(*) from interaction where person_id = $1', [someone!.id]],
    [countKeys.byParent('interaction', { organisation: org!.id }), 'select count(*) from interaction where organisation_id = $1', [org!.id]],
    [countKeys.byParent('interaction', {}), 'select count(*) from interaction', []],
  );
  for (const q of ['a', 'Co', 'ent', 'ER', '%', 'é', 'l_', 'Éco', '😀a', '😀']) {
    const pattern = q.length >= 3 ? `%${q.replace(/[\\%_]/g, '\\$&')}%` : `${q.replace(/[\\%_]/g, '\\$&')}%`;
    checks.push([countKeys.search('organisation_search', q), q.length >= 3
      ? 'select count(*) from organisation where name ilike $1' : 'select count(*) from organisation where lower(name) like lower($1)', [pattern]]);
    checks.push([countKeys.search('person_search', q), q.length >= 3
      ? `select count(*) from person where person_search_text(first_name, last_name, email) ilike $1`
      : 'select count(*) from person where lower(first_name) like lower($1) or lower(last_name) like lower($1) or lower(email) like lower($1)', [pattern]]);
  }
  const totals = [];
  for (const [key, query, params] of checks) {
    totals.push({ key, kept: key ? await readCount(db.orm.em.fork(), key) : undefined, actual: Number((await sql<{ count: string }>(query, params))[0]!.count) });
  }
  return totals;
}

async function expectExact(): Promise<void> {
  expect(await drift()).toEqual([]);
  for (const t of await routeTotals()) expect({ key: t.key, total: t.kept ?? t.actual }).toEqual({ key: t.key, total: t.actual });
  const { kept, live } = await stats();
  expect(kept).toEqual(live);
}

const SEED = { organisations: 300, people: 1_200, mandats: 500, interactions: 2_500, produits: 40, seed: 7 };

describe('maintained counts', () => {
  it('the seeder leaves every total and stat equal to a recount (bulk COPY, indexes rebuilt or not)', async () => {
    await seedDatabase({ databaseUrl: TEST_DATABASE_URL, ...SEED });
    await seedDatabase({ databaseUrl: TEST_DATABASE_URL, ...SEED, seed: 8, rebuildIndexes: true });
    // Characters beyond ASCII and the BMP: keys are characters lower-cased by PostgreSQL, as ILIKE compares them.
    await sql(`insert into organisation (name, category) values ('Éco 😀a Énergie', 'other'), ('x😀ay', 'advisor'), ('😀😀', 'other')`);
    await sql(`insert into person (first_name, last_name, email) values ('Émile', '😀a', 'e1@x.test'), ('😀', 'Zoë', 'e2@x.test')`);
    expect(Number((await sql<{ n: string }>('select count(*) as n from list_count'))[0]!.n)).toBeGreaterThan(0);
    await expectExact();
  }, 60_000);

  it('stays exact under concurrent inserts, updates of the filtered columns, deletes and rollbacks', async () => {
    await seedDatabase({ databaseUrl: TEST_DATABASE_URL, ...SEED });
    const writers = await Promise.all(Array.from({ length: 6 }, async () => {
      const c = new Client({ connectionString: TEST_DATABASE_URL });
      await c.connect();
      return c;
    }));
    const STATEMENTS = [
      `insert into organisation (name, category, is_active, annual_revenue)
         select 'Concurrent ' || md5(random()::text), (array['institution','wholesale','advisor','corporate','other'])[1 + floor(random() * 5)::int],
                random() < 0.7, case when random() < 0.5 then round((random() * 1e6)::numeric, 2) end from generate_series(1, 1 + floor(random() * 5)::int)`,
      `update organisation set category = (array['advisor','other'])[1 + floor(random() * 2)::int], is_active = not is_active
         where id in (select id from organisation order by random() limit 3)`,
      `update organisation set annual_revenue = round((random() * 1e6)::numeric, 2), name = 'Renamed ' || md5(random()::text) where id in (select id from organisation order by random() limit 2)`,
      `delete from organisation where id in (select id from organisation order by random() limit 2)`,
      `update person set organisation_id = (select id from organisation order by random() limit 1), last_name = 'Moved' || floor(random() * 100)
         where id in (select id from person order by random() limit 3)`,
      `insert into interaction (person_id, organisation_id, type, subject, occurred_at)
         select id, organisation_id, 'call', 'Concurrent', now() from person where id in (select id from person order by random() limit 3)`,
      `delete from person where id in (select id from person order by random() limit 1)`,
      `insert into mandat (organisation_id, type, status, start_date) select id, 'advisory', 'active', current_date from organisation order by random() limit 2`,
      `update produit set is_active = not is_active, category = 'cat' || floor(random() * 3) where id in (select id from produit order by random() limit 2)`,
    ];
    await Promise.all(writers.map(async (c, w) => {
      for (let i = 0; i < 40; i++) {
        await c.query('begin');
        try {
          for (let s = 0; s < 3; s++) await c.query(STATEMENTS[(w * 7 + i * 3 + s) % STATEMENTS.length]!);
          await c.query(i % 5 === 4 ? 'rollback' : 'commit');
        } catch (error) {
          await c.query('rollback');
          // Random picks race: two writers lock rows in opposite orders, or one deletes what another refers to.
          if (!/deadlock detected|violates foreign key/.test(String(error))) throw error;
        }
      }
      await c.end();
    }));
    await expectExact();
  }, 60_000);

  it('is emptied with its tables by TRUNCATE', async () => {
    await seedDatabase({ databaseUrl: TEST_DATABASE_URL, ...SEED });
    await truncateAll(db.orm);
    expect(await sql('select * from list_count where n <> 0')).toEqual([]);
    expect(await sql('select * from organisation_stat where active_count <> 0')).toEqual([]);
  });
});
