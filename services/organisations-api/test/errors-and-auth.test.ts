import { createApiRuntime } from '@crm/service-kit';
import request from 'supertest';
import jwt from 'jsonwebtoken';
import { createOrm, Organisation, type MikroORM } from '@crm/database';
import { mintToken } from '@crm/http';
import { createLogger, ServiceMetrics } from '@crm/telemetry';
import { parseEnv } from '@crm/config';
import { buildApp, SERVICE } from '../src/app';
import { startHarness, type Harness } from './harness';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(() => h.close());

const countOrganisations = () => h.orm.em.fork().count(Organisation, {});

function expectProblem(res: request.Response, status: number): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
  expect(JSON.stringify(res.body)).not.toMatch(/\bat .*\.(ts|js):\d+/); // never a stack trace
}

describe('authentication and roles', () => {
  const read = () => request(h.app).get('/api/v1/organisations');
  const write = () => request(h.app).post('/api/v1/organisations').send({ name: 'Auth Org', category: 'other' });

  it('401 without a token, with a malformed header, a bad signature, an expired token or a bad role claim', async () => {
    expectProblem(await read(), 401);
    expectProblem(await read().set('Authorization', 'Token abc'), 401);
    expectProblem(await read().set('Authorization', `Bearer ${mintToken('another-secret-of-enough-length', 'admin')}`), 401);
    expectProblem(await read().set('Authorization', `Bearer ${mintToken(h.env.JWT_SECRET, 'admin', { expiresInSeconds: -120 })}`), 401);
    const badRole = jwt.sign({ role: 'superuser' }, h.env.JWT_SECRET, { algorithm: 'HS256', subject: 'x', expiresIn: 60 });
    expectProblem(await read().set('Authorization', `Bearer ${badRole}`), 401);
    const noneAlg = jwt.sign({ role: 'admin', sub: 'x', exp: Math.floor(Date.now() / 1000) + 60 }, '', { algorithm: 'none' });
    expectProblem(await read().set('Authorization', `Bearer ${noneAlg}`), 401);
  });

  it.each([
    ['reader', 200, 403],
    ['editor', 200, 201],
    ['admin', 200, 201],
  ] as const)('%s: read %i, write %i', async (role, readStatus, writeStatus) => {
    expect((await read().set(h.auth(role))).status).toBe(readStatus);
    const res = await write().set(h.auth(role));
    expect(res.status).toBe(writeStatus);
    if (writeStatus === 403) expectProblem(res, 403);
    const id = res.body.id ?? 1;
    expect((await request(h.app).delete(`/api/v1/organisations/${id}`).set(h.auth(role))).status).toBe(role === 'reader' ? 403 : 204);
  });

  it('health, metrics and docs need no token', async () => {
    expect((await request(h.app).get('/health')).status).toBe(200);
    expect((await request(h.app).get('/metrics')).status).toBe(200);
    expect((await request(h.app).get('/openapi.json')).status).toBe(200);
  });
});

