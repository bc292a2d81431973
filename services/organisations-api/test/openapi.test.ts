import { openApiSuite } from '@crm/http/openapi-check';
import { startHarness } from './harness';

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

openApiSuite({
  start: () => startHarness(),
  usage: USAGE,
  operationIds: [
    'listOrganisations', 'searchOrganisations', 'getOrganisationsStats', 'getOrganisationsStatsLive', 'getOrganisation',
    'createOrganisation', 'updateOrganisation', 'deleteOrganisation', 'listOrganisationMandats', 'createOrganisationMandat',
    'getMandat', 'updateMandat', 'deleteMandat', 'listProduits', 'getProduit', 'getCacheStats', 'invalidateCache', 'deleteCache',
  ],
  roundTrip: async (client) => {
    const created = await client.POST('/api/v1/organisations', { body: { name: 'Typed Client Co', category: 'corporate' } });
    expect(created.response.status).toBe(201);
    const read = await client.GET('/api/v1/organisations/{id}', { params: { path: { id: created.data.id } } });
    expect([read.response.status, read.data.name]).toEqual([200, 'Typed Client Co']);
  },
});
