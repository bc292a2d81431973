import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { fetchClient, lintOpenApi, typecheckClient } from '@crm/http/openapi-check';
import { startHarness, type Harness } from './harness';

let h: Harness;
let document: { paths: Record<string, Record<string, { operationId?: string }>> };
beforeAll(async () => {
  h = await startHarness();
  document = (await request(h.app).get('/openapi.json').expect(200)).body;
});
afterAll(() => h.close());

const USAGE = `
import createClient from 'openapi-fetch';
import type { paths } from './api.js';

const client = createClient<paths>({ baseUrl: 'http://127.0.0.1:3001' });

export async function names(): Promise<string[]> {
  const one = await client.GET('/api/v1/organisations/{id}', { params: { path: { id: 1 } } });
  if (one.error) return [one.error.title];
  const list = await client.GET('/api/v1/organisations', { params: { query: { category: 'advisor', limit: 10 } } });
  const mandat = await client.GET('/api/v1/mandats/{id}', { params: { path: { id: 2 } } });
  return [one.data.name, ...(list.data?.items.map((o) => o.name) ?? []), mandat.data?.status ?? 'none'];
}

// @ts-expect-error: the generated types know every route, so a route that does not exist does not compile.
void client.GET('/api/v1/nowhere');
`;

describe('the OpenAPI document, as third-party tools see it', () => {
  it("passes Redocly's recommended lint with no error and no warning", async () => {
    expect(await lintOpenApi(document)).toEqual([]);
  });

  it('names every operation: stable, unique camelCase operationIds', () => {
    const ids = Object.values(document.paths).flatMap((ops) => Object.values(ops).map((op) => op.operationId));
    expect(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z0-9]*$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining([
      'listOrganisations', 'searchOrganisations', 'getOrganisationsStats', 'getOrganisationsStatsLive', 'getOrganisation',
      'createOrganisation', 'updateOrganisation', 'deleteOrganisation', 'listOrganisationMandats', 'createOrganisationMandat',
      'getMandat', 'updateMandat', 'deleteMandat', 'listProduits', 'getProduit', 'getCacheStats', 'invalidateCache', 'deleteCache',
    ]));
  });

  it('generates a typed client (openapi-typescript + openapi-fetch) that typechecks, and that calls the running API', async () => {
    expect(await typecheckClient(document, USAGE)).toEqual([]);

    const server = h.app.listen(0, '127.0.0.1');
    try {
      await new Promise((resolve) => server.once('listening', resolve));
      const client = await fetchClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, h.auth('editor'));
      const created = await client.POST('/api/v1/organisations', { body: { name: 'Typed Client Co', category: 'corporate' } });
      expect(created.response.status).toBe(201);
      const read = await client.GET('/api/v1/organisations/{id}', { params: { path: { id: created.data.id } } });
      expect([read.response.status, read.data.name]).toEqual([200, 'Typed Client Co']);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
