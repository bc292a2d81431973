/**
 * What the views' list and search pages depend on, in the terms of @crm/cache/dependencies: the filter combination
 * or the search term from the validated query before the read, and the rows the page shows after it.
 */
import { listTags, pageRangeTags, searchTags, shownTags, type Family, type FieldValue } from '@crm/cache/dependencies';
import type { ViewInput } from './view';

/** The fields a `sort` parameter orders by (`-name`: name); `aliases` maps a sort name to its fields (people's `name`). */
function sortedOn(sort: unknown, aliases: Record<string, string[]>): string[] {
  const field = String(sort ?? 'id').replace(/^-/, '');
  return aliases[field] ?? [field];
}

/**
 * A list page of `family`: `filters` picks, from the input, the field values it filters on (undefined: not filtered).
 */
export function listPage<P extends string>(
  family: Family,
  filters: (input: ViewInput<P>) => Record<string, FieldValue | undefined>,
  aliases: Record<string, string[]> = {},
): (input: ViewInput<P>) => string[] {
  return (input) => {
    const defined = Object.fromEntries(Object.entries(filters(input)).filter(([, v]) => v !== undefined)) as Record<string, FieldValue>;
    return listTags(family, defined, sortedOn(input.query.sort, aliases));
  };
}

/** A search page of `family`, for the query's `q`. */
export const searchPage = (family: Family) => (input: ViewInput<string>): string[] => searchTags(family, String(input.query.q ?? ''));

/** The rows a page shows: its items' tags. */
export const pageItems = (family: Family) => (_input: unknown, result: { items?: { id: number }[] }): string[] => shownTags(family, result.items ?? []);

/** What a list page's data tells: its items' tags and, sorted on the family's range field, its range of keys. */
export const listItems = (family: Family, aliases: Record<string, string[]> = {}) =>
  (input: ViewInput<string>, result: { items?: ({ id: number } & Record<string, unknown>)[] }): string[] => {
    const items = result.items ?? [];
    return [...shownTags(family, items), ...pageRangeTags(family, sortedOn(input.query.sort, aliases), items)];
  };
