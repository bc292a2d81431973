import { z } from 'zod';
import { decodeCursor, encodeCursor, MAX_CURSOR_LENGTH, type CursorValue } from './cursor';
import { HttpProblem } from './problem';

/** A whole number written in decimal digits only: "12" yes; "1e3", "1.0", "-1", "0x1" no. */
export function intString(min = 0, max = Number.MAX_SAFE_INTEGER) {
  return z
    .string()
    .regex(/^\d{1,15}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));
}

/** PostgreSQL `serial` ids: 1 .. 2^31-1. */
export const MAX_ID = 2_147_483_647;

/** `:id` route parameters. */
export const idParams = z.strictObject({ id: intString(1, MAX_ID) });

/** A query-string boolean: only `true` or `false`. */
export const boolString = z.enum(['true', 'false']).transform((v) => v === 'true');

export const SORT_FIELDS = ['id', 'name', 'createdAt'] as const;

/**
 * The deepest row an offset page may start at. OFFSET reads and drops every row before it, so a deep page costs
 * as much as all the pages before it; further rows are reached with `cursor` (keyset: an index seek per page).
 */
export const MAX_OFFSET = 10_000;

/** `page`, `limit`, `sort` and `cursor`, as every list of the contract takes them (see pageRequest for the rules across them). */
export function pageQuery<const F extends readonly string[] = typeof SORT_FIELDS>(fields: F = SORT_FIELDS as unknown as F) {
  const sorts = fields.flatMap((f) => [f, `-${f}`]) as [string, ...string[]];
  return {
    // No default here: a page given with a cursor is refused, so the schema must see whether it was given (1 when not).
    page: intString(1, MAX_OFFSET + 1).optional()
      .describe(`1-based page number (default 1). A page may start at most ${MAX_OFFSET} rows in ((page - 1) * limit <= ${MAX_OFFSET}); walk further with cursor. Not with cursor.`),
    limit: intString(1, 500).default(100),
    sort: z.enum(sorts).default(fields[0]!),
    cursor: z.string().min(1).max(MAX_CURSOR_LENGTH).regex(/^[A-Za-z0-9_-]+$/, 'is not a cursor this API issued (use nextCursor as given)').optional()
      .describe('Opaque keyset cursor: the nextCursor of the previous page, with the same sort and filters. Walks any depth at constant cost. Not with page.'),
  };
}

export interface PageInput {
  page?: number | undefined;
  limit: number;
  sort: string;
  cursor?: string | undefined;
}

/** Where a list page starts: an offset (page mode) or after a row's sort key (cursor mode). */
export interface PageRequest {
  /** The page number; null in cursor mode (a keyset page has no number). */
  page: number | null;
  limit: number;
  sort: string;
  offset: number;
  /** The sort key (id last) the page starts after, from the cursor. */
  after: CursorValue[] | null;
}

function pagingError(path: 'page' | 'cursor', message: string): HttpProblem {
  return new HttpProblem('validation', 'The query parameters are not valid', [{ path: `query.${path}`, message }]);
}

/**
 * Checks the rules across `page`, `limit` and `cursor` and says where the page starts: `cursor` excludes `page`,
 * a page may not start beyond MAX_OFFSET, and a cursor must be one issued for this sort (`keys`: the order's
 * properties, id last). Each broken rule is a 400 naming the parameter.
 */
export function pageRequest(query: PageInput, keys: readonly string[]): PageRequest {
  if (query.cursor !== undefined) {
    if (query.page !== undefined) throw pagingError('cursor', 'cannot be combined with page: the cursor already says where the page starts');
    return { page: null, limit: query.limit, sort: query.sort, offset: 0, after: decodeCursor(query.cursor, query.sort, keys) };
  }
  const page = query.page ?? 1;
  const offset = (page - 1) * query.limit;
  if (offset > MAX_OFFSET) {
    const maxPage = Math.floor(MAX_OFFSET / query.limit) + 1;
    throw pagingError('page', `must be at most ${maxPage} with limit=${query.limit}: a page may start at most ${MAX_OFFSET} rows in; walk further with cursor (each page's nextCursor)`);
  }
  return { page, limit: query.limit, sort: query.sort, offset, after: null };
}

/** The contract's list envelope, plus the keyset cursor of the next page (null on the last page). */
export interface Page<T> {
  items: T[];
  total: number;
  page: number | null;
  limit: number;
  pages: number;
  nextCursor: string | null;
}

/** The envelope of one page; `nextKey` is the sort key of its last row when more rows follow. */
export function pageOf<T>(items: T[], total: number, input: PageRequest, nextKey: readonly CursorValue[] | null): Page<T> {
  return {
    items, total, page: input.page, limit: input.limit, pages: Math.ceil(total / input.limit),
    nextCursor: nextKey ? encodeCursor(input.sort, nextKey) : null,
  };
}

/**
 * `-name` -> { name: 'desc', id: 'desc' }: `id` breaks ties so pages never overlap, in the same direction, so one
 * index on (field, id) serves both directions and a cursor is one row comparison.
 */
export function orderBy(sort: string): Record<string, 'asc' | 'desc'> {
  const desc = sort.startsWith('-');
  const field = desc ? sort.slice(1) : sort;
  const direction = desc ? 'desc' : 'asc';
  const order: Record<string, 'asc' | 'desc'> = { [field]: direction };
  if (field !== 'id') order.id = direction;
  return order;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Escapes LIKE wildcards so `%` and `_` in a search match themselves. */
export function likeContains(text: string): string {
  return `%${escapeLike(text)}%`;
}

/** A LIKE pattern for values starting with `text`; wildcards in it match themselves. */
export function likePrefix(text: string): string {
  return `${escapeLike(text)}%`;
}

/**
 * Search terms shorter than this match at the start of a value (an index range on `lower(column)`) instead of
 * anywhere in it: a trigram index cannot serve a 1-2 character substring, which would read the whole table.
 */
export const MIN_SUBSTRING_SEARCH = 3;

/** The `q` parameter's description, for both APIs' search routes. */
export const SEARCH_TERM_DESCRIPTION = `Case-insensitive; % and _ match themselves. ${MIN_SUBSTRING_SEARCH} characters or more: matches anywhere in the value. 1 or 2 characters: matches values that start with it (a full-table substring scan is not offered).`;

/** The OpenAPI/JSON shape of the list envelope around an item schema. */
export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item), total: z.number().int(),
    page: z.number().int().nullable().describe('null when the page was asked for by cursor'),
    limit: z.number().int(), pages: z.number().int(),
    nextCursor: z.string().nullable().describe('Pass as cursor (same sort and filters) for the next page; null on the last page'),
  });
}
