import type { EntityManager } from '@crm/database';
import type { OrganisationCategory } from '@crm/database';

interface StatsRow {
  category: OrganisationCategory;
  count: number;
  avg_annual_revenue: string | null;
}

const statsJson = (rows: StatsRow[]) => rows.map((r) => ({
  category: r.category,
  count: r.count,
  avgAnnualRevenue: r.avg_annual_revenue === null ? null : Number(r.avg_annual_revenue),
}));

/** Count and average revenue per category over active organisations, computed from the table: the reference. */
export async function organisationStats(em: EntityManager) {
  return statsJson(await em.getConnection().execute(
    `select category, count(*)::int as count, round(avg(annual_revenue), 2) as avg_annual_revenue
       from organisation where is_active group by category order by category`,
  ));
}

/**
 * The same figures from the per-category sums the organisation triggers keep (migration 005): a few rows per
 * category whatever the table's size. sum / count is how avg(numeric) computes, so the rounding is the same.
 */
export async function maintainedOrganisationStats(em: EntityManager) {
  return statsJson(await em.getConnection().execute(
    `select category, sum(active_count)::int as count, round(sum(revenue_sum) / nullif(sum(revenue_count), 0), 2) as avg_annual_revenue
       from organisation_stat group by category having sum(active_count) > 0 order by category`,
  ));
}
