import { diffSummary, jsonDiff } from '../src/auditor/json-diff';

describe("the auditor's JSON comparison", () => {
  it('finds nothing between equal values, whatever the key order', () => {
    expect(jsonDiff({ a: 1, b: [1, { c: null }] }, { b: [1, { c: null }], a: 1 })).toEqual({ paths: [], count: 0 });
  });

  it('names the paths that differ, ignoring nothing (a missing field, a longer array, a type)', () => {
    const diff = jsonDiff({ name: 'a', contacts: [{ email: 'x' }], n: 1 }, { name: 'b', contacts: [{ email: 'y' }, {}], n: '1', extra: true });
    expect(diff.count).toBe(5);
    expect(diff.paths).toEqual(['name', 'contacts', 'contacts[0].email', 'n', 'extra']);
  });

  it('summarises in one short phrase, without values', () => {
    const many = jsonDiff(Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`f${i}`, i])), {});
    expect(diffSummary(many)).toBe('8 differences: f0, f1, f2, f3, f4, +3 more');
    expect(diffSummary(jsonDiff({ secret: 'value' }, { secret: 'other' }))).toBe('1 difference: secret');
  });
});
