import { ROWS, TAGS, tagsForChange } from '../src';

// Which write touches which cached view: the row's tags (its own, the combinations it enters or leaves, the sort
// orders and search terms it moves; see @crm/cache/dependencies), plus the stats and the cascades.
const acme = ROWS.organisation({ category: 'advisor', isActive: true, name: 'Acme', annualRevenue: 10 });

describe('which write touches which cached view', () => {
  it('an organisation rename touches its row, the name-sorted lists of its combinations and the searches of both names, not the stats', () => {
    const tags = tagsForChange({ entity: 'organisation', kind: 'updated', id: 3, before: acme, after: { ...acme, name: 'Zeta' } });
    expect(tags).toEqual(expect.arrayContaining(['organisation:3', 'organisation?category=advisor&isActive=true#by:name', 'organisation~acm', 'organisation~zet', 'organisation^a', 'organisation^ze']));
    expect(tags).not.toContain(TAGS.organisationStats);
    // Which organisations each list holds did not change.
    expect(tags.filter((t) => t.endsWith('#n'))).toEqual([]);
  });

  it('a change of a field no view filters, sorts or searches touches only the row (and the stats when they use it)', () => {
    expect(tagsForChange({ entity: 'organisation', kind: 'updated', id: 3, before: acme, after: acme })).toEqual(['organisation:3']);
    expect(tagsForChange({ entity: 'organisation', kind: 'updated', id: 3, before: acme, after: { ...acme, annualRevenue: 11 } }))
      .toEqual(['organisation:3', TAGS.organisationStats]);
  });

  it('a category change moves the row between combinations: both lose or gain it, the unfiltered ones do not', () => {
    const tags = tagsForChange({ entity: 'organisation', kind: 'updated', id: 3, before: acme, after: { ...acme, category: 'corporate' } });
    expect(tags).toEqual(expect.arrayContaining(['organisation?category=advisor#n', 'organisation?category=corporate#n', 'organisation?category=advisor&isActive=true#n', TAGS.organisationStats]));
    expect(tags).not.toContain('organisation?#n');
    expect(tags).not.toContain('organisation?isActive=true#n');
  });

  it('a creation touches its combinations, not other categories', () => {
    const tags = tagsForChange({ entity: 'organisation', kind: 'created', id: 3, before: null, after: acme });
    expect(tags).toEqual(expect.arrayContaining(['organisation?#n', 'organisation?category=advisor#n', TAGS.organisationStats]));
    expect(tags.some((t) => t.includes('category=corporate'))).toBe(false);
  });

  it('deleting an organisation deletes its mandats and detaches its people and interactions: those families entirely', () => {
    expect(tagsForChange({ entity: 'organisation', kind: 'deleted', id: 3, before: acme, after: null }))
      .toEqual(expect.arrayContaining([TAGS.family('mandat'), TAGS.family('person'), TAGS.family('interaction'), 'organisation:3']));
    expect(tagsForChange({ entity: 'organisation', kind: 'updated', id: 3, before: acme, after: acme })).not.toContain(TAGS.family('mandat'));
  });

  it("a person's title change touches only their row (their detail, the pages that show them) and their organisation's contacts", () => {
    const person = ROWS.person({ organisation: 1, firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com' });
    expect(tagsForChange({ entity: 'person', kind: 'updated', id: 9, before: person, after: person })).toEqual(['person:9', 'person?organisationId=1#rows']);
  });

  it('a person moving between organisations changes both contact lists; a deletion deletes their interactions', () => {
    const person = ROWS.person({ organisation: 1, firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com' });
    expect(tagsForChange({ entity: 'person', kind: 'updated', id: 9, before: person, after: { ...person, organisationId: 2 } }))
      .toEqual(expect.arrayContaining(['person?organisationId=1#n', 'person?organisationId=2#n']));
    expect(tagsForChange({ entity: 'person', kind: 'deleted', id: 9, before: person, after: null })).toContain(TAGS.family('interaction'));
  });

  it("a mandat's status change touches only its row and its organisation's mandats; a new one their membership too", () => {
    const mandat = ROWS.mandat({ organisation: 3, startDate: '2024-01-01' });
    expect(tagsForChange({ entity: 'mandat', kind: 'updated', id: 6, before: mandat, after: mandat })).toEqual(['mandat:6', 'mandat?organisationId=3#rows']);
    expect(tagsForChange({ entity: 'mandat', kind: 'created', id: 6, before: null, after: mandat })).toContain('mandat?organisationId=3#n');
  });
});
