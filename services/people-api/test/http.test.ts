import request from 'supertest';
import { mintToken, type Role } from '@crm/http';
import { countRows, expectProblem, startHarness, type Harness } from './harness';

let h: Harness;
let personId: number;
let interactionId: number;
beforeAll(async () => {
  h = await startHarness();
  const person = await request(h.app).post('/api/v1/people').set(h.auth('editor'))
    .send({ firstName: 'Ada', lastName: 'Lovelace', email: 'ada@http.test' });
  personId = person.body.id;
  const interaction = await request(h.app).post('/api/v1/interactions').set(h.auth('editor'))
    .send({ personId, type: 'note', subject: 'First', occurredAt: '2024-01-01T00:00:00Z' });
  interactionId = interaction.body.id;
});
afterAll(() => h.close());

const snapshot = async () => ({ people: await countRows(h, 'person'), interactions: await countRows(h, 'interaction') });
let emails = 0;
const newPerson = () => ({ firstName: 'Grace', lastName: 'Hopper', email: `g${++emails}@http.test` });

describe('400: malformed or invalid input', () => {
  it('malformed JSON', async () => {
    const before = await snapshot();
    const res = await request(h.app).post('/api/v1/people').set(h.auth('editor')).set('Content-Type', 'application/json').send('{"a":');
    expectProblem(res, 400);
    expect(res.body.type).toBe('urn:crm:problem:malformed-json');
    expect(await snapshot()).toEqual(before);
  });

  it('unknown body fields, on create and update, with errors[].path', async () => {
    const before = await snapshot();
    const post = await request(h.app).post('/api/v1/people').set(h.auth('editor')).send({ ...newPerson(), nickname: 'Amazing' });
    expect(expectProblem(post, 400)).toEqual(['nickname']);
    const patch = await request(h.app).patch(`/api/v1/people/${personId}`).set(h.auth('editor')).send({ title: 'x', organisation: 1 });
    expect(expectProblem(patch, 400)).toEqual(['organisation']);
    const interaction = await request(h.app).patch(`/api/v1/interactions/${interactionId}`).set(h.auth('editor')).send({ subject: 'x', createdAt: '2024-01-01T00:00:00Z' });
    expect(expectProblem(interaction, 400)).toEqual(['createdAt']);
    expect(await snapshot()).toEqual(before);
  });

  it('unknown query parameters, with errors[].path', async () => {
    expect(expectProblem(await request(h.app).get('/api/v1/people?foo=1').set(h.auth('reader')), 400)).toEqual(['query.foo']);
    expect(expectProblem(await request(h.app).get('/api/v1/people/search?q=a&name=b').set(h.auth('reader')), 400)).toEqual(['query.name']);
    expect(expectProblem(await request(h.app).get(`/api/v1/people/${personId}?x=1`).set(h.auth('reader')), 400)).toEqual(['query.x']);
    expect(expectProblem(await request(h.app).get('/api/v1/interactions?foo=1').set(h.auth('reader')), 400)).toEqual(['query.foo']);
  });

  it.each([
    ['page=0', 'query.page'], ['limit=501', 'query.limit'], ['limit=0', 'query.limit'], ['limit=abc', 'query.limit'],
    ['page=1.5', 'query.page'], ['organisationId=abc', 'query.organisationId'], ['sort=phone', 'query.sort'],
  ])('GET /people?%s is a 400 on %s', async (qs, path) => {
    expect(expectProblem(await request(h.app).get(`/api/v1/people?${qs}`).set(h.auth('reader')), 400)).toEqual([path]);
  });

  it('accepts the page bounds', async () => {
    const res = await request(h.app).get('/api/v1/people?page=1&limit=500').set(h.auth('reader'));
    expect(res.status).toBe(200);
    expect(res.body.limit).toBe(500);
  });

  it.each(['abc', '1.5', '0', '-1', '1e3', '2147483648'])('id=%s is a 400 on params.id', async (id) => {
    for (const url of [`/api/v1/people/${id}`, `/api/v1/people/${id}/interactions`]) {
      expect(expectProblem(await request(h.app).get(url).set(h.auth('reader')), 400)).toEqual(['params.id']);
    }
    for (const url of [`/api/v1/people/${id}`, `/api/v1/interactions/${id}`]) {
      expect(expectProblem(await request(h.app).patch(url).set(h.auth('editor')).send({ subject: 'x' }), 400)).toContain('params.id');
      expect(expectProblem(await request(h.app).delete(url).set(h.auth('editor')), 400)).toEqual(['params.id']);
    }
  });

  it('an empty PATCH body is a 400', async () => {
    expectProblem(await request(h.app).patch(`/api/v1/people/${personId}`).set(h.auth('editor')).send({}), 400);
    expectProblem(await request(h.app).patch(`/api/v1/interactions/${interactionId}`).set(h.auth('editor')).send({}), 400);
  });

  it('a body that is not JSON is refused, and nothing is written', async () => {
    const before = await snapshot();
    const res = await request(h.app).post('/api/v1/people').set(h.auth('editor')).set('Content-Type', 'text/plain').send('firstName=Ada');
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(await snapshot()).toEqual(before);
  });
});

