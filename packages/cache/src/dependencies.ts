/**
 * What a cached list or search page depends on, and which of those dependencies a change of one row touches: the
 * general mechanism behind precise invalidation (`@crm/cache/dependencies`). Both sides are tags, so matching a
 * change to the pages it changes is the cache's ordinary tag invalidation: O(tags of the change), no scan.
 *
 * A page of a family of rows (e.g. organisations) filtered by equality on some fields, ordered, with a `total`:
 * - which rows it holds, and its total, change only with the membership of its filter combination (a create, a
 *   delete, a change to a filter field): one tag per combination, `<family>?<field>=<value>&...#n`;
 * - their order changes with a changed value of a mutable sort field (`name`; ids and creation times never change):
 *   `<family>?<combination>#by:<field>`, carried only by pages sorted on it; or, where the database orders the
 *   family's text sort key by bytes, only with a move that overlaps the page's range of keys (see the sort-key
 *   ranges below: a rename far from a page leaves it alone);
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
  /**
   * The text field that leads the sort key made of `sorts` (e.g. `lastName` of last name, first name): pages sorted
   * on that key depend on their range of it (see `rangeTags`) where the database orders it by bytes.
   */
  readonly rangeField?: string;
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
  // A page sorted by range depends on its range of keys instead, once read (`pageRangeTags`).
  const order = sortedByRange(family, sortedBy) ? [] : sortedBy.filter((f) => family.sorts.includes(f)).map((f) => `${combo}#by:${f}`);
  return [...whole(family), `${combo}#n`, ...order];
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
  // Order: a sort field whose value changed, in every combination the row is in before or after; and the range of
  // keys the row moves across (every replica's pages, coarse or ranged, see the change).
  for (const field of family.sorts) {
    if (before && after && before[field] !== after[field]) for (const combo of new Set([...beforeCombos, ...afterCombos])) tags.add(`${combo}#by:${field}`);
  }
  if (family.rangeField && before && after && family.sorts.some((f) => before[f] !== after[f])) {
    for (const tag of moveTags(family, before[family.rangeField] ?? null, after[family.rangeField] ?? null)) tags.add(tag);
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

/**
 * Sort-key ranges. A page sorted on a family's text sort key shows the rows whose key lies between its first row's and
 * its last's; a change of the key moves the row between its old and new key, and changes the page only if that move
 * overlaps the page's range (the row enters, leaves or crosses it: crossing shifts an offset page by one row).
 * Keys are taken at the granularity of their first two UTF-8 bytes (a leaf; null sorts last, as PostgreSQL puts it
 * ascending), which keeps the order wherever the database compares the field by bytes (C collation). Two ranges of
 * leaves are matched through their dyadic intervals (a segment tree over the leaves): each range is covered by at most
 * 2 x 17 intervals, and two ranges overlap exactly when an interval of one contains an interval of the other. So a
 * page depends on `D` of each interval of its cover and `A` of each of their ancestors, and a move touches `A` of each
 * interval of its cover and `D` of each of their ancestors and themselves: O(log leaves) tags on either side.
 */
const LEAF_LEVELS = 17;
const NULL_LEAF = 1 << 16;

/** Families whose range field the database orders by bytes, as this process found at start (`setByteOrdered`). */
const byteOrdered = new Set<string>();

/**
 * Says which families' range fields the database compares by bytes (their column's collation is C or C.UTF-8): their
 * pages depend on ranges of keys from then on. Called once at start, before serving. Changes touch range tags
 * whatever this says, so replicas that disagree still invalidate each other's pages.
 */
export function setByteOrdered(families: readonly string[]): void {
  byteOrdered.clear();
  for (const family of families) byteOrdered.add(family);
}

/** Whether a page sorted on `sortedBy` depends on its range of keys (rather than on every change of the sort fields). */
function sortedByRange(family: Family, sortedBy: readonly string[]): boolean {
  return family.rangeField !== undefined && sortedBy[0] === family.rangeField && byteOrdered.has(family.name);
}

/** The leaf of a key: its first two UTF-8 bytes, big-endian (a shorter key pads with 0, which sorts first). */
export function leafOf(value: FieldValue): number {
  if (value === null) return NULL_LEAF;
  const bytes = Buffer.from(String(value), 'utf8');
  return ((bytes[0] ?? 0) << 8) | (bytes[1] ?? 0);
}

/** The dyadic intervals (level, index at that level) that exactly cover leaves `from`..`to`. */
function cover(from: number, to: number): [number, number][] {
  const intervals: [number, number][] = [];
  let lo = Math.min(from, to);
  let hi = Math.max(from, to) + 1;
  for (let level = 0; lo < hi; level++, lo >>= 1, hi >>= 1) {
    if (lo & 1) intervals.push([level, lo++]);
    if (hi & 1) intervals.push([level, --hi]);
  }
  return intervals;
}

/** The intervals containing `interval`, itself included when `self`. */
function ancestors([level, index]: [number, number], self: boolean): [number, number][] {
  const out: [number, number][] = self ? [[level, index]] : [];
  for (let up = level + 1; up <= LEAF_LEVELS; up++) out.push([up, index >> (up - level)]);
  return out;
}

const intervalTag = (family: Family, kind: 'A' | 'D', [level, index]: [number, number]) =>
  `${family.name}#by:${family.rangeField}@${kind}${level}.${index.toString(36)}`;

/**
 * The tags of the leaves `from`..`to`: `own` of each interval of their cover, the other kind of each interval above
 * those (and of those themselves when `self`). A page and a move take opposite kinds, so they meet exactly when their
 * ranges overlap.
 */
function coverTags(family: Family, from: FieldValue, to: FieldValue, own: 'A' | 'D', self: boolean): string[] {
  const up = own === 'A' ? 'D' : 'A';
  const tags = new Set<string>();
  for (const interval of cover(leafOf(from), leafOf(to))) {
    tags.add(intervalTag(family, own, interval));
    for (const above of ancestors(interval, self)) tags.add(intervalTag(family, up, above));
  }
  return [...tags];
}

/** What a page whose keys run from `first` to `last` (its first and last rows', either order) depends on. */
export const rangeTags = (family: Family, first: FieldValue, last: FieldValue) => coverTags(family, first, last, 'D', false);

/** What a row whose key moves from `before` to `after` touches. */
export const moveTags = (family: Family, before: FieldValue, after: FieldValue) => coverTags(family, before, after, 'A', true);

/**
 * The range tags of a page sorted on `sortedBy` showing `rows` (in order; each with the range field), read once the
 * page is: none unless the page is sorted by range (see `listTags`), or when it is empty (a move changes no empty page:
 * it leaves every total as it is).
 */
export function pageRangeTags(family: Family, sortedBy: readonly string[], rows: readonly Readonly<Record<string, unknown>>[]): string[] {
  if (!sortedByRange(family, sortedBy) || rows.length === 0) return [];
  const key = (row: Readonly<Record<string, unknown>>) => (row[family.rangeField!] ?? null) as FieldValue;
  return rangeTags(family, key(rows[0]!), key(rows.at(-1)!));
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
