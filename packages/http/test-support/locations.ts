import request from 'supertest';
import { apiForTests, type ApiUnderTest } from './api';

/**
 * Checks a creation (201, a Location under /api/v1) and follows its Location as a reader would: a 200 whose body
 * equals what the creation answered (`equals`), or holds at least that (`contains`: a read may add fields).
 */
export type Located = (created: request.Response, match: 'equals' | 'contains') => Promise<void>;

/** A detail route read through the cache, and the writes that must show in its next read. */
export interface CachedDetail<H extends ApiUnderTest> {
  /** The collection under /api/v1, e.g. `mandats`. */
  collection: string;
  /** One of them with its article, for the test names: `a mandat`. */
  one: string;
  /** What it belongs to, for the test names: `organisation`. */
  owner: string;
  /** Creates one; returns its id and the path of its owner, whose deletion removes it. */
  create: (h: H) => Promise<{ id: number; ownerPath: string }>;
  /** A PATCH body, and the field and value the next read must show. */
  change: { body: Record<string, unknown>; field: string; value: unknown };
}

export interface LocationSuite<H extends ApiUnderTest> {
  /** With a response cache. */
  start: () => Promise<H>;
  /** Which resources the creations test covers, for its name: `people and interactions`. */
  resources: string;
  /** Creates each kind of resource and checks each with `located`. */
  creations: (h: H, located: Located) => Promise<void>;
  detail: CachedDetail<H>;
}

/**
 * Every creation's Location names a route that answers 200 with what was created, and a detail route is cached
 * like the others: a HIT on the second read, a change or the owner's deletion seen by the next.
 */
export function locationSuite<H extends ApiUnderTest>(suite: LocationSuite<H>): void {
  const api = apiForTests(suite.start);
  const located: Located = async (created, match) => {
    expect(created.status).toBe(201);
    expect(created.headers.location).toMatch(/^\/api\/v1\//);
    const read = await request(api().app).get(created.headers.location!).set(api().auth('reader'));
    expect(read.status).toBe(200);
    if (match === 'equals') expect(read.body).toEqual(created.body);
    else expect(read.body).toMatchObject(created.body);
  };

  describe('every Location names a route that answers 200', () => {
    it(`${suite.resources}: the created resource is what its Location answers`, () => suite.creations(api(), located));
  });

  const { collection, one, owner, create, change } = suite.detail;
  describe(`GET /${collection}/:id`, () => {
    it(`is cached like other details, and a change, or its ${owner}'s deletion, is seen by the next read`, async () => {
      const h = api();
      const { id, ownerPath } = await create(h);
      const path = `/api/v1/${collection}/${id}`;
      const read = () => request(h.app).get(path).set(h.auth('reader'));

      const first = await read();
      expect([first.status, first.headers['x-cache']]).toEqual([200, 'MISS']);
      const second = await read();
      expect([second.status, second.headers['x-cache'], second.body]).toEqual([200, 'HIT', first.body]);

      await request(h.app).patch(path).set(h.auth('editor')).send(change.body).expect(200);
      const changed = await read();
      expect([changed.headers['x-cache'], changed.body[change.field]]).toEqual(['MISS', change.value]);
      expect((await read()).headers['x-cache']).toBe('HIT');

      await request(h.app).delete(ownerPath).set(h.auth('editor')).expect(204);
      expect((await read()).status).toBe(404);
    });

    it(`answers 404 for ${one} that does not exist and 400 for an id that is not one`, async () => {
      const h = api();
      expect((await request(h.app).get(`/api/v1/${collection}/999999`).set(h.auth('reader'))).status).toBe(404);
      expect((await request(h.app).get(`/api/v1/${collection}/abc`).set(h.auth('reader'))).status).toBe(400);
    });
  });
}
