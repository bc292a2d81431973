import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { byteOrderedFamilies } from '@crm/database';
import { keysOnEveryNode, waitFor } from '@crm/testing';
import { startHarness, type Harness } from './harness';

// A write invalidates only the cached responses whose content it changes: what a user sees is a HIT on every page
// the write left as it was, and a fresh MISS on every page it changed.
let h: Harness;
beforeAll(async () => { h = await startHarness({ cache: true }); });
afterAll(() => h.close());

const get = (url: string) => request(h.app).get(url).set(h.auth('reader'));
const editor = () => h.auth('editor');
/** A miss answers before its entry is stored: wait until no fill is in flight. */
const waitForStore = () => waitFor(async () => (await keysOnEveryNode(h.redis!, `${h.cache!.namespace}:*:fill`)).length === 0, 'the fill to be stored');
const create = async (body: Record<string, unknown>) =>
  (await request(h.app).post('/api/v1/organisations').set(editor()).send(body).expect(201)).body as { id: number; name: string };

/** Reads each URL until it is cached (a HIT), so what follows starts from cached pages. */
async function cache(urls: string[]): Promise<void> {
  for (const url of urls) await get(url);
  await waitForStore();
  for (const url of urls) expect([url, (await get(url)).headers['x-cache']]).toEqual([url, 'HIT']);
}
const results = async (urls: string[]) => Promise.all(urls.map(async (url) => [url, (await get(url)).headers['x-cache']]));

