import request from 'supertest';
import { startHarness, type Harness } from './harness';

let h: Harness;
beforeAll(async () => { h = await startHarness({ cache: true }); });
afterAll(() => h.close());

/** Follows a creation's Location as a reader would, and returns what it answered. */
async function follow(created: request.Response): Promise<request.Response> {
  expect(created.status).toBe(201);
  expect(created.headers.location).toMatch(/^\/api\/v1\//);
  return request(h.app).get(created.headers.location!).set(h.auth('reader'));
}

describe('every Location names a route that answers 200', () => {
  it('organisations, mandats and produits: the created resource is what its Location answers', async () => {
    const org = await request(h.app).post('/api/v1/organisations').set(h.auth('editor')).send({ name: 'Located', category: 'advisor' });
    const orgRead = await follow(org);
    expect(orgRead.status).toBe(200);
    expect(orgRead.body).toMatchObject(org.body);

    const mandat = await request(h.app).post(`/api/v1/organisations/${org.body.id}/mandats`).set(h.auth('editor')).send({ type: 'advisory', startDate: '2024-03-01' });
    const mandatRead = await follow(mandat);
    expect(mandatRead.status).toBe(200);
    expect(mandatRead.body).toEqual(mandat.body);

    const produit = await request(h.app).post('/api/v1/produits').set(h.auth('editor')).send({ name: 'Located fund', category: 'bond' });
    const produitRead = await follow(produit);
    expect(produitRead.status).toBe(200);
    expect(produitRead.body).toEqual(produit.body);
  });
});

describe('GET /mandats/:id', () => {
  it('is cached like other details, and a change, or its organisation\'s deletion, is seen by the next read', async () => {
    const { body: org } = await request(h.app).post('/api/v1/organisations').set(h.auth('editor')).send({ name: 'Mandate holder', category: 'wholesale' });
    const { body: mandat } = await request(h.app).post(`/api/v1/organisations/${org.id}/mandats`).set(h.auth('editor')).send({ type: 'management', startDate: '2024-01-01' });
    const path = `/api/v1/mandats/${mandat.id}`;

    const first = await request(h.app).get(path).set(h.auth('reader'));
    expect([first.status, first.headers['x-cache']]).toEqual([200, 'MISS']);
    const second = await request(h.app).get(path).set(h.auth('reader'));
    expect([second.status, second.headers['x-cache'], second.body]).toEqual([200, 'HIT', first.body]);

    await request(h.app).patch(path).set(h.auth('editor')).send({ status: 'active' }).expect(200);
    const changed = await request(h.app).get(path).set(h.auth('reader'));
    expect([changed.headers['x-cache'], changed.body.status]).toEqual(['MISS', 'active']);
    expect((await request(h.app).get(path).set(h.auth('reader'))).headers['x-cache']).toBe('HIT');

    await request(h.app).delete(`/api/v1/organisations/${org.id}`).set(h.auth('editor')).expect(204);
    expect((await request(h.app).get(path).set(h.auth('reader'))).status).toBe(404);
  });

  it('answers 404 for a mandat that does not exist and 400 for an id that is not one', async () => {
    expect((await request(h.app).get('/api/v1/mandats/999999').set(h.auth('reader'))).status).toBe(404);
    expect((await request(h.app).get('/api/v1/mandats/abc').set(h.auth('reader'))).status).toBe(400);
  });
});