describe('bad input', () => {
  const post = (body: string | object, type = 'application/json') =>
    request(h.app).post('/api/v1/organisations').set(h.auth('editor')).set('Content-Type', type).send(body as never);

  it('400 for malformed JSON, and nothing is written', async () => {
    const before = await countOrganisations();
    const res = await post('{"name": "x",');
    expectProblem(res, 400);
    expect(res.body.title).toBe('Malformed JSON');
    expect(await countOrganisations()).toBe(before);
  });

  it('400 with field errors for unknown fields and invalid values', async () => {
    const res = await post({ name: '', category: 'bank', surprise: 1, email: 'nope', country: 'XX', annualRevenue: -1, website: 'ftp://x' });
    expectProblem(res, 400);
    const paths = (res.body.errors as { path: string }[]).map((e) => e.path).sort();
    expect(paths).toEqual(['annualRevenue', 'category', 'country', 'email', 'name', 'surprise', 'website']);
  });

  it('415 for a body that is not JSON', async () => {
    expectProblem(await post('name=x', 'application/x-www-form-urlencoded'), 415);
  });

  it('413 for a body over 100 kB, and nothing is written', async () => {
    const before = await countOrganisations();
    expectProblem(await post({ name: 'big', category: 'other', website: `https://x.test/${'a'.repeat(110_000)}` }), 413);
    expect(await countOrganisations()).toBe(before);
  });

  it.each([
    ['/api/v1/organisations?page=0', 'query.page'],
    ['/api/v1/organisations?limit=501', 'query.limit'],
    ['/api/v1/organisations?limit=abc', 'query.limit'],
    ['/api/v1/organisations?sort=email', 'query.sort'],
    ['/api/v1/organisations?activeOnly=yes', 'query.activeOnly'],
    ['/api/v1/organisations?colour=red', 'query.colour'],
    ['/api/v1/organisations?page=1&page=2', 'query.page'],
    ['/api/v1/organisations/search', 'query.q'],
    [`/api/v1/organisations/search?q=${'x'.repeat(101)}`, 'query.q'],
    ['/api/v1/organisations/abc', 'params.id'],
    ['/api/v1/organisations/1.5', 'params.id'],
    ['/api/v1/organisations/0', 'params.id'],
    ['/api/v1/organisations/99999999999', 'params.id'],
    ['/api/v1/produits/1e3', 'params.id'],
  ])('400 for %s', async (url, path) => {
    const res = await request(h.app).get(url).set(h.auth('reader'));
    expectProblem(res, 400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it('409 for an email already used, in any case, and the first row is kept', async () => {
    expect((await post({ name: 'First', category: 'other', email: 'dup@case.test' })).status).toBe(201);
    const before = await countOrganisations();
    expectProblem(await post({ name: 'Second', category: 'other', email: 'DUP@Case.TEST' }), 409);
    expect(await countOrganisations()).toBe(before);
    const { body: other } = await post({ name: 'Third', category: 'other' });
    expectProblem(await request(h.app).patch(`/api/v1/organisations/${other.id}`).set(h.auth('editor')).send({ email: 'Dup@case.test' }), 409);
    const unchanged = await request(h.app).get(`/api/v1/organisations/${other.id}`).set(h.auth('reader'));
    expect(unchanged.body.email).toBeNull();
  });

  it('400 for an empty or invalid PATCH, leaving the row unchanged', async () => {
    const { body: org } = await post({ name: 'Stable', category: 'advisor' });
    expectProblem(await request(h.app).patch(`/api/v1/organisations/${org.id}`).set(h.auth('editor')).send({}), 400);
    expectProblem(await request(h.app).patch(`/api/v1/organisations/${org.id}`).set(h.auth('editor')).send({ name: 'Renamed', category: 'nope' }), 400);
    const res = await request(h.app).get(`/api/v1/organisations/${org.id}`).set(h.auth('reader'));
    expect(res.body).toMatchObject({ name: 'Stable', category: 'advisor' });
  });

  it('404 for unknown routes and ids, as problem+json', async () => {
    expectProblem(await request(h.app).get('/api/v1/nothing-here').set(h.auth('reader')), 404);
    expectProblem(await request(h.app).get('/api/v1/organisations/424242').set(h.auth('reader')), 404);
    expectProblem(await request(h.app).patch('/api/v1/organisations/424242').set(h.auth('editor')).send({ name: 'x' }), 404);
    expectProblem(await request(h.app).get('/api/v1/produits/424242').set(h.auth('reader')), 404);
  });
});

describe('rate limiting', () => {
  it('429 as problem+json past the configured rate', async () => {
    const env = parseEnv({ NODE_ENV: 'test', DATABASE_URL: h.env.DATABASE_URL, RATE_LIMIT_PER_MINUTE: '2' });
    const logger = createLogger(SERVICE, 'silent');
    const runtime = createApiRuntime({ orm: h.orm, logger, cacheRedisUrl: null, queueRedisUrl: null });
    const app = buildApp({ env, orm: h.orm, logger, metrics: new ServiceMetrics(SERVICE), runtime });
    const token = { Authorization: `Bearer ${mintToken(env.JWT_SECRET, 'reader')}` };
    expect((await request(app).get('/api/v1/produits').set(token)).status).toBe(200);
    expect((await request(app).get('/api/v1/produits').set(token)).status).toBe(200);
    const limited = await request(app).get('/api/v1/produits').set(token);
    expectProblem(limited, 429);
  });
});

describe('database down', () => {
  let orm: MikroORM;
  beforeAll(async () => {
    // Nothing listens on port 1: every statement fails to connect.
    orm = await createOrm({ databaseUrl: 'postgres://postgres@127.0.0.1:1/crm_test' });
  });
  afterAll(() => orm.close(true));

  it('reads and writes answer 503, and /health says unhealthy with 503', async () => {
    const env = parseEnv({ NODE_ENV: 'test', DATABASE_URL: 'postgres://postgres@127.0.0.1:1/crm_test' });
    const logger = createLogger(SERVICE, 'silent');
    const runtime = createApiRuntime({ orm, logger, cacheRedisUrl: null, queueRedisUrl: null });
    const app = buildApp({ env, orm, logger, metrics: new ServiceMetrics(SERVICE), runtime });
    const token = { Authorization: `Bearer ${mintToken(env.JWT_SECRET, 'editor')}` };
    expectProblem(await request(app).get('/api/v1/organisations').set(token), 503);
    expectProblem(await request(app).get('/api/v1/organisations/1').set(token), 503);
    expectProblem(await request(app).post('/api/v1/organisations').set(token).send({ name: 'x', category: 'other' }), 503);
    const health = await request(app).get('/health');
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ status: 'unhealthy', database: { status: 'down' } });
  });
});
