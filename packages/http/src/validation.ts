import { z } from 'zod';
import type { FieldError } from './problem';

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

/** `page`, `limit` and `sort`, as every list of the contract takes them. */
export function pageQuery<const F extends readonly string[] = typeof SORT_FIELDS>(fields: F = SORT_FIELDS as unknown as F) {
  const sorts = fields.flatMap((f) => [f, `-${f}`]) as [string, ...string[]];
  return {
    page: intString(1, 1_000_000).default(1),
    limit: intString(1, 500).default(100),
    sort: z.enum(sorts).default(fields[0]!),
  };
}

export interface PageInput {
  page: number;
  limit: number;
  sort: string;
}

/** The contract's list envelope. */
export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  limit: number;
  pages: number;
}

export function pageOf<T>(items: T[], total: number, input: PageInput): Page<T> {
  return { items, total, page: input.page, limit: input.limit, pages: Math.ceil(total / input.limit) };
}

/** `-name` -> { name: 'desc' }, with `id` as a tie-breaker so pages never overlap. */
export function orderBy(sort: string): Record<string, 'asc' | 'desc'> {
  const desc = sort.startsWith('-');
  const field = desc ? sort.slice(1) : sort;
  const order: Record<string, 'asc' | 'desc'> = { [field]: desc ? 'desc' : 'asc' };
  if (field !== 'id') order.id = 'asc';
  return order;
}

/** Escapes LIKE wildcards so `%` and `_` in a search match themselves. */
export function likeContains(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The OpenAPI/JSON shape of the list envelope around an item schema. */
export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), total: z.number().int(), page: z.number().int(), limit: z.number().int(), pages: z.number().int() });
}
