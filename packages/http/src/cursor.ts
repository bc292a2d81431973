import { HttpProblem } from './problem';

/** A value of a sort key, as it travels in a cursor. */
export type CursorValue = string | number;

/** How each sortable property's value is checked when a cursor comes back. */
const KEY_TYPES: Record<string, 'id' | 'text' | 'timestamp' | 'date'> = {
  id: 'id',
  name: 'text',
  firstName: 'text',
  lastName: 'text',
  createdAt: 'timestamp',
  occurredAt: 'timestamp',
  startDate: 'date',
};

/** PostgreSQL `serial` (as MAX_ID in validation.ts, which imports this file). */
const MAX_ID = 2_147_483_647;
/** Microseconds included: PostgreSQL keeps them, and a cursor rounded to milliseconds would skip or repeat rows. */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** The largest cursor accepted: three keys of at most 255 characters, JSON-escaped, in base64url. */
export const MAX_CURSOR_LENGTH = 4_096;

function invalid(message: string): HttpProblem {
  return new HttpProblem('validation', 'The query parameters are not valid', [{ path: 'query.cursor', message }]);
}

function validValue(type: (typeof KEY_TYPES)[string], value: unknown): boolean {
  switch (type) {
    case 'id':
      return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_ID;
    case 'text':
      return typeof value === 'string' && value.length <= 255 && !value.includes('\u0000');
    case 'timestamp':
      return typeof value === 'string' && TIMESTAMP.test(value) && !Number.isNaN(Date.parse(value));
    case 'date':
      return typeof value === 'string' && DATE.test(value) && new Date(`${value}T00:00:00Z`).toISOString().startsWith(value);
  }
}

/** The opaque `nextCursor`: base64url of the sort it belongs to and the last row's sort key (id last). */
export function encodeCursor(sort: string, key: readonly CursorValue[]): string {
  return Buffer.from(JSON.stringify({ s: sort, k: key })).toString('base64url');
}

/**
 * Reads a cursor back for `sort`, whose order is `keys` (property names, id last). Anything but a cursor this
 * API issued for the same sort, with values of the right types, is a 400 naming `cursor`, never a 500.
 */
export function decodeCursor(cursor: string, sort: string, keys: readonly string[]): CursorValue[] {
  if (cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid('is not a cursor this API issued (use nextCursor as given)');
  const bytes = Buffer.from(cursor, 'base64url');
  // Only the canonical encoding: anything else was not issued by us.
  if (bytes.toString('base64url') !== cursor) throw invalid('is not a cursor this API issued (use nextCursor as given)');
  let payload: unknown;
  try {
    payload = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw invalid('is not a cursor this API issued (use nextCursor as given)');
  }
  const { s, k } = (payload ?? {}) as { s?: unknown; k?: unknown };
  if (typeof payload !== 'object' || Array.isArray(payload) || Object.keys(payload as object).length !== 2 || typeof s !== 'string' || !Array.isArray(k)) {
    throw invalid('is not a cursor this API issued (use nextCursor as given)');
  }
  if (s !== sort) throw invalid(`was issued for sort=${s.slice(0, 20)}: repeat that sort with it, or start again without cursor`);
  if (k.length !== keys.length || !keys.every((key, i) => KEY_TYPES[key] !== undefined && validValue(KEY_TYPES[key], k[i]))) {
    throw invalid('has been altered: its sort key is not valid (use nextCursor as given)');
  }
  return k as CursorValue[];
}
