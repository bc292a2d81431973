import { Migration } from '@mikro-orm/migrations';
import { dropSummary, maintainSummary, SHARD, type MaintainedSummary } from './statement-triggers';

/**
 * GET /organisations/stats without reading organisations: per category (and shard), the number of active ones and
 * the sum and number of their non-null annual revenues. The average is sum / count, which is how avg(numeric)
 * computes it, so round(sum / count, 2) equals today's round(avg(annual_revenue), 2) digit for digit.
 */
export const ORGANISATION_STATS: MaintainedSummary = {
  name: 'organisation_stat',
  table: 'organisation',
  deltas: (rows, sign) => `select category, ${sign} as active, ${sign} * annual_revenue as revenue, ${sign} * (annual_revenue is not null)::int as revenues
    from ${rows} where is_active`,
  apply: (deltas) => `insert into organisation_stat (category, shard, active_count, revenue_sum, revenue_count)
    select category, ${SHARD}, sum(active), coalesce(sum(revenue), 0), sum(revenues) from (${deltas}) d
    group by category having sum(active) <> 0 or sum(revenues) <> 0 or coalesce(sum(revenue), 0) <> 0 order by category
    on conflict (category, shard) do update set active_count = organisation_stat.active_count + excluded.active_count,
      revenue_sum = organisation_stat.revenue_sum + excluded.revenue_sum, revenue_count = organisation_stat.revenue_count + excluded.revenue_count`,
  clear: 'delete from organisation_stat',
};

export class Migration005OrganisationStats extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table organisation_stat (
      category varchar(20) not null,
      shard smallint not null,
      active_count bigint not null,
      revenue_sum numeric not null,
      revenue_count bigint not null,
      primary key (category, shard)
    );`);
    for (const sql of maintainSummary(ORGANISATION_STATS)) this.addSql(sql);
  }

  override async down(): Promise<void> {
    for (const sql of dropSummary(ORGANISATION_STATS)) this.addSql(sql);
    this.addSql('drop table if exists organisation_stat;');
  }
}