describe('404 and 413', () => {
  it('unknown ids and unknown routes are 404 problems', async () => {
    expectProblem(await request(h.app).get('/api/v1/people/999999').set(h.auth('reader')), 404);
    expectProblem(await request(h.app).get('/api/v1/people/999999/interactions').set(h.auth('reader')), 404);
    expectProblem(await request(h.app).patch('/api/v1/interactions/999999').set(h.auth('editor')).send({ subject: 'x' }), 404);
    expectProblem(await request(h.app).delete('/api/v1/interactions/999999').set(h.auth('editor')), 404);
    expectProblem(await request(h.app).get('/api/v1/nothing-here').set(h.auth('reader')), 404);
  });

  it('a body over 100 kB is a 413, and nothing is written', async () => {
    const before = await snapshot();
    const big = await request(h.app).post('/api/v1/people').set(h.auth('editor')).send({ ...newPerson(), title: 'x'.repeat(110_000) });
    expectProblem(big, 413);
    const bigNotes = await request(h.app).post('/api/v1/interactions').set(h.auth('editor'))
      .send({ personId, type: 'note', subject: 'Big', notes: 'n'.repeat(110_000), occurredAt: '2024-01-01T00:00:00Z' });
    expectProblem(bigNotes, 413);
    expect(await snapshot()).toEqual(before);
  });
});

describe('401: authentication', () => {
  const tokens: [string, () => string | undefined][] = [
    ['no Authorization header', () => undefined],
    ['a bad signature', () => `Bearer ${mintToken('another-secret-that-is-long-enough', 'admin')}`],
    ['an expired token', () => `Bearer ${mintToken(h.env.JWT_SECRET, 'admin', { expiresInSeconds: -120 })}`],
    ['a malformed header (no scheme)', () => h.token('admin')],
    ['a malformed header (Basic)', () => 'Basic dXNlcjpwYXNz'],
    ['a malformed header (Bearer only)', () => 'Bearer'],
    ['a token that is not a JWT', () => 'Bearer not.a.jwt'],
  ];

  it.each(tokens)('%s is a 401 on reads and writes, and nothing is written', async (_label, header) => {
    const before = await snapshot();
    const withAuth = (r: request.Test) => { const value = header(); return value === undefined ? r : r.set('Authorization', value); };
    expectProblem(await withAuth(request(h.app).get('/api/v1/people')), 401);
    expectProblem(await withAuth(request(h.app).get(`/api/v1/people/${personId}`)), 401);
    expectProblem(await withAuth(request(h.app).post('/api/v1/people')).send(newPerson()), 401);
    expectProblem(await withAuth(request(h.app).delete(`/api/v1/interactions/${interactionId}`)), 401);
    expect(await snapshot()).toEqual(before);
  });
});

