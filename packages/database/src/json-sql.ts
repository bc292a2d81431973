/**
 * Read-only responses PostgreSQL builds as JSON in one statement (a detail with what it embeds): one round trip and
 * no ORM hydration, in the shape the service's serializers give the entities (each service tests its statements
 * against its serializers).
 */
import type { EntityManager } from '@mikro-orm/postgresql';

/** A timestamp as Date.toISOString() writes it: UTC, milliseconds (truncated, as a JS Date drops microseconds). */
export const isoTimestamp = (column: string): string => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** Runs `sql`, whose one column `json` is the response, on the read connection; null when it finds no row. */
export async function readJson<T>(em: EntityManager, sql: string, params: unknown[]): Promise<T | null> {
  const [row] = await em.getConnection('read').execute<{ json: T }[]>(sql, params);
  return row?.json ?? null;
}
