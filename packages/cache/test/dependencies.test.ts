import fc from 'fast-check';
import {
  changeTags, fold, leafOf, listTags, moveTags, pageRangeTags, rangeTags, rowsTags, searchTags, setByteOrdered, shownTags, type Family, type FieldValue, type Row,
} from '../src/dependencies';

// The mechanism's promise, checked on random data: whenever a change alters what a page shows (its rows, their
// order, their fields, its total), the change's tags and the page's tags meet. A reference computes each page the
// way the database would, before and after the change.
const FAMILY: Family = { name: 'org', filters: ['category', 'isActive'], sorts: ['name'], searches: ['name'], cascaded: true, whole: [['category']], rangeField: 'name' };

interface Item { id: number; category: string; isActive: boolean; name: string; revenue: number }
type Page =
  | { kind: 'list'; filters: Record<string, string | boolean>; sort: 'id' | 'name'; offset: number; limit: number }
  | { kind: 'search'; term: string; offset: number; limit: number }
  | { kind: 'whole'; category: string };

const rowOf = (item: Item): Row => ({ category: item.category, isActive: item.isActive, name: item.name });

/** What the page shows: its rows (every field) and its total. */
function render(items: Item[], page: Page): string {
  // Every row of a category, with every field (revenue too, which no change's row carries), unpaged.
  if (page.kind === 'whole') return JSON.stringify(items.filter((i) => i.category === page.category).sort((a, b) => a.id - b.id));
  const matching = page.kind === 'list'
    ? items.filter((i) => Object.entries(page.filters).every(([f, v]) => (i as unknown as Record<string, unknown>)[f] === v))
    : items.filter((i) => (page.term.length >= 3 ? i.name.toLowerCase().includes(page.term.toLowerCase()) : i.name.toLowerCase().startsWith(page.term.toLowerCase())));
  const sorted = [...matching].sort((a, b) => (page.kind === 'list' && page.sort === 'name' && a.name !== b.name ? (a.name < b.name ? -1 : 1) : a.id - b.id));
  return JSON.stringify({ rows: sorted.slice(page.offset, page.offset + page.limit), total: matching.length });
}

function pageTags(items: Item[], page: Page): string[] {
  if (page.kind === 'whole') return rowsTags(FAMILY, { category: page.category }); // nothing read after the data
  const shown = JSON.parse(render(items, page)) as { rows: Item[] };
  const sortedBy = page.kind === 'list' && page.sort === 'name' ? ['name'] : [];
  const before = page.kind === 'list' ? listTags(FAMILY, page.filters, sortedBy) : searchTags(FAMILY, page.term);
  return [...before, ...shownTags(FAMILY, shown.rows), ...(page.kind === 'list' ? pageRangeTags(FAMILY, sortedBy, shown.rows as unknown as Record<string, unknown>[]) : [])];
}

const letters = fc.constantFrom('a', 'b', 'B', 'c', 'É', 'é', '%');
const name = fc.string({ unit: letters, minLength: 1, maxLength: 5 });
const category = fc.constantFrom('x', 'y');
const item = (id: number) => fc.record({ id: fc.constant(id), category, isActive: fc.boolean(), name, revenue: fc.nat(3) });
const items = fc.integer({ min: 0, max: 8 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => item(i + 1))));
const page: fc.Arbitrary<Page> = fc.oneof(
  fc.record({
    kind: fc.constant('list' as const),
    filters: fc.record({ category, isActive: fc.boolean() }, { requiredKeys: [] }),
    sort: fc.constantFrom('id' as const, 'name' as const),
    offset: fc.nat(4), limit: fc.integer({ min: 1, max: 3 }),
  }),
  fc.record({ kind: fc.constant('search' as const), term: name, offset: fc.nat(2), limit: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('whole' as const), category }),
);
/** A change: the index of the row it touches (or a create), and the new row (null: a delete). */
const change = fc.record({ target: fc.nat(9), replacement: fc.option(fc.record({ category, isActive: fc.boolean(), name, revenue: fc.nat(3) }), { nil: null }) });

describe.each([
  ['coarse: every change of the sort field', false],
  // The reference sorts by UTF-16 code units: the same order as UTF-8 bytes for these letters (no surrogates).
  ['ranges: the database orders names by bytes', true],
])('page dependencies and change tags (%s)', (_order, byteOrdered) => {
  beforeAll(() => setByteOrdered(byteOrdered ? [FAMILY.name] : []));
  afterAll(() => setByteOrdered([]));

  it('a change that alters a page always touches one of the page\'s tags', () => {
    fc.assert(fc.property(items, page, change, (before, viewed, { target, replacement }) => {
      const existing = before[target];
      const id = existing?.id ?? before.length + 1;
      if (!existing && !replacement) return; // deleting nothing
      const after = existing
        ? before.flatMap((i) => (i.id !== id ? [i] : replacement ? [{ ...replacement, id }] : []))
        : [...before, { ...replacement!, id }];
      if (render(before, viewed) === render(after, viewed)) return;
      const touched = new Set(changeTags(FAMILY, id, existing ? rowOf(existing) : null, replacement ? rowOf({ ...replacement, id }) : null));
      expect(pageTags(before, viewed).filter((t) => touched.has(t))).not.toEqual([]);
    }), { numRuns: 5_000 });
  });
});

