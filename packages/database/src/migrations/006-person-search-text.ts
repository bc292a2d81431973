import { Migration } from '@mikro-orm/migrations';

/**
 * People search matches first name, last name or email: one trigram index on the three joined by a control
 * character (which a search term may not contain, so no match spans two fields) serves a 3+ character search
 * with one index scan, where three indexes needed a BitmapOr of three scans. The per-field trigram indexes
 * served nothing else and are dropped.
 */
const PER_FIELD: Record<string, string> = {
  person_first_name_trgm_idx: 'first_name',
  person_last_name_trgm_idx: 'last_name',
  person_email_trgm_idx: 'email',
};

export class Migration006PersonSearchText extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create function person_search_text(first_name text, last_name text, email text) returns text
      language sql immutable parallel safe as $$ select first_name || E'\\x01' || last_name || E'\\x01' || email $$;`);
    this.addSql(`create index person_search_text_trgm_idx on person using gin (person_search_text(first_name, last_name, email) gin_trgm_ops);`);
    for (const name of Object.keys(PER_FIELD)) this.addSql(`drop index if exists ${name};`);
  }

  override async down(): Promise<void> {
    for (const [name, column] of Object.entries(PER_FIELD)) this.addSql(`create index if not exists ${name} on person using gin (${column} gin_trgm_ops);`);
    this.addSql('drop index if exists person_search_text_trgm_idx;');
    this.addSql('drop function if exists person_search_text(text, text, text);');
  }
}
