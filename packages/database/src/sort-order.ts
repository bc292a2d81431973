/**
 * Which families' text sort keys PostgreSQL orders by bytes, so that their list pages may depend on their range of
 * keys (@crm/cache/dependencies, `rangeTags`): true only of a column whose collation compares code points (C, POSIX,
 * C.UTF-8, ucs_basic, the builtin provider's locales). A linguistic collation (en_US, ICU), an older PostgreSQL or any
 * doubt leaves the family's pages on the coarse `#by:<field>` dependency.
 */
import { setByteOrdered } from '@crm/cache/dependencies';
import type { MikroORM } from '@mikro-orm/postgresql';
import { FAMILIES } from './cache-tags';

const BYTE_ORDER_NAMES = new Set(['C', 'POSIX', 'ucs_basic', 'pg_c_utf8', 'pg_unicode_fast']);

/** Whether a collation (provider `c` libc, `b` builtin, `i` ICU, `d` the database's) compares code points. */
export function comparesBytes(name: string, provider: string, collate: string | null): boolean {
  if (BYTE_ORDER_NAMES.has(name) || provider === 'b') return true;
  return provider === 'c' && /^(C|POSIX)(\.utf-?8)?$/i.test(collate ?? '');
}

interface Collation { collname: string; provider: string; collcollate: string | null }

/** The families whose range field's column compares bytes, read from the catalogue. */
export async function byteOrderedFamilies(orm: MikroORM): Promise<string[]> {
  const em = orm.em.fork();
  const [database] = await em.execute<{ datcollate: string; provider: string }[]>(
    'select datcollate, datlocprovider::text as provider from pg_database where datname = current_database()');
  const entities = [...orm.getMetadata().getAll().values()];
  const families: string[] = [];
  for (const family of Object.values(FAMILIES)) {
    if (!('rangeField' in family)) continue;
    // The family's entity (same name) says where its range field is stored.
    const meta = entities.find((m) => m.className.toLowerCase() === family.name);
    const columnName = meta?.properties[family.rangeField]?.fieldNames[0];
    if (!meta || !columnName) continue;
    const [column] = await em.execute<Collation[]>(
      `select c.collname, c.collprovider::text as provider, c.collcollate from pg_attribute a
         join pg_collation c on c.oid = a.attcollation where a.attrelid = to_regclass(?) and a.attname = ?`,
      [meta.tableName, columnName]);
    if (!column) continue;
    const bytes = column.collname === 'default'
      ? database !== undefined && comparesBytes('default', database.provider, database.datcollate)
      : comparesBytes(column.collname, column.provider, column.collcollate);
    if (bytes) families.push(family.name);
  }
  return families;
}

/**
 * Tells the cache which families' pages may depend on ranges (once, at start, before serving): what the catalogue
 * says, or none if it cannot be read (a database down at start, PostgreSQL before 15).
 */
export async function configureSortOrder(orm: MikroORM): Promise<string[]> {
  const families = await byteOrderedFamilies(orm).catch(() => []);
  setByteOrdered(families);
  return families;
}
