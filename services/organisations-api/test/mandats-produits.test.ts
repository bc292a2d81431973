import request from 'supertest';
import { startHarness, type Harness } from './harness';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(() => h.close());

describe('mandats', () => {
  it('adds, lists, updates and deletes an organisation\'s mandats', async () => {
    const { body: org } = await request(h.app).post('/api/v1/organisations').set(h.auth('editor')).send({ name: 'Mandated', category: 'wholesale' });
    const base = `/api/v1/organisations/${org.id}/mandats`;
    const a = await request(h.app).post(base).set(h.auth('editor')).send({ type: 'distribution', startDate: '2024-01-01' });
    expect(a.status).toBe(201);
    expect(a.headers.location).toBe(`/api/v1/mandats/${a.body.id}`);
    expect(a.body).toMatchObject({ organisationId: org.id, type: 'distribution', status: 'pending', startDate: '2024-01-01', endDate: null });
    const b = await request(h.app).post(base).set(h.auth('editor')).send({ type: 'management', status: 'active', startDate: '2023-06-01', endDate: '2025-06-01' });
    expect(b.status).toBe(201);

    const list = await request(h.app).get(`${base}?sort=startDate`).set(h.auth('reader'));
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ total: 2, page: 1, pages: 1 });
    expect(list.body.items.map((m: { id: number }) => m.id)).toEqual([b.body.id, a.body.id]);

    const patched = await request(h.app).patch(`/api/v1/mandats/${a.body.id}`).set(h.auth('editor')).send({ status: 'terminated', endDate: '2024-12-31' });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ status: 'terminated', endDate: '2024-12-31' });

    const detail = await request(h.app).get(`/api/v1/organisations/${org.id}`).set(h.auth('reader'));
    expect(detail.body.mandats.map((m: { id: number }) => m.id)).toEqual([a.body.id, b.body.id]);

    expect((await request(h.app).delete(`/api/v1/mandats/${b.body.id}`).set(h.auth('editor'))).status).toBe(204);
    expect((await request(h.app).delete(`/api/v1/mandats/${b.body.id}`).set(h.auth('editor'))).status).toBe(404);
    expect((await request(h.app).get(base).set(h.auth('reader'))).body.total).toBe(1);
  });

  it('rejects an end before the start, on create and on update, and unknown organisations', async () => {
    const { body: org } = await request(h.app).post('/api/v1/organisations').set(h.auth('editor')).send({ name: 'Dates', category: 'other' });
    const base = `/api/v1/organisations/${org.id}/mandats`;
    const bad = await request(h.app).post(base).set(h.auth('editor')).send({ type: 'advisory', startDate: '2024-05-01', endDate: '2024-04-01' });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([{ path: 'endDate', message: 'must not be before startDate' }]);
    const ok = await request(h.app).post(base).set(h.auth('editor')).send({ type: 'advisory', startDate: '2024-05-01' });
    const badPatch = await request(h.app).patch(`/api/v1/mandats/${ok.body.id}`).set(h.auth('editor')).send({ endDate: '2024-01-01' });
    expect(badPatch.status).toBe(400);
    expect((await request(h.app).post(base).set(h.auth('editor')).send({ type: 'advisory', startDate: '2024-02-30' })).status).toBe(400);
    expect((await request(h.app).post('/api/v1/organisations/999999/mandats').set(h.auth('editor')).send({ type: 'advisory', startDate: '2024-05-01' })).status).toBe(404);
    expect((await request(h.app).get('/api/v1/organisations/999999/mandats').set(h.auth('reader'))).status).toBe(404);
    expect((await request(h.app).get(base).set(h.auth('reader'))).body.total).toBe(1);
  });
});

describe('produits', () => {
  it('creates, lists, reads, updates and deletes produits; ISINs are unique', async () => {
    const created = await request(h.app).post('/api/v1/produits').set(h.auth('editor')).send({ name: 'Global Equity', isin: 'FR0010315770', category: 'equity' });
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe(`/api/v1/produits/${created.body.id}`);
    expect(created.body).toMatchObject({ name: 'Global Equity', isin: 'FR0010315770', category: 'equity', isActive: true });
    const dup = await request(h.app).post('/api/v1/produits').set(h.auth('editor')).send({ name: 'Clone', isin: 'FR0010315770', category: 'equity' });
    expect(dup.status).toBe(409);
    expect((await request(h.app).post('/api/v1/produits').set(h.auth('editor')).send({ name: 'Bad', isin: 'FR123', category: 'x' })).status).toBe(400);
    await request(h.app).post('/api/v1/produits').set(h.auth('editor')).send({ name: 'Bonds', category: 'fixed-income', isActive: false });

    const list = await request(h.app).get('/api/v1/produits?sort=name').set(h.auth('reader'));
    expect(list.body.items.map((p: { name: string }) => p.name)).toEqual(['Bonds', 'Global Equity']);
    const active = await request(h.app).get('/api/v1/produits?activeOnly=true').set(h.auth('reader'));
    expect(active.body.total).toBe(1);

    const id = created.body.id;
    expect((await request(h.app).get(`/api/v1/produits/${id}`).set(h.auth('reader'))).body.name).toBe('Global Equity');
    const patched = await request(h.app).patch(`/api/v1/produits/${id}`).set(h.auth('editor')).send({ isActive: false, isin: null });
    expect(patched.body).toMatchObject({ isActive: false, isin: null });
    expect((await request(h.app).delete(`/api/v1/produits/${id}`).set(h.auth('editor'))).status).toBe(204);
    expect((await request(h.app).get(`/api/v1/produits/${id}`).set(h.auth('reader'))).status).toBe(404);
  });
});

describe('documentation and operations', () => {
  it('describes every route in /openapi.json', async () => {
    const res = await request(h.app).get('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    const ops = Object.entries(res.body.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
    expect(ops).toEqual(expect.arrayContaining([
      'GET /api/v1/organisations', 'GET /api/v1/organisations/search', 'GET /api/v1/organisations/stats',
      'GET /api/v1/organisations/stats/live', 'GET /api/v1/organisations/{id}', 'POST /api/v1/organisations',
      'PATCH /api/v1/organisations/{id}', 'DELETE /api/v1/organisations/{id}', 'GET /api/v1/organisations/{id}/mandats',
      'POST /api/v1/organisations/{id}/mandats', 'PATCH /api/v1/mandats/{id}', 'DELETE /api/v1/mandats/{id}',
      'GET /api/v1/produits', 'GET /api/v1/produits/{id}', 'POST /api/v1/produits', 'PATCH /api/v1/produits/{id}', 'DELETE /api/v1/produits/{id}',
    ]));
    const create = res.body.paths['/api/v1/organisations'].post;
    expect(create.requestBody.content['application/json'].schema.required).toEqual(['name', 'category']);
  });

  it('serves a browsable /docs page', async () => {
    const res = await request(h.app).get('/docs/');
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/swagger-ui/);
  });

  it('reports health and Prometheus metrics, counting queries', async () => {
    const health = await request(h.app).get('/health');
    expect(health.body).toMatchObject({ status: 'healthy', database: { status: 'up' } });
    await request(h.app).get('/api/v1/produits').set(h.auth('reader'));
    const metrics = await request(h.app).get('/metrics');
    expect(metrics.text).toMatch(/http_request_duration_seconds_count\{[^}]*route="\/api\/v1\/produits"[^}]*\} \d+/);
    expect(metrics.text).toMatch(/db_queries_total\{service="organisations-api"\} [1-9]\d*/);
  });
});
