/** Every prefix has a TTL, every view resolves one, and the table derived from the views is the contract's. */
import { allViews, CachePrefix, PREFIX_TTLS, ttlOf, ttlTable } from '../src';

const isTtl = (seconds: unknown) => Number.isInteger(seconds) && (seconds as number) > 0;

describe('TTLs', () => {
  it('every prefix of the enum has one (besides the compiler, which refuses a prefix missing from PREFIX_TTLS)', () => {
    const table = ttlTable();
    const missing = Object.values(CachePrefix).filter((prefix) => !isTtl(PREFIX_TTLS[prefix]) || !isTtl(table[prefix]?.['*']));
    expect(missing).toEqual([]);
  });

  it('every view has one, and no two views share a prefix and operation (they would share keys)', () => {
    const views = allViews();
    expect(views.filter(({ view }) => !isTtl(view.ttl)).map((v) => v.name)).toEqual([]);
    const keys = views.map(({ view }) => `${view.prefix}:${view.operation}`);
    expect(keys.filter((key, i) => keys.indexOf(key) !== i)).toEqual([]);
  });

  it("derive from the views as the contract's table (docs/contract.md#ttls)", () => {
    expect(ttlTable()).toEqual({
      organisations: { list: 300, stats: 300, detail: 600, search: 600, mandats: 600, mandat: 300, '*': 300 },
      people: { list: 300, search: 300, detail: 300, '*': 300 },
      interactions: { list: 60, 'by-person': 60, detail: 60, '*': 60 },
      produits: { list: 3600, detail: 3600, '*': 3600 },
    });
  });

  it('CACHE_TTL_<PREFIX> sets every view of its prefix, and no other', () => {
    for (const { view } of allViews()) {
      expect(ttlOf(view, { organisations: 120 })).toBe(view.prefix === CachePrefix.Organisations ? 120 : view.ttl);
      expect(ttlOf(view, { organisations: 0 })).toBe(view.prefix === CachePrefix.Organisations ? 0 : view.ttl);
    }
  });
});
