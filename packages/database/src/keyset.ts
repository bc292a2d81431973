import { raw, type EntityClass, type EntityManager, type FilterQuery } from '@mikro-orm/postgresql';
import { readCount, type CountKey } from './list-counts';

/** A sort key value, as a cursor carries it (timestamps as ISO 8601 text with microseconds). */
export type KeyValue = string | number;

export interface PageWindow {
  limit: number;
  /** Rows skipped (offset pages); ignored when `after` is set. */
  offset: number;
  /** Start after the row with this sort key (one value per `order` property, id last): a keyset page. */
  after: readonly KeyValue[] | null;
}

export interface FoundPage<T> {
  items: T[];
  /** Every row matching the filter, whatever the window. */
  total: number;
  /** The sort key of the page's last row when more rows follow, else null. */
  nextKey: KeyValue[] | null;
}

/** Key values travel as text: timestamps and dates are cast to their column's type, never compared as text. */
const CASTS: Record<string, string> = { timestamptz: '::timestamptz', timestamp: '::timestamp', date: '::date' };

/**
 * One list page of `entity` matching `where` in `order` (every property the same direction, id last), from an
 * offset or after a sort key. The keyset condition is a row comparison, `(name, id) > (?, ?)`, which an index on
 * (name, id) answers with one seek whatever the depth. The total is read from the maintained counts under `counted`
 * (the key of exactly `where`), and counted over the rows only where no key covers the filter.
 */
export async function findPage<T extends object>(
  em: EntityManager, entity: EntityClass<T>, where: FilterQuery<T>, order: Record<string, 'asc' | 'desc'>, window: PageWindow,
  counted?: CountKey,
): Promise<FoundPage<T>> {
  const meta = em.getMetadata().get(entity);
  const properties = Object.keys(order);
  const directions = new Set(Object.values(order));
  if (directions.size !== 1 || properties.at(-1) !== 'id') throw new Error(`findPage needs one direction and id last: ${JSON.stringify(order)}`);
  const columns = properties.map((name) => {
    const property = meta.properties[name as keyof typeof meta.properties];
    if (!property) throw new Error(`${meta.className} has no property ${name}`);
    return { name, column: property.fieldNames[0]!, cast: CASTS[String(property.columnTypes[0]).toLowerCase()] ?? '', isDate: property.runtimeType === 'Date' };
  });
  let filter = where;
  if (window.after) {
    const op = directions.has('asc') ? '>' : '<';
    const keyset = raw(
      (alias: string) => `(${columns.map((c) => `${alias}.${c.column}`).join(', ')}) ${op} (${columns.map((c) => `?${c.cast}`).join(', ')})`,
      [...window.after],
    );
    filter = { $and: [where, { [keyset]: [] }] } as FilterQuery<T>;
  }
  // One row more than the page tells whether another page follows, without a second count.
  const [rows, total] = await Promise.all([
    em.find(entity, filter as never, { orderBy: order as never, limit: window.limit + 1, offset: window.after ? 0 : window.offset }),
    countRows(em, entity, where, counted),
  ]);
  const items = rows.slice(0, window.limit);
  const last = rows.length > window.limit ? items.at(-1) : undefined;
  return { items, total, nextKey: last ? await sortKey(em, meta.tableName, columns, last) : null };
}

/** The rows matching `where`: from the maintained counts when a key covers it, else counted. */
async function countRows<T extends object>(em: EntityManager, entity: EntityClass<T>, where: FilterQuery<T>, counted: CountKey | undefined): Promise<number> {
  const kept = counted ? await readCount(em, counted) : undefined;
  return kept ?? em.count(entity, where as never);
}

/**
 * The last row's sort key. Timestamps are read back as text: PostgreSQL keeps microseconds that a JS Date drops,
 * and a key rounded to milliseconds would skip or repeat rows.
 */
async function sortKey(
  em: EntityManager, table: string, columns: { name: string; column: string; isDate: boolean }[], row: object,
): Promise<KeyValue[]> {
  const values = row as Record<string, unknown>;
  const dates = columns.filter((c) => c.isDate);
  const exact: Record<string, string> = {};
  if (dates.length > 0) {
    const select = dates.map((c) => `to_char(${c.column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as ${c.column}`).join(', ');
    const [found] = await em.getConnection('read').execute<Record<string, string>[]>(`select ${select} from ${table} where id = ?`, [values.id]);
    // Deleted since it was read (rare): the millisecond value, which may repeat rows of that same millisecond.
    for (const c of dates) exact[c.name] = found?.[c.column] ?? (values[c.name] as Date).toISOString();
  }
  return columns.map((c) => (c.isDate ? exact[c.name]! : values[c.name] as KeyValue));
}
