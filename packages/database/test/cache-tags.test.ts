import { TAGS, tagsForChange } from '../src';

describe('which write touches which cached view', () => {
  it('an organisation rename touches its detail, lists and search, and the people who embed it, but not the stats', () => {
    expect(tagsForChange({ entity: 'organisation', kind: 'updated', id: 3, peopleIds: [7, 8], fields: ['name'] }).sort())
      .toEqual(['organisation:3', 'organisations', 'person:7', 'person:8'].sort());
  });

  it('what the stats count or average, a creation and a deletion touch the stats', () => {
    for (const fields of [['category'], ['isActive'], ['annualRevenue', 'name']]) {
      expect(tagsForChange({ entity: 'organisation', kind: 'updated', id: 3, peopleIds: [], fields })).toContain(TAGS.organisationStats);
    }
    expect(tagsForChange({ entity: 'organisation', kind: 'created', id: 3, peopleIds: [] })).toContain(TAGS.organisationStats);
    // Fields unknown: assume the worst.
    expect(tagsForChange({ entity: 'organisation', kind: 'updated', id: 3, peopleIds: [] })).toContain(TAGS.organisationStats);
  });

  it("deleting an organisation detaches people and interactions: people lists and every person's interactions list", () => {
    expect(tagsForChange({ entity: 'organisation', kind: 'deleted', id: 3, peopleIds: [7] }))
      .toEqual(expect.arrayContaining([TAGS.people, TAGS.interactions, TAGS.allPersonInteractions, 'person:7', TAGS.organisationStats]));
  });

  it('deleting an organisation deletes its mandats and detaches its interactions: every mandat and interaction detail', () => {
    expect(tagsForChange({ entity: 'organisation', kind: 'deleted', id: 3, peopleIds: [] }))
      .toEqual(expect.arrayContaining([TAGS.mandatDetails, TAGS.interactionDetails]));
    expect(tagsForChange({ entity: 'organisation', kind: 'updated', id: 3, peopleIds: [] })).not.toContain(TAGS.mandatDetails);
  });

  it("a mandat touches its detail and its organisation's detail (which embeds it), no other mandat", () => {
    expect(tagsForChange({ entity: 'mandat', kind: 'updated', id: 6, organisationId: 3 })).toEqual(['mandat:6', 'organisation:3']);
  });

  it("an interaction touches its detail, the interactions list and its person's list (both, when it moves)", () => {
    expect(tagsForChange({ entity: 'interaction', kind: 'updated', id: 1, personIds: [4, 5] }))
      .toEqual(['interaction:1', TAGS.interactions, 'interactions:person:4', 'interactions:person:5']);
  });

  it("a person moving between organisations touches both organisations' details (their contacts)", () => {
    expect(tagsForChange({ entity: 'person', kind: 'updated', id: 9, organisationIds: [1, 2] }))
      .toEqual(['person:9', TAGS.people, 'organisation:1', 'organisation:2']);
    expect(tagsForChange({ entity: 'person', kind: 'deleted', id: 9, organisationIds: [null] }))
      .toEqual(['person:9', TAGS.people, TAGS.interactions, 'interactions:person:9', TAGS.interactionDetails]);
  });
});
