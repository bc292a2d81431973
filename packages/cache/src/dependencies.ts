/**
 * What a cached list or search page depends on, and which of those dependencies a change of one row touches: the
 * general mechanism behind precise invalidation (`@crm/cache/dependencies`). Both sides are tags, so matching a
 * change to the pages it changes is the cache's ordinary tag invalidation: O(tags of the change), no scan.
 *
 * A page of a family of rows (e.g. organisations) filtered by equality on some fields, ordered, with a `total`:
 * - which rows it holds, and its total, change only with the membership of its filter combination (a create, a
 *   delete, a change to a filter field): one tag per combination, `<family>?<field>=<value>&...#n`;
 * - their order changes with a changed value of a mutable sort field (`name`; ids and creation times never change):
 *   `<family>?<combination>#by:<field>`, carried only by pages sorted on it;
 * - what it shows of each row changes with that row: the row's own tag `<family>:<id>`, known once the page is read
 *   (the cache reads those tokens when it stores the page: see ResponseCache.store);
 * - a search for a term changes only when a row whose searched text contains (or contained) the term changes:
 *   one tag per trigram of the text, `<family>~<trigram>`, and per 1- and 2-character start, `<family>^<start>`;
 *   a search carries the tag of its term's first trigram (or of its start, for 1-2 characters);
 * - `<family>#*`, carried by every page of a `cascaded` family, is for what changes all its rows at once (a cascade
 *   in the database);
 * - a view showing every row of a combination (an organisation's contacts, unpaged) depends on any change to any of
 *   them: `<family>?<combination>#rows`, for the combinations the family declares `whole`. Known before the data is
 *   read, unlike the rows' own tags, so such a view needs no second look at the shown rows' tokens.
 * A change touches the tags of the row before and after it, so a row leaving a combination or a term invalidates
 * it as surely as one entering.
 */

/** A field's value as tags carry it. */
export type FieldValue = string | number | boolean | null;

/** The fields of a row that pages depend on (filters, mutable sort fields, searched fields). */
export type Row = Readonly<Record<string, FieldValue>>;

/** A family of rows (an entity) as pages depend on it. */
export interface Family {
  /** The entity, e.g. `organisation`. */
  readonly name: string;
  /** The fields lists filter on by equality. */
  readonly filters: readonly string[];
  /** The fields a list may be sorted on whose value can change (ids and creation times cannot). */
  readonly sorts: readonly string[];
  /** The fields searched by substring (case-insensitive; a 1-2 character term matches the start). */
  readonly searches: readonly string[];
  /** True when some change touches every row at once (a cascade): its pages then carry `familyTag`. */
  readonly cascaded?: boolean;
  /** Combinations of filter fields some view shows every row of (see `rowsTags`); each a list of filter fields. */
  readonly whole?: readonly (readonly string[])[];
}

/** A term this long or longer matches anywhere in the text; shorter, only its start. */
export const SUBSTRING_TERM = 3;

/** A row's own tag: what pages showing it depend on. */
export const rowTag = (family: Family, id: number) => `${family.name}:${id}`;

/** The tag of a whole family, for changes that touch all of its rows at once. */
export const familyTag = (family: Family) => `${family.name}#*`;

/** The membership tag of one combination of filter values (fields in the family's order, values escaped). */
function comboKey(family: Family, filters: Readonly<Record<string, FieldValue>>): string {
  const parts = family.filters.filter((f) => filters[f] !== undefined).map((f) => `${f}=${encodeURIComponent(String(filters[f]))}`);
  return `${family.name}?${parts.join('&')}`;
}

/**
 * What a list page filtered by `filters` (field to value; a field absent is not filtered) and sorted on `sortedBy`
 * depends on before its data is read. Its rows' own tags come from `shownTags`, once read.
 */
export function listTags(family: Family, filters: Readonly<Record<string, FieldValue>>, sortedBy: readonly string[]): string[] {
  const unknown = Object.keys(filters).filter((f) => !family.filters.includes(f));
  if (unknown.length > 0) throw new Error(`${family.name} is not filtered by ${unknown.join(', ')}`);
  const combo = comboKey(family, filters);
  return [...whole(family), `${combo}#n`, ...sortedBy.filter((f) => family.sorts.includes(f)).map((f) => `${combo}#by:${f}`)];
}

/** What a search page for `term` depends on before its data is read (see the opening comment). */
export function searchTags(family: Family, term: string): string[] {
  const folded = fold(term);
  return [...whole(family), folded.length >= SUBSTRING_TERM ? `${family.name}~${folded.slice(0, SUBSTRING_TERM)}` : `${family.name}^${folded}`];
}

