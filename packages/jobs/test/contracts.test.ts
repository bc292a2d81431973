import { invalidationJob, warmupTargetsFor } from '../src';

describe('warm-up targets of an event', () => {
  it("an organisation write refills its detail and the organisations list; a delete only the list", () => {
    expect(warmupTargetsFor({ event: 'organisation.updated', entity: 'organisation', id: 7, payload: {} })).toEqual([
      { service: 'organisations-api', path: '/organisations/7' },
      { service: 'organisations-api', path: '/organisations' },
    ]);
    expect(warmupTargetsFor({ event: 'organisation.deleted', entity: 'organisation', id: 7, payload: {} })).toEqual([
      { service: 'organisations-api', path: '/organisations' },
    ]);
  });

  it('people and interactions are warmed through the people API; a mandat through its organisation', () => {
    expect(warmupTargetsFor({ event: 'person.created', entity: 'person', id: 3, payload: {} }).map((t) => t.service)).toEqual(['people-api', 'people-api']);
    expect(warmupTargetsFor({ event: 'interaction.created', entity: 'interaction', id: 9, payload: {} })).toEqual([{ service: 'people-api', path: '/interactions' }]);
    expect(warmupTargetsFor({ event: 'mandat.updated', entity: 'mandat', id: 2, payload: { organisationId: 5 } })).toEqual([
      { service: 'organisations-api', path: '/organisations/5' },
      { service: 'organisations-api', path: '/organisations/5/mandats' },
    ]);
    expect(warmupTargetsFor({ event: 'cache.invalidated', entity: 'cache', id: 0, payload: { prefix: 'produits' } })).toEqual([]);
  });
});

describe('the cache-invalidation job contract', () => {
  it('accepts the contract fields and rejects a malformed job', () => {
    const job = { event: 'person.updated', entity: 'person', id: 1, tags: ['person:1'], occurredAt: new Date().toISOString(), eventId: '12' };
    expect(invalidationJob.parse(job)).toEqual({ ...job, payload: {}, trace: null });
    expect(invalidationJob.safeParse({ ...job, event: 'person.renamed' }).success).toBe(false);
    expect(invalidationJob.safeParse({ ...job, eventId: 'x' }).success).toBe(false);
  });
});