describe('precise invalidation', () => {
  const word = `w${randomUUID().slice(0, 6)}`;
  let shown: { id: number };
  let notShown: { id: number };
  beforeAll(async () => {
    shown = await create({ name: `${word} Alpha`, category: 'institution' });
    notShown = await create({ name: `${word} Beta`, category: 'institution' });
  });
  // Page 1 of institutions holds one organisation (the oldest institution); search pages for the word.
  const firstPage = '/api/v1/organisations?category=institution&limit=1';
  const other = '/api/v1/organisations?category=other&limit=5';

  it('a create in one category leaves the other categories\' pages cached, and refreshes its own (total included)', async () => {
    await cache([other, '/api/v1/organisations?category=wholesale']);
    const before = (await get(firstPage)).body.total as number;
    await create({ name: `${word} Gamma`, category: 'institution' });
    expect(await results([other, '/api/v1/organisations?category=wholesale'])).toEqual([[other, 'HIT'], ['/api/v1/organisations?category=wholesale', 'HIT']]);
    const page = await get(firstPage);
    expect(page.headers['x-cache']).toBe('MISS');
    expect(page.body.total).toBe(before + 1);
  });

  it('an update of an organisation a page does not show, in a field no list filters or sorts on, leaves the page cached', async () => {
    const page = `/api/v1/organisations/search?q=${word}&limit=1`;
    await cache([page]);
    expect((await get(page)).body.items.map((o: { id: number }) => o.id)).toEqual([shown.id]);
    await request(h.app).patch(`/api/v1/organisations/${notShown.id}`).set(editor()).send({ website: 'https://beta.example' }).expect(200);
    expect((await get(page)).headers['x-cache']).toBe('HIT');
    // ... and the one it shows changes it.
    await request(h.app).patch(`/api/v1/organisations/${shown.id}`).set(editor()).send({ website: 'https://alpha.example' }).expect(200);
    const after = await get(page);
    expect(after.headers['x-cache']).toBe('MISS');
    expect(after.body.items[0].website).toBe('https://alpha.example');
  });

  it('a rename touches the searches of its old and new names only', async () => {
    const renamed = await create({ name: `${word} Delta`, category: 'corporate' });
    const unrelated = `/api/v1/organisations/search?q=zz${word}`;
    const newName = `/api/v1/organisations/search?q=${word}ren`;
    await cache([unrelated, newName]);
    await request(h.app).patch(`/api/v1/organisations/${renamed.id}`).set(editor()).send({ name: `${word}renamed` }).expect(200);
    expect((await get(unrelated)).headers['x-cache']).toBe('HIT');
    const found = await get(newName);
    expect(found.headers['x-cache']).toBe('MISS');
    expect(found.body.items.map((o: { id: number }) => o.id)).toEqual([renamed.id]);
  });

  it('a rename far from a page sorted by name leaves it cached; one into its range or across it refreshes it', async () => {
    // Where PostgreSQL compares names by bytes (C collation, as the tests' database): a page sorted by name depends on
    // its range of names. Under a linguistic collation every rename refreshes the pages sorted by name.
    const ranged = (await byteOrderedFamilies(h.orm)).includes('organisation');
    const first = await create({ name: `Ab${word} 1`, category: 'advisor' });
    await create({ name: `Ab${word} 3`, category: 'advisor' });
    const far = await create({ name: `Zz${word}`, category: 'advisor' });
    const page = '/api/v1/organisations?category=advisor&sort=name&limit=2';
    const rename = (id: number, name: string) => request(h.app).patch(`/api/v1/organisations/${id}`).set(editor()).send({ name }).expect(200);
    const names = async () => { const res = await get(page); return [res.headers['x-cache'], ...res.body.items.map((o: { name: string }) => o.name)]; };

    await cache([page]);
    await rename(far.id, `Zy${word}`);
    expect(await names()).toEqual([ranged ? 'HIT' : 'MISS', `Ab${word} 1`, `Ab${word} 3`]);
    await cache([page]);
    await rename(far.id, `Ab${word} 2`); // into the page's range
    expect(await names()).toEqual(['MISS', `Ab${word} 1`, `Ab${word} 2`]);
    await cache([page]);
    await rename(first.id, `Zz${word} 1`); // out of it
    expect(await names()).toEqual(['MISS', `Ab${word} 2`, `Ab${word} 3`]);
  });

  it('a category change refreshes both categories\' pages and the stats', async () => {
    const moving = await create({ name: `${word} Mover`, category: 'advisor' });
    const advisor = '/api/v1/organisations?category=advisor&limit=500';
    const wholesale = '/api/v1/organisations?category=wholesale&limit=500';
    await cache([advisor, wholesale, '/api/v1/organisations/stats', other]);
    await request(h.app).patch(`/api/v1/organisations/${moving.id}`).set(editor()).send({ category: 'wholesale' }).expect(200);
    const [a, w] = [await get(advisor), await get(wholesale)];
    expect([a.headers['x-cache'], w.headers['x-cache']]).toEqual(['MISS', 'MISS']);
    expect(a.body.items.some((o: { id: number }) => o.id === moving.id)).toBe(false);
    expect(w.body.items.some((o: { id: number }) => o.id === moving.id)).toBe(true);
    expect((await get('/api/v1/organisations/stats')).headers['x-cache']).toBe('MISS');
    expect((await get(other)).headers['x-cache']).toBe('HIT');
  });

  it("a mandat's change refreshes its organisation's detail and mandats, not another organisation's", async () => {
    const a = await create({ name: `${word} A`, category: 'other' });
    const b = await create({ name: `${word} B`, category: 'other' });
    const mandat = (await request(h.app).post(`/api/v1/organisations/${a.id}/mandats`).set(editor())
      .send({ type: 'advisory', status: 'pending', startDate: '2024-01-01' }).expect(201)).body as { id: number };
    const urls = [`/api/v1/organisations/${a.id}`, `/api/v1/organisations/${a.id}/mandats`, `/api/v1/organisations/${b.id}`, `/api/v1/organisations/${b.id}/mandats`];
    await cache(urls);
    await request(h.app).patch(`/api/v1/mandats/${mandat.id}`).set(editor()).send({ status: 'active' }).expect(200);
    expect(await results(urls)).toEqual([[urls[0], 'MISS'], [urls[1], 'MISS'], [urls[2], 'HIT'], [urls[3], 'HIT']]);
    expect((await get(urls[1]!)).body.items[0].status).toBe('active');
  });
});
