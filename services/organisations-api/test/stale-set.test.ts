import request from 'supertest';
import { byteOrderedFamilies, EntityManager } from '@crm/database';
import { startHarness, type Harness } from './harness';

// "No stale set", forced deterministically: a read misses and reads the database, then is held while a write
// commits, invalidates and answers; only then does the read answer and store what it read. The next read
// must not be served that old result.

let h: Harness;
beforeAll(async () => { h = await startHarness({ cache: true }); });
afterAll(() => h.close());

afterEach(() => jest.restoreAllMocks());

const get = (url: string) => request(h.app).get(url).set(h.auth('reader'));
const patch = (url: string, body: Record<string, unknown>) => request(h.app).patch(url).set(h.auth('editor')).send(body);

/** How a route reads: the detail runs one SQL statement (src/detail.ts), the lists go through the ORM. */
type ReadMethod = 'execute' | 'find';

/**
 * Holds the next call of `method` (the read connection's `execute`, or `find` on any EntityManager: the reader's
 * request context) once it has its rows from the database: `read` resolves then, and the call returns only after
 * `release()`. Later calls run as usual.
 */
function holdNextRead(method: ReadMethod): { read: Promise<void>; release: () => void } {
  const target = (method === 'execute' ? h.orm.em.getConnection('read') : EntityManager.prototype) as unknown as Record<ReadMethod, (...args: unknown[]) => Promise<unknown>>;
  const original = target[method];
  let readDone!: () => void;
  let release!: () => void;
  const read = new Promise<void>((resolve) => { readDone = resolve; });
  const released = new Promise<void>((resolve) => { release = resolve; });
  jest.spyOn(target, method).mockImplementationOnce(async function (this: unknown, ...args: unknown[]) {
    const rows = await original.apply(this, args);
    readDone();
    await released;
    return rows;
  });
  return { read, release };
}

/** Resolves with the body the cache stores next, once the store is done (it runs after the response is sent). */
function nextStore(): Promise<{ body: string; stored: boolean }> {
  const cache = h.cache!;
  const original = cache.store.bind(cache);
  return new Promise((resolve) => {
    jest.spyOn(cache, 'store').mockImplementationOnce(async (...args: Parameters<typeof cache.store>) => {
      const result = await original(...args);
      resolve({ body: args[1].toString(), stored: result.state === 'stored' });
      return result;
    });
  });
}

async function createOrg(name: string, category = 'institution'): Promise<number> {
  const res = await request(h.app).post('/api/v1/organisations').set(h.auth('editor')).send({ name, category });
  expect(res.status).toBe(201);
  return res.body.id as number;
}

type Body = request.Response['body'];
const names = (body: Body): string[] => (body.items as { name: string }[]).map((o) => o.name);

describe('no stale set', () => {
  // The detail's tag is known before the read: its old result is stored, born invalid. The list's rows are known only
  // once read: their tags are checked when it stores, and the store is refused.
  it.each<[string, ReadMethod, (id: number) => string, (body: Body) => string[], boolean]>([
    ['an organisation detail', 'execute', (id) => `/api/v1/organisations/${id}`, (body) => [body.name], true],
    ['the organisations list', 'find', () => '/api/v1/organisations?category=institution', names, false],
  ])('%s read before a write never stores its old result after the write', async (_what, method, urlOf, shown, storedOld) => {
    const id = await createOrg(`Old Name ${method}`);
    const url = urlOf(id);

    // 1. The reader misses, takes the tags' tokens and reads the old row, then is held.
    const hold = holdNextRead(method);
    const stored = nextStore();
    const reader = get(url).then((res) => res);
    await hold.read;

    // 2. Meanwhile a write commits, invalidates and answers.
    const written = await patch(`/api/v1/organisations/${id}`, { name: `New Name ${method}` });
    expect(written.status).toBe(200);

    // 3. The reader resumes: it started before the write, so it may answer the old data, and it stores it (or is refused).
    hold.release();
    const old = await reader;
    expect(old.status).toBe(200);
    expect(old.headers['x-cache']).toBe('MISS');
    expect(shown(old.body)).toContain(`Old Name ${method}`);
    // The race really happened: the old result reached Redis after the write's invalidation.
    expect(await stored).toEqual({ body: expect.stringContaining(`Old Name ${method}`), stored: storedOld });

    // 4. A read that starts after the write never sees it: the stored entry was born invalid.
    const fresh = await get(url);
    expect(fresh.status).toBe(200);
    expect(fresh.headers['x-cache']).toBe('MISS');
    expect(shown(fresh.body)).toContain(`New Name ${method}`);
    expect(fresh.text).not.toMatch(/Old Name/);
    const again = await get(url);
    expect(again.headers['x-cache']).toBe('HIT');
    expect(again.text).toBe(fresh.text);
  });

  // Where names compare by bytes, a page sorted by name depends on its range of names, known only once read: a write
  // that moves another organisation into that range while the page is read refuses its store. Elsewhere the page
  // depends on every rename, known before the read: its old result is stored, born invalid.
  it('a page sorted by name read before a rename into its range never stores its old result after the write', async () => {
    const ranged = (await byteOrderedFamilies(h.orm)).includes('organisation');
    await createOrg('Range Aa', 'other');
    await createOrg('Range Ac', 'other');
    const outside = await createOrg('Range Zz', 'other');
    const url = '/api/v1/organisations?category=other&sort=name&limit=2&page=1';
    const hold = holdNextRead('find');
    const stored = nextStore();
    const reader = get(url).then((res) => res);
    await hold.read;
    expect((await patch(`/api/v1/organisations/${outside}`, { name: 'Range Ab' })).status).toBe(200);
    hold.release();
    const old = await reader;
    expect(old.headers['x-cache']).toBe('MISS');
    expect(await stored).toEqual({ body: expect.stringContaining('Range Ac'), stored: !ranged });
    const fresh = await get(url);
    expect(fresh.headers['x-cache']).toBe('MISS');
    expect(names(fresh.body)).toEqual(['Range Aa', 'Range Ab']);
  });
});
