import { Migration } from '@mikro-orm/migrations';
import { dropSummary, maintainSummary, SHARD, type MaintainedSummary } from './statement-triggers';

/**
 * Exact list totals without counting: `list_count` holds, per list and filter key, the number of rows that match,
 * spread over shards (see statement-triggers.ts). Key formats are those of src/list-counts.ts:
 * - organisation and produit lists: `<all|active>|<*|c=<category>>`;
 * - people: `*`, `organisation=<id>`; interactions: `*`, `person=<id>`, `organisation=<id>`; mandats: `organisation=<id>`;
 * - searches (organisation name; people's first name, last name or email, lower-cased): `p:<first 1 or 2 characters>`
 *   and `s:<any 3 consecutive characters>`, each counted once per row, so a 1-3 character search reads its total here.
 */
const upsert = (deltas: string) => `insert into list_count (list, key, shard, n)
  select list, key, ${SHARD}, sum(delta) from (${deltas}) d
  group by list, key having sum(delta) <> 0 order by list, key
  on conflict (list, key, shard) do update set n = list_count.n + excluded.n`;

/** `(list, key, delta)` rows: `keys` is a SQL array of keys (nulls skipped) for each row `r` of `rows`. */
const keyRows = (list: string, rows: string, sign: string, keys: string) =>
  `select '${list}'::text as list, k as key, ${sign} as delta from ${rows} r cross join lateral unnest(${keys}) k where k is not null`;

/** The prefix and 3-character keys of the lower-cased texts `texts` (a SQL array over row `r`), each once per row. */
const searchRows = (list: string, rows: string, sign: string, texts: string) => `select '${list}'::text as list, s.key, ${sign} as delta
  from ${rows} r cross join lateral (
    select 'p:' || left(f, i) from unnest(${texts}) f, generate_series(1, least(2, length(f))) i
    union select 's:' || substr(f, i, 3) from unnest(${texts}) f, generate_series(1, length(f) - 2) i
  ) s(key)`;

const activeAndCategory = (r: string) => `array['all|*', 'all|c=' || ${r}.category,
  case when ${r}.is_active then 'active|*' end, case when ${r}.is_active then 'active|c=' || ${r}.category end]`;

const summary = (table: string, lists: string[], deltas: MaintainedSummary['deltas']): MaintainedSummary => ({
  name: `${table}_list_count`, table, deltas, apply: upsert,
  clear: `delete from list_count where list in (${lists.map((l) => `'${l}'`).join(', ')})`,
});

export const COUNTED: MaintainedSummary[] = [
  summary('organisation', ['organisation', 'organisation_search'], (rows, sign) =>
    `${keyRows('organisation', rows, sign, activeAndCategory('r'))}
     union all ${searchRows('organisation_search', rows, sign, 'array[lower(r.name)]')}`),
  summary('produit', ['produit'], (rows, sign) => keyRows('produit', rows, sign, activeAndCategory('r'))),
  summary('person', ['person', 'person_search'], (rows, sign) =>
    `${keyRows('person', rows, sign, `array['*', 'organisation=' || r.organisation_id]`)}
     union all ${searchRows('person_search', rows, sign, 'array[lower(r.first_name), lower(r.last_name), lower(r.email)]')}`),
  summary('mandat', ['mandat'], (rows, sign) => keyRows('mandat', rows, sign, `array['organisation=' || r.organisation_id]`)),
  summary('interaction', ['interaction'], (rows, sign) =>
    keyRows('interaction', rows, sign, `array['*', 'person=' || r.person_id, 'organisation=' || r.organisation_id]`)),
];

export class Migration004ListCounts extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table list_count (
      list text not null,
      key text not null,
      shard smallint not null,
      n bigint not null,
      primary key (list, key, shard)
    );`);
    for (const counted of COUNTED) for (const sql of maintainSummary(counted)) this.addSql(sql);
  }

  override async down(): Promise<void> {
    for (const counted of COUNTED) for (const sql of dropSummary(counted)) this.addSql(sql);
    this.addSql('drop table if exists list_count;');
  }
}
