import { invalidationJob } from '../src';

describe('the cache-invalidation job contract', () => {
  it('accepts the contract fields and rejects a malformed job', () => {
    const job = { event: 'person.updated', entity: 'person', id: 1, tags: ['person:1'], occurredAt: new Date().toISOString(), eventId: '12' };
    expect(invalidationJob.parse(job)).toEqual({ ...job, payload: {}, trace: null });
    expect(invalidationJob.safeParse({ ...job, event: 'person.renamed' }).success).toBe(false);
    expect(invalidationJob.safeParse({ ...job, eventId: 'x' }).success).toBe(false);
  });
});
