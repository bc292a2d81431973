import request from 'supertest';
import { seedOrganisation, startHarness, type Harness } from './harness';

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
  it('people and interactions: the created resource is what its Location answers', async () => {
    const organisationId = await seedOrganisation(h, { name: 'Location Ltd' });
    const person = await request(h.app).post('/api/v1/people').set(h.auth('editor'))
      .send({ firstName: 'Lou', lastName: 'Cation', email: `lou.${Date.now()}@example.com`, organisationId });
    const personRead = await follow(person);
    expect(personRead.status).toBe(200);
    expect(personRead.body).toMatchObject(person.body);

    const interaction = await request(h.app).post('/api/v1/interactions').set(h.auth('editor'))
      .send({ personId: person.body.id, type: 'call', subject: 'Where is it?', occurredAt: '2024-05-01T10:00:00.000Z' });
    const interactionRead = await follow(interaction);
    expect(interactionRead.status).toBe(200);
    expect(interactionRead.body).toEqual(interaction.body);
  });
});

describe('GET /interactions/:id', () => {
  it("is cached like other details, and a change, or its person's deletion, is seen by the next read", async () => {
    const person = await request(h.app).post('/api/v1/people').set(h.auth('editor'))
      .send({ firstName: 'Ira', lastName: 'Action', email: `ira.${Date.now()}@example.com` });
    const { body: interaction } = await request(h.app).post('/api/v1/interactions').set(h.auth('editor'))
      .send({ personId: person.body.id, type: 'email', subject: 'First', occurredAt: '2024-05-02T10:00:00.000Z' });
    const path = `/api/v1/interactions/${interaction.id}`;

    const first = await request(h.app).get(path).set(h.auth('reader'));
    expect([first.status, first.headers['x-cache']]).toEqual([200, 'MISS']);
    const second = await request(h.app).get(path).set(h.auth('reader'));
    expect([second.status, second.headers['x-cache'], second.body]).toEqual([200, 'HIT', first.body]);

    await request(h.app).patch(path).set(h.auth('editor')).send({ subject: 'Second' }).expect(200);
    const changed = await request(h.app).get(path).set(h.auth('reader'));
    expect([changed.headers['x-cache'], changed.body.subject]).toEqual(['MISS', 'Second']);
    expect((await request(h.app).get(path).set(h.auth('reader'))).headers['x-cache']).toBe('HIT');

    await request(h.app).delete(`/api/v1/people/${person.body.id}`).set(h.auth('editor')).expect(204);
    expect((await request(h.app).get(path).set(h.auth('reader'))).status).toBe(404);
  });

  it('answers 404 for an interaction that does not exist and 400 for an id that is not one', async () => {
    expect((await request(h.app).get('/api/v1/interactions/999999').set(h.auth('reader'))).status).toBe(404);
    expect((await request(h.app).get('/api/v1/interactions/abc').set(h.auth('reader'))).status).toBe(400);
  });
});
