import type { EntityManager } from '@crm/database';
import type { OrganisationCategory } from '@crm/database';

interface StatsRow {
  category: OrganisationCategory;
  count: number;
  avg_annual_revenue: string | null;
}

/** Count and average revenue per category over active organisations: one aggregate statement. */
export async function organisationStats(em: EntityManager) {
  const rows: StatsRow[] = await em.getConnection().execute(
    `select category, count(*)::int as count, round(avg(annual_revenue), 2) as avg_annual_revenue
       from organisation where is_active group by category order by category`,
  );
  return rows.map((r) => ({
    category: r.category,
    count: r.count,
    avgAnnualRevenue: r.avg_annual_revenue === null ? null : Number(r.avg_annual_revenue),
  }));
}