describe('page dependencies and change tags', () => {

  it('a change of a field no page filters, sorts or searches touches only the row\'s own tag', () => {
    const row = { category: 'x', isActive: true, name: 'Acme' };
    expect(changeTags({ ...FAMILY, whole: [] }, 7, row, row)).toEqual(['org:7']);
    // ... and, when some view shows every row of its combination, that combination's.
    expect(changeTags(FAMILY, 7, row, row)).toEqual(['org:7', 'org?category=x#rows']);
  });

  it('a create in one category leaves the other category\'s lists alone, and touches its own', () => {
    const tags = changeTags(FAMILY, 9, null, { category: 'x', isActive: true, name: 'Acme' });
    expect(tags).toContain(listTags(FAMILY, { category: 'x' }, [])[1]);
    expect(tags).not.toContain(listTags(FAMILY, { category: 'y' }, [])[1]);
  });

  it('a rename touches the searches of its old and new name, not others', () => {
    const tags = changeTags(FAMILY, 9, { category: 'x', isActive: true, name: 'Acme' }, { category: 'x', isActive: true, name: 'Zeta' });
    expect(tags).toEqual(expect.arrayContaining([searchTags(FAMILY, 'cme')[1], searchTags(FAMILY, 'eta')[1], searchTags(FAMILY, 'ac')[1]]));
    expect(tags).not.toContain(searchTags(FAMILY, 'bob')[1]);
    // Only the lists sorted by name in its combinations, not their membership.
    expect(tags).toContain(listTags(FAMILY, { category: 'x' }, ['name'])[2]);
    expect(tags).not.toContain(listTags(FAMILY, { category: 'x' }, [])[1]);
  });

  it('folds case like the database, and every character beyond ASCII to one wildcard', () => {
    expect(fold('AbC%_')).toBe('abc%_');
    expect(fold('Émile')).toBe('~mile');
    expect(fold('\u212a')).toBe('k');
  });

  it('a page sorted by name, where names compare by bytes, is left alone by a rename far from its range and not by one into it', () => {
    setByteOrdered([FAMILY.name]);
    try {
      const page = [...listTags(FAMILY, { category: 'x' }, ['name']), ...pageRangeTags(FAMILY, ['name'], [{ name: 'Acme' }, { name: 'Apex' }])];
      expect(page).not.toContain('org?category=x#by:name'); // no coarse order tag
      const rename = (from: string, to: string) => new Set(changeTags(FAMILY, 9, { category: 'x', isActive: true, name: from }, { category: 'x', isActive: true, name: to }));
      const meets = (tags: Set<string>) => page.some((t) => tags.has(t));
      expect(meets(rename('Mango', 'Melon'))).toBe(false);
      expect(meets(rename('Mango', 'Aqua'))).toBe(false); // after its last row, still after it
      expect(meets(rename('Mango', 'Adam'))).toBe(true); // enters the page
      expect(meets(rename('Aaron', 'Zed'))).toBe(true); // crosses it: every row of an offset page moves up one
      expect(meets(rename('Acme', 'Acme'.toLowerCase()))).toBe(true); // leaves it
    } finally {
      setByteOrdered([]);
    }
  });

  it('two ranges of keys share a tag exactly when they overlap (leaves: the first two UTF-8 bytes; null last)', () => {
    const key: fc.Arbitrary<FieldValue> = fc.oneof(
      fc.string({ unit: fc.constantFrom('a', 'b', 'Z', ' ', '~', '\u00e9', '\u{1F600}'), maxLength: 3 }),
      fc.constant(null),
    );
    fc.assert(fc.property(key, key, key, key, (first, last, from, to) => {
      const [a, b] = [leafOf(first), leafOf(last)].sort((x, y) => x - y);
      const [c, d] = [leafOf(from), leafOf(to)].sort((x, y) => x - y);
      const page = new Set(rangeTags(FAMILY, first, last));
      expect(moveTags(FAMILY, from, to).some((t) => page.has(t))).toBe(a! <= d! && c! <= b!);
    }), { numRuns: 20_000 });
    expect(leafOf(null)).toBeGreaterThan(leafOf('\u{10FFFF}'));
    expect(leafOf('A')).toBeLessThan(leafOf('A '));
  });
});
