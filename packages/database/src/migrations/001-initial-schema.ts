import { Migration } from '@mikro-orm/migrations';
import { INTERACTION_TYPES, MANDAT_STATUSES, MANDAT_TYPES, ORGANISATION_CATEGORIES } from '../entities/enums';

const oneOf = (values: readonly string[]) => values.map((v) => `'${v}'`).join(', ');

/**
 * The CRM schema. Indexes follow the queries the APIs make:
 * - organisation lists filter by category and isActive (alone and together) and sort by id, name or createdAt;
 * - search is a case-insensitive substring match, served by pg_trgm GIN indexes at any table size;
 * - emails are unique whatever their case (unique indexes on lower(email));
 * - every foreign key is indexed; interactions are read by (personId, occurredAt).
 */
export class Migration001InitialSchema extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create extension if not exists pg_trgm;`);

    this.addSql(`create table organisation (
      id serial primary key,
      name varchar(255) not null check (length(name) between 1 and 255),
      category varchar(20) not null check (category in (${oneOf(ORGANISATION_CATEGORIES)})),
      is_active boolean not null default true,
      email varchar(255) null,
      website varchar(255) null,
      country char(2) null,
      annual_revenue numeric(18,2) null check (annual_revenue >= 0),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );`);
    this.addSql(`create index organisation_name_idx on organisation (name);`);
    this.addSql(`create index organisation_category_idx on organisation (category);`);
    this.addSql(`create index organisation_is_active_idx on organisation (is_active);`);
    this.addSql(`create index organisation_category_is_active_idx on organisation (category, is_active);`);
    this.addSql(`create index organisation_created_at_idx on organisation (created_at);`);
    this.addSql(`create index organisation_updated_at_idx on organisation (updated_at desc);`);
    this.addSql(`create unique index organisation_email_lower_uniq on organisation (lower(email));`);
    this.addSql(`create index organisation_name_trgm_idx on organisation using gin (name gin_trgm_ops);`);

    this.addSql(`create table person (
      id serial primary key,
      first_name varchar(100) not null check (length(first_name) >= 1),
      last_name varchar(100) not null check (length(last_name) >= 1),
      email varchar(255) not null,
      phone varchar(50) null,
      title varchar(255) null,
      organisation_id int null references organisation (id) on delete set null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );`);
    this.addSql(`create unique index person_email_lower_uniq on person (lower(email));`);
    this.addSql(`create index person_organisation_id_idx on person (organisation_id);`);
    this.addSql(`create index person_last_name_idx on person (last_name);`);
    this.addSql(`create index person_created_at_idx on person (created_at);`);
    this.addSql(`create index person_first_name_trgm_idx on person using gin (first_name gin_trgm_ops);`);
    this.addSql(`create index person_last_name_trgm_idx on person using gin (last_name gin_trgm_ops);`);
    this.addSql(`create index person_email_trgm_idx on person using gin (email gin_trgm_ops);`);

    this.addSql(`create table mandat (
      id serial primary key,
      organisation_id int not null references organisation (id) on delete cascade,
      type varchar(20) not null check (type in (${oneOf(MANDAT_TYPES)})),
      status varchar(20) not null check (status in (${oneOf(MANDAT_STATUSES)})),
      start_date date not null,
      end_date date null check (end_date is null or end_date >= start_date),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );`);
    this.addSql(`create index mandat_organisation_id_idx on mandat (organisation_id);`);

    this.addSql(`create table interaction (
      id serial primary key,
      person_id int not null references person (id) on delete cascade,
      organisation_id int null references organisation (id) on delete set null,
      type varchar(20) not null check (type in (${oneOf(INTERACTION_TYPES)})),
      subject varchar(255) not null check (length(subject) >= 1),
      notes text null,
      occurred_at timestamptz not null,
      created_at timestamptz not null default now()
    );`);
    this.addSql(`create index interaction_person_id_occurred_at_idx on interaction (person_id, occurred_at desc);`);
    this.addSql(`create index interaction_organisation_id_idx on interaction (organisation_id);`);

    this.addSql(`create table produit (
      id serial primary key,
      name varchar(255) not null check (length(name) >= 1),
      isin char(12) null,
      category varchar(50) not null,
      is_active boolean not null default true,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );`);
    this.addSql(`create unique index produit_isin_uniq on produit (isin);`);
    this.addSql(`create index produit_name_idx on produit (name);`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists interaction, mandat, person, produit, organisation cascade;`);
  }
}
