/**
 * What PostgreSQL says a page shows, for the page checker (./pages.ts), read cheaply enough to run after each
 * of its writes without weighing on the phase's database figures.
 *
 * The checker owns some organisations: their names carry its marker, and nothing else writes them. A view
 * projects an answer onto what the checker owns (its own organisations on the page, in their order; the page's
 * `total`; the stats' rows) and computes the same projection from PostgreSQL: the owned rows (one
 * trigram-indexed statement, returning a handful of rows) plus the rest of the table, counted once before the
 * phase (`readBase`): the mix only renames, so those counts hold all phase long. `readBase` again after the
 * phase says whether they did (the checker reports a drift otherwise), and in the no-cache phase every read
 * goes to PostgreSQL, so any mismatch there is the model's error, counted apart (`uncachedMismatches`).
 */
import type { ApiAnswer } from './api';
import type { Pg } from './counters';
import type { ClassName } from './workload';

/** One of the checker's organisations as PostgreSQL has it. */
export interface OwnedRow { id: number; name: string; category: string; isActive: boolean }

/** The rest of the table: per category and activity, the count and the average annual revenue. */
export type Base = Map<string, { n: number; avg: number | null }>;

const cell = (category: string, active: boolean) => `${category}|${active}`;
const containing = (marker: string) => `%${marker}%`;

/** Counts and average revenue of the organisations whose name does not carry `marker` (a full scan: outside the measured window). */
export async function readBase(pg: Pg, marker: string): Promise<Base> {
  const rows = await pg.em.getConnection().execute<{ category: string; active: boolean; n: number; avg: string | null }[]>(
    `select category, is_active as active, count(*)::int as n, round(avg(annual_revenue), 2)::text as avg
       from organisation where name not like ? group by category, is_active`,
    [containing(marker)],
  );
  return new Map(rows.map((r) => [cell(r.category, r.active), { n: r.n, avg: r.avg === null ? null : Number(r.avg) }]));
}

/** The base's cells that differ between two readings. */
export function baseDrift(before: Base, after: Base): string[] {
  const keys = [...new Set([...before.keys(), ...after.keys()])].sort();
  return keys.filter((k) => JSON.stringify(before.get(k) ?? null) !== JSON.stringify(after.get(k) ?? null))
    .map((k) => `${k}: ${JSON.stringify(before.get(k) ?? null)} -> ${JSON.stringify(after.get(k) ?? null)}`);
}

/** The checker's organisations, newest first (the order of `sort=-createdAt`). */
export async function readOwned(pg: Pg, marker: string): Promise<OwnedRow[]> {
  return pg.em.getConnection().execute<OwnedRow[]>(
    'select id, name, category, is_active as "isActive" from organisation where name like ? order by created_at desc, id desc',
    [containing(marker)],
  );
}

/** A page the checker reads after its writes, with its projection and its truth. */
export interface View {
  cls: ClassName;
  /** What the report calls it: the route and how the page relates to the write. */
  name: string;
  service: 'organisations' | 'people';
  /** Path and query under the service's origin. */
  path: string;
  /** The answer projected onto what the checker owns. */
  project: (answer: ApiAnswer) => unknown;
  /** The same projection, from PostgreSQL's rows. */
  truth: (owned: OwnedRow[], base: Base) => unknown;
}

type Item = { id: number; name: string; category: string; isActive: boolean };
const tuple = (o: Item) => [o.id, o.name, o.category, o.isActive];

/** The views of the checker that owns the organisations whose names carry `marker`. */
export function viewsOf(marker: string) {
  const owns = (o: Item) => typeof o?.name === 'string' && o.name.includes(marker);
  // A page's total and the owned entities it shows, in its order; a failed read projects to its status.
  const page = (a: ApiAnswer) => (a.status === 200 ? { total: a.json.total, items: (a.json.items as Item[]).filter(owns).map(tuple) } : a.status);
  const baseCount = (base: Base, category: string | undefined, activeOnly: boolean) => {
    let n = 0;
    for (const [key, { n: count }] of base) {
      const [c, active] = key.split('|');
      if ((!category || c === category) && (!activeOnly || active === 'true')) n += count;
    }
    return n;
  };
  return {
    /**
     * A list page: `sort=-createdAt` shows the checker's organisations first (they are the table's newest);
     * the default sort (id) never shows them on page 1 (thousands of older ids per category come first).
     */
    list: (name: string, category: string | undefined, activeOnly: boolean, sort: '-createdAt' | 'id'): View => ({
      cls: 'org list', name, service: 'organisations',
      path: `/api/v1/organisations?limit=20&page=1&activeOnly=${activeOnly}${category ? `&category=${category}` : ''}${sort === 'id' ? '' : '&sort=-createdAt'}`,
      project: page,
      truth: (owned, base) => {
        const matching = owned.filter((r) => (!category || r.category === category) && (!activeOnly || r.isActive));
        return { total: baseCount(base, category, activeOnly) + matching.length, items: sort === 'id' ? [] : matching.map(tuple) };
      },
    }),
    /** A search whose term carries the marker: it matches the checker's organisations only. */
    search: (name: string, q: string): View => ({
      cls: 'org search', name, service: 'organisations',
      path: `/api/v1/organisations/search?q=${encodeURIComponent(q)}&limit=20`,
      project: page,
      truth: (owned) => {
        const matching = owned.filter((r) => r.name.toLowerCase().includes(q.toLowerCase())).sort((a, b) => a.id - b.id);
        return { total: matching.length, items: matching.map(tuple) };
      },
    }),
    /** The stats: count and average revenue per category over active organisations (the checker's have no revenue). */
    stats: (): View => ({
      cls: 'org stats', name: 'org stats', service: 'organisations',
      path: '/api/v1/organisations/stats',
      project: (a) => (a.status === 200 ? (a.json as { category: string; count: number; avgAnnualRevenue: number | null }[]).map((s) => [s.category, s.count, s.avgAnnualRevenue]) : a.status),
      truth: (owned, base) => {
        const rows = new Map<string, [string, number, number | null]>();
        for (const [key, { n, avg }] of base) {
          const [category, active] = key.split('|') as [string, string];
          if (active === 'true') rows.set(category, [category, n, avg]);
        }
        for (const r of owned.filter((o) => o.isActive)) {
          const row = rows.get(r.category) ?? [r.category, 0, null];
          row[1]++;
          rows.set(r.category, row);
        }
        return [...rows.values()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
      },
    }),
    /** An organisation's detail (404 once deleted). */
    detail: (id: number): View => ({
      cls: 'org detail', name: 'org detail', service: 'organisations',
      path: `/api/v1/organisations/${id}`,
      project: (a) => (a.status === 200 ? tuple(a.json) : a.status),
      truth: (owned) => { const r = owned.find((o) => o.id === id); return r ? tuple(r) : 404; },
    }),
    /** A person's detail: its embedded organisation (null once the organisation is deleted). */
    person: (personId: number, organisationId: number): View => ({
      cls: 'person detail', name: 'person detail', service: 'people',
      path: `/api/v1/people/${personId}`,
      project: (a) => (a.status === 200 ? (a.json.organisation ? [a.json.organisation.id, a.json.organisation.name, a.json.organisation.category] : null) : a.status),
      truth: (owned) => { const r = owned.find((o) => o.id === organisationId); return r ? [r.id, r.name, r.category] : null; },
    }),
  };
}
