import { Migration } from '@mikro-orm/migrations';

/**
 * An index for every order and filter the list and search routes use, so no page reads a large table in full
 * (the EXPLAIN test in packages/database/test/list-plans.test.ts holds every route to it):
 * - every sort is (field, id), one direction for both: one index serves ascending and descending pages, and a
 *   cursor is one row comparison (`(field, id) > (?, ?)`), an index seek at any depth;
 * - each filter column leads an index per sort: (filter, field, id);
 * - 1-2 character searches match the start of `lower(column)` with text_pattern_ops indexes (the trigram
 *   indexes only serve 3 characters or more).
 * Single-column indexes that a new composite one starts with are dropped: the composite serves their queries.
 */
const INDEXES: [name: string, definition: string, replaces?: string][] = [
  ['organisation_name_id_idx', 'organisation (name, id)', 'organisation_name_idx'],
  ['organisation_created_at_id_idx', 'organisation (created_at, id)', 'organisation_created_at_idx'],
  ['organisation_category_id_idx', 'organisation (category, id)', 'organisation_category_idx'],
  ['organisation_category_name_id_idx', 'organisation (category, name, id)'],
  ['organisation_category_created_at_id_idx', 'organisation (category, created_at, id)'],
  ['organisation_name_prefix_idx', 'organisation (lower(name) text_pattern_ops)'],

  ['person_name_id_idx', 'person (last_name, first_name, id)', 'person_last_name_idx'],
  ['person_created_at_id_idx', 'person (created_at, id)', 'person_created_at_idx'],
  ['person_organisation_id_id_idx', 'person (organisation_id, id)', 'person_organisation_id_idx'],
  ['person_organisation_id_name_id_idx', 'person (organisation_id, last_name, first_name, id)'],
  ['person_organisation_id_created_at_id_idx', 'person (organisation_id, created_at, id)'],
  ['person_first_name_prefix_idx', 'person (lower(first_name) text_pattern_ops)'],
  ['person_last_name_prefix_idx', 'person (lower(last_name) text_pattern_ops)'],
  ['person_email_prefix_idx', 'person (lower(email) text_pattern_ops)'],

  ['mandat_organisation_id_id_idx', 'mandat (organisation_id, id)', 'mandat_organisation_id_idx'],
  ['mandat_organisation_id_created_at_id_idx', 'mandat (organisation_id, created_at, id)'],
  ['mandat_organisation_id_start_date_id_idx', 'mandat (organisation_id, start_date, id)'],

  ['interaction_occurred_at_id_idx', 'interaction (occurred_at, id)'],
  ['interaction_created_at_id_idx', 'interaction (created_at, id)'],
  ['interaction_person_id_occurred_at_id_idx', 'interaction (person_id, occurred_at, id)', 'interaction_person_id_occurred_at_idx'],
  ['interaction_person_id_id_idx', 'interaction (person_id, id)'],
  ['interaction_person_id_created_at_id_idx', 'interaction (person_id, created_at, id)'],
  ['interaction_organisation_id_occurred_at_id_idx', 'interaction (organisation_id, occurred_at, id)', 'interaction_organisation_id_idx'],
  ['interaction_organisation_id_id_idx', 'interaction (organisation_id, id)'],
  ['interaction_organisation_id_created_at_id_idx', 'interaction (organisation_id, created_at, id)'],

  ['produit_name_id_idx', 'produit (name, id)', 'produit_name_idx'],
  ['produit_created_at_id_idx', 'produit (created_at, id)'],
  ['produit_category_id_idx', 'produit (category, id)'],
];

/** What 001 defined for the indexes this migration replaces, to put them back on the way down. */
const REPLACED: Record<string, string> = {
  organisation_name_idx: 'organisation (name)',
  organisation_created_at_idx: 'organisation (created_at)',
  organisation_category_idx: 'organisation (category)',
  person_last_name_idx: 'person (last_name)',
  person_created_at_idx: 'person (created_at)',
  person_organisation_id_idx: 'person (organisation_id)',
  mandat_organisation_id_idx: 'mandat (organisation_id)',
  interaction_person_id_occurred_at_idx: 'interaction (person_id, occurred_at desc)',
  interaction_organisation_id_idx: 'interaction (organisation_id)',
  produit_name_idx: 'produit (name)',
};

export class Migration003ListIndexes extends Migration {
  override async up(): Promise<void> {
    for (const [name, definition, replaces] of INDEXES) {
      this.addSql(`create index if not exists ${name} on ${definition};`);
      if (replaces) this.addSql(`drop index if exists ${replaces};`);
    }
  }

  override async down(): Promise<void> {
    for (const [name, definition] of Object.entries(REPLACED)) this.addSql(`create index if not exists ${name} on ${definition};`);
    for (const [name] of INDEXES) this.addSql(`drop index if exists ${name};`);
  }
}
