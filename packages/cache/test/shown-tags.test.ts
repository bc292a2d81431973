import { waitFor } from '@crm/testing';
import type { ResponseCache, Lookup } from '../src';
import { useTestCaches } from './fixture';
import { FILL_MAX_AGE_MS } from '../src/tokens';

// Tags a response shows that only its data tells (the ids on a page): their tokens are read when the fill stores,
// so a write that lands between the fill's database read and its store must make the store refuse, in every order.
const caches = useTestCaches(5_000);
const newCache = () => caches.newCache();

async function answered(cache: ResponseCache, key: string, tags: string[]): Promise<Lookup> {
  let found: Lookup = { state: 'unavailable' };
  await waitFor(async () => (found = await cache.lookup(key, tags)).state !== 'unavailable', `a lookup of ${key}`);
  return found;
}

const KEY = 'organisations:list:page1';
const TAGS = ['organisation?category=advisor#n'];
const SHOWN = ['organisation:1', 'organisation:2'];
const body = Buffer.from('{"items":[1,2]}');
let events = 0;
const write = (cache: ResponseCache, tags: string[]) =>
  cache.applyEvent({ eventId: `e${++events}`, occurredAt: new Date().toISOString(), tags });

/** A fill: lookup (a miss), then the data read, then the store with the tags the data showed. */
async function missed(cache: ResponseCache): Promise<Record<string, string>> {
  const found = await answered(cache, KEY, TAGS);
  if (found.state !== 'miss') throw new Error(`expected a miss, got ${found.state}`);
  return found.versions;
}

describe('tags a response shows, read when it is stored', () => {
  it('a write to a shown entity between the fill\'s read and its store: the store is refused, the next read misses', async () => {
    const cache = newCache();
    await write(cache, SHOWN); // both entities were written before: their tokens exist
    const versions = await missed(cache);
    // ... the fill reads the page (the old organisation 2) ...
    await write(cache, ['organisation:2']);
    expect(await cache.store(KEY, body, 'application/json', versions, 60, SHOWN)).toEqual({ state: 'refused' });
    expect((await answered(cache, KEY, TAGS)).state).toBe('miss');
  });

  it('a write to a shown entity nobody had read, between the read and the store: refused too', async () => {
    const cache = newCache();
    const versions = await missed(cache);
    await write(cache, ['organisation:1']); // a short-lived token, written after the lookup
    expect((await cache.store(KEY, body, 'application/json', versions, 60, SHOWN)).state).toBe('refused');
  });

  it('a write before the fill\'s lookup: its data is new, the store succeeds and then hits', async () => {
    const cache = newCache();
    await write(cache, ['organisation:1']);
    const versions = await missed(cache);
    expect((await cache.store(KEY, body, 'application/json', versions, 60, SHOWN)).state).toBe('stored');
    expect((await answered(cache, KEY, TAGS)).state).toBe('hit');
  });

  it('a write after the store: the entry misses from then on, whichever shown entity it wrote', async () => {
    for (const written of SHOWN) {
      const cache = newCache();
      const versions = await missed(cache);
      expect((await cache.store(KEY, body, 'application/json', versions, 60, SHOWN)).state).toBe('stored');
      expect((await answered(cache, KEY, TAGS)).state).toBe('hit');
      await write(cache, [written]);
      expect((await answered(cache, KEY, TAGS)).state).toBe('miss');
    }
  });

  it('a write to an entity the page does not show leaves it a hit', async () => {
    const cache = newCache();
    const versions = await missed(cache);
    expect((await cache.store(KEY, body, 'application/json', versions, 60, SHOWN)).state).toBe('stored');
    await write(cache, ['organisation:3']);
    expect((await answered(cache, KEY, TAGS)).state).toBe('hit');
  });

  it('a write to a tag known before the read, between the read and the store: stored, but born invalid', async () => {
    const cache = newCache();
    const versions = await missed(cache);
    await write(cache, TAGS);
    await cache.store(KEY, body, 'application/json', versions, 60, SHOWN);
    expect((await answered(cache, KEY, TAGS)).state).toBe('miss');
  });

  it('a fill slower than FILL_MAX_AGE_MS stores nothing (a short-lived token it should have seen may be gone)', async () => {
    const cache = newCache();
    const versions = await missed(cache);
    const late = { ...versions, '~at': String(Date.now() - FILL_MAX_AGE_MS - 1) };
    expect((await cache.store(KEY, body, 'application/json', late, 60, SHOWN)).state).toBe('refused');
    expect((await answered(cache, KEY, TAGS)).state).toBe('miss');
  });

  it('an evicted shown token makes the entry miss (it cannot be checked)', async () => {
    const cache = newCache();
    const versions = await missed(cache);
    expect((await cache.store(KEY, body, 'application/json', versions, 60, SHOWN)).state).toBe('stored');
    await caches.redis.del(cache.keys.tag('organisation:2'));
    expect((await answered(cache, KEY, TAGS)).state).toBe('miss');
  });
});