/** The family's tag, for the pages of a family some change touches all at once. */
const whole = (family: Family) => (family.cascaded ? [familyTag(family)] : []);

/**
 * What a view showing every row of the combination `filters` depends on (every field of each, no paging): which rows
 * (membership), and any change to any of them. `filters` must be one of the family's `whole` combinations.
 */
export function rowsTags(family: Family, filters: Readonly<Record<string, FieldValue>>): string[] {
  const fields = Object.keys(filters);
  const declared = (family.whole ?? []).some((w) => w.length === fields.length && w.every((f) => fields.includes(f)));
  if (!declared) throw new Error(`${family.name} does not declare the whole combination ${fields.join(', ')}`);
  return [...listTags(family, filters, []), `${comboKey(family, filters)}#rows`];
}

/** The tags of the rows a page shows (their ids), read once the page is. */
export function shownTags(family: Family, rows: readonly { id: number }[]): string[] {
  return rows.map((row) => rowTag(family, row.id));
}

/**
 * Every tag a change of row `id` touches, given the row's fields before (null: created) and after (null: deleted).
 * Pages depending on none of them show the same data after the change as before.
 */
export function changeTags(family: Family, id: number, before: Row | null, after: Row | null): string[] {
  const tags = new Set([rowTag(family, id)]);
  const combosOf = (row: Row | null) => (row ? subsets(family.filters).map((fields) => comboKey(family, pick(row, fields))) : []);
  const beforeCombos = combosOf(before);
  const afterCombos = combosOf(after);
  // Membership: a combination the row enters or leaves (all of them for a create or a delete).
  const kept = new Set(beforeCombos.filter((c) => afterCombos.includes(c)));
  for (const combo of [...beforeCombos, ...afterCombos]) if (!kept.has(combo)) tags.add(`${combo}#n`);
  // Order: a sort field whose value changed, in every combination the row is in before or after.
  for (const field of family.sorts) {
    if (before && after && before[field] !== after[field]) for (const combo of new Set([...beforeCombos, ...afterCombos])) tags.add(`${combo}#by:${field}`);
  }
  // Whole combinations: any change of a row, in the combination it is in before and after.
  for (const fields of family.whole ?? []) for (const row of [before, after]) if (row) tags.add(`${comboKey(family, pick(row, fields))}#rows`);
  // Terms: the searched texts that changed (all of them for a create or a delete), before and after.
  for (const field of family.searches) {
    if (before && after && before[field] === after[field]) continue;
    for (const row of [before, after]) {
      const value = row?.[field];
      if (typeof value === 'string') for (const tag of termTags(family, value)) tags.add(tag);
    }
  }
  return [...tags];
}

/** The term tags of a searched text: each of its trigrams, and its 1- and 2-character starts. */
function termTags(family: Family, text: string): string[] {
  const folded = fold(text);
  const tags = new Set<string>();
  for (let i = 1; i <= Math.min(SUBSTRING_TERM - 1, folded.length); i++) tags.add(`${family.name}^${folded.slice(0, i)}`);
  for (let i = 0; i + SUBSTRING_TERM <= folded.length; i++) tags.add(`${family.name}~${folded.slice(i, i + SUBSTRING_TERM)}`);
  return [...tags];
}

/** Characters whose case mapping leaves ASCII for an ASCII letter, or the reverse (Unicode's special cases). */
const TO_ASCII: Record<string, string> = { '\u0130': 'i', '\u0131': 'i', '\u017f': 's', '\u212a': 'k' };

/**
 * Text folded for term tags, one character per code point, so both sides agree with PostgreSQL's case-insensitive
 * match whatever its locale does with letters beyond ASCII: ASCII is lower-cased, every other character is one
 * wildcard (`~`). Coarser than the database's match, never finer: a row the database matches always shares the tag.
 */
export function fold(text: string): string {
  let folded = '';
  for (const char of text) {
    const special = TO_ASCII[char];
    if (special) folded += special;
    else folded += char.charCodeAt(0) < 0x80 ? char.toLowerCase() : '~';
  }
  return folded;
}

/** Every subset of `fields` (the combinations a list can filter on), the empty one included. */
function subsets(fields: readonly string[]): string[][] {
  return fields.reduce<string[][]>((all, field) => [...all, ...all.map((s) => [...s, field])], [[]]);
}

function pick(row: Row, fields: readonly string[]): Record<string, FieldValue> {
  return Object.fromEntries(fields.map((f) => [f, row[f] ?? null]));
}
