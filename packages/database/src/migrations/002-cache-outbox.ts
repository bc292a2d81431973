import { Migration } from '@mikro-orm/migrations';

/**
 * The transactional outbox: every write inserts its cache event here in the same transaction as the change,
 * so an event exists exactly when its change committed, whatever fails afterwards. A relay publishes the rows
 * to BullMQ (`published_at`), the worker applies them; published rows are deleted after a retention period.
 */
export class Migration002CacheOutbox extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table cache_outbox (
      id bigserial primary key,
      event varchar(64) not null,
      entity varchar(32) not null,
      entity_id bigint not null,
      tags text[] not null,
      payload jsonb not null default '{}'::jsonb,
      trace jsonb null,
      occurred_at timestamptz not null default clock_timestamp(),
      published_at timestamptz null
    );`);
    // The relay reads only what is left to publish; the index stays as small as that backlog.
    this.addSql(`create index cache_outbox_unpublished_idx on cache_outbox (id) where published_at is null;`);
    // Recovery after a cache outage reads the events committed since it began; retention deletes by age.
    this.addSql(`create index cache_outbox_occurred_at_idx on cache_outbox (occurred_at);`);
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists cache_outbox;');
  }
}
