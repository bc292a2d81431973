import { z } from 'zod';
import { decodeCursor, encodeCursor, MAX_CURSOR_LENGTH, type CursorValue } from './cursor';
import { HttpProblem, type FieldError } from './problem';

/** A whole number written in decimal digits only: "12" yes; "1e3", "1.0", "-1", "0x1" no. */
export function intString(min = 0, max = Number.MAX_SAFE_INTEGER) {
  return z
    .string()
    .regex(/^\d{1,15}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Why PostgreSQL could not store a string, or undefined when it can: NUL is refused by its text types (and, inlined
 * into a statement, breaks the wire protocol); a lone UTF-16 surrogate is not Unicode and would be silently mangled.
 */
export function unstorableReason(text: string): string | undefined {
  if (text.includes('\u0000')) return 'must not contain NUL characters';
  if (LONE_SURROGATE.test(text)) return 'must not contain lone UTF-16 surrogates (invalid Unicode)';
  return undefined;
}

/** More would only make a hostile request's answer large. */
const MAX_REPORTED = 20;
/** No route takes input nested this deep; stopping here keeps a 100 kB body of `[[[[...` from costing a long walk. */
const MAX_DEPTH = 32;

/** A path as a linked list, so walking a deeply nested value builds no strings until one is reported. */
interface PathNode {
  key: string;
  parent: PathNode | undefined;
  depth: number;
}

function pathOf(node: PathNode | undefined): string {
  const keys: string[] = [];
  for (let n = node; n; n = n.parent) keys.push(n.key);
  const path = keys.reverse().join('.');
  return path.length > 200 ? `${path.slice(0, 200)}…` : path || '(root)';
}

/**
 * Every string in a parsed input (object keys included) that PostgreSQL could not store, as field errors with dotted
 * paths; and input nested deeper than any route takes. It walks with its own stack, never the call stack.
 */
export function unstorableStrings(value: unknown, prefix?: string): FieldError[] {
  const errors: FieldError[] = [];
  const root = prefix ? { key: prefix, parent: undefined, depth: 0 } : undefined;
  const pending: [unknown, PathNode | undefined][] = [[value, root]];
  while (pending.length > 0 && errors.length < MAX_REPORTED) {
    const [current, path] = pending.pop()!;
    if (typeof current === 'string') {
      const reason = unstorableReason(current);
      if (reason) errors.push({ path: pathOf(path), message: reason });
    } else if (current !== null && typeof current === 'object') {
      const depth = (path?.depth ?? 0) + 1;
      if (depth > MAX_DEPTH) {
        errors.push({ path: pathOf(path), message: `must not be nested more than ${MAX_DEPTH} levels deep` });
        continue;
      }
      for (const [key, child] of Object.entries(current)) {
        const reason = unstorableReason(key);
        if (reason) errors.push({ path: pathOf(path), message: `field names ${reason}` });
        else pending.push([child, { key, parent: path, depth }]);
      }
    }
  }
  return errors;
}

/** The first and last days PostgreSQL's `date` stores that also round-trip as YYYY-MM-DD: it has no year 0. */
export const MIN_DATE = '0001-01-01';
export const MAX_DATE = '9999-12-31';
const MIN_INSTANT = Date.parse(`${MIN_DATE}T00:00:00.000Z`);
const MAX_INSTANT = Date.parse(`${MAX_DATE}T23:59:59.999Z`);

/** A calendar date as YYYY-MM-DD, from 0001-01-01 to 9999-12-31 (a real day: no 2023-02-29). */
export function isoDate() {
  return z.iso
    .date('must be a date as YYYY-MM-DD')
    // Only a well-formed date is compared, so a malformed one gets a single message.
    .refine((date) => !/^\d{4}-\d{2}-\d{2}$/.test(date) || date >= MIN_DATE, `must be between ${MIN_DATE} and ${MAX_DATE}`);
}

/**
 * An ISO 8601 date-time with an offset (or Z): a local time would be ambiguous. Parsed to a Date between
 * 0001-01-01 and 9999-12-31 UTC, so an offset cannot push it to a five-digit year that would not round-trip.
 */
export function isoDateTime() {
  return z.iso
    .datetime({ offset: true, message: 'must be an ISO 8601 date-time with an offset, e.g. 2024-05-01T09:30:00Z' })
    .transform((text) => new Date(text))
    .refine((date) => date.getTime() >= MIN_INSTANT && date.getTime() <= MAX_INSTANT, `must be between ${MIN_DATE} and ${MAX_DATE} (UTC)`);
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
export const SEARCH_TERM_DESCRIPTION = `Case-insensitive; % and _ match themselves; control characters are refused. ${MIN_SUBSTRING_SEARCH} characters or more: matches anywhere in the value. 1 or 2 characters: matches values that start with it (a full-table substring scan is not offered).`;

/**
 * A search's `q`: 1 to 100 characters, no control characters (people search joins its fields with one, so a term
 * containing it could match across two fields; none is a name or an email anyway).
 */
export const searchTerm = () => z.string()
  .min(1, 'must be 1 to 100 characters').max(100, 'must be 1 to 100 characters')
  .refine((q) => !/[\u0000-\u001f\u007f]/.test(q), 'must not contain control characters')
  .describe(SEARCH_TERM_DESCRIPTION);

/** The OpenAPI/JSON shape of the list envelope around an item schema. */
export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item), total: z.number().int(),
    page: z.number().int().nullable().describe('null when the page was asked for by cursor'),
    limit: z.number().int(), pages: z.number().int(),
    nextCursor: z.string().nullable().describe('Pass as cursor (same sort and filters) for the next page; null on the last page'),
  });
}