describe('403 and the auth matrix', () => {
  it('a reader cannot write, and nothing is written', async () => {
    const before = await snapshot();
    expectProblem(await request(h.app).post('/api/v1/people').set(h.auth('reader')).send(newPerson()), 403);
    expectProblem(await request(h.app).patch(`/api/v1/people/${personId}`).set(h.auth('reader')).send({ title: 'x' }), 403);
    expectProblem(await request(h.app).delete(`/api/v1/people/${personId}`).set(h.auth('reader')), 403);
    expectProblem(await request(h.app).post('/api/v1/interactions').set(h.auth('reader'))
      .send({ personId, type: 'note', subject: 'x', occurredAt: '2024-01-01T00:00:00Z' }), 403);
    expectProblem(await request(h.app).patch(`/api/v1/interactions/${interactionId}`).set(h.auth('reader')).send({ subject: 'x' }), 403);
    expectProblem(await request(h.app).delete(`/api/v1/interactions/${interactionId}`).set(h.auth('reader')), 403);
    expect(await snapshot()).toEqual(before);
    expect((await request(h.app).get(`/api/v1/people/${personId}`).set(h.auth('editor'))).body.title).toBeNull();
  });

  it.each([
    ['reader', 200, 403], ['editor', 200, 201], ['admin', 200, 201],
  ] as [Role, number, number][])('%s: read %i, write %i', async (role, read, write) => {
    expect((await request(h.app).get('/api/v1/people').set(h.auth(role))).status).toBe(read);
    expect((await request(h.app).get('/api/v1/interactions').set(h.auth(role))).status).toBe(read);
    const created = await request(h.app).post('/api/v1/people').set(h.auth(role)).send(newPerson());
    expect(created.status).toBe(write);
    const interaction = await request(h.app).post('/api/v1/interactions').set(h.auth(role))
      .send({ personId, type: 'email', subject: role, occurredAt: '2024-01-01T00:00:00Z' });
    expect(interaction.status).toBe(write);
  });
});

describe('health, OpenAPI and docs', () => {
  it('GET /health answers 200 with the database up, without a token', async () => {
    const res = await request(h.app).get('/health');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'healthy', database: { status: 'up', latencyMs: expect.any(Number) } });
    expect(res.body.cache).toHaveProperty('status');
    expect(res.body.queue).toHaveProperty('status');
  });

  it('GET /openapi.json describes every route', async () => {
    const res = await request(h.app).get('/openapi.json');
    expect(res.status).toBe(200);
    const paths = res.body.paths as Record<string, Record<string, unknown>>;
    const routes = Object.entries(paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`)).sort();
    expect(routes).toEqual([
      'DELETE /api/v1/cache',
      'DELETE /api/v1/interactions/{id}',
      'DELETE /api/v1/people/{id}',
      'GET /api/v1/cache/stats',
      'GET /api/v1/interactions',
      'GET /api/v1/interactions/{id}',
      'GET /api/v1/people',
      'GET /api/v1/people/search',
      'GET /api/v1/people/{id}',
      'GET /api/v1/people/{id}/interactions',
      'PATCH /api/v1/interactions/{id}',
      'PATCH /api/v1/people/{id}',
      'POST /api/v1/cache/invalidate',
      'POST /api/v1/interactions',
      'POST /api/v1/people',
    ]);
    const post = paths['/api/v1/people']!.post as { requestBody: { content: Record<string, { schema: { properties: object } }> } };
    expect(Object.keys(post.requestBody.content['application/json']!.schema.properties).sort())
      .toEqual(['email', 'firstName', 'lastName', 'organisationId', 'phone', 'title']);
  });

  it('GET /docs serves the browsable documentation', async () => {
    const res = await request(h.app).get('/docs').redirects(1);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.text).toMatch(/swagger/i);
  });
});
