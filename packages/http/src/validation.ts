import { z } from 'zod';

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
