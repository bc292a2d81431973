import type { Request, Response } from 'express';
import { Organisation, requestContext } from '../src';
import { useTestDatabase } from './fixture';

const db = useTestDatabase(4);

/** Runs `fn` as the HTTP request context runs a request's handlers. */
const asRequest = <T>(fn: () => Promise<T>): Promise<T> => new Promise<T>((resolve, reject) => {
  requestContext(db.orm)({} as Request, {} as Response, () => { fn().then(resolve, reject); });
});

describe('the request context', () => {
  it('gives each request its own identity map, forked when the request first uses the ORM', async () => {
    const em = db.orm.em.fork();
    const org = em.create(Organisation, { name: 'Acme', category: 'corporate' });
    await em.flush();

    const load = () => db.orm.em.findOneOrFail(Organisation, org.id);
    const [a, b] = await Promise.all([
      asRequest(async () => [await load(), await load()] as const),
      asRequest(async () => { const loaded = await load(); loaded.name = 'changed, unflushed'; return [loaded, await load()] as const; }),
    ]);
    // One request: one identity map (the same object twice). Two requests: two maps, no shared change.
    expect(a[0]).toBe(a[1]);
    expect(b[0]).toBe(b[1]);
    expect(a[0]).not.toBe(b[0]);
    expect(a[0].name).toBe('Acme');
  });

  it('outside a request, the global manager still refuses context-specific work', async () => {
    await expect(db.orm.em.findOne(Organisation, 1)).rejects.toThrow(/global EntityManager/);
  });
});
