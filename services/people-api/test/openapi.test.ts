import { openApiSuite } from '@crm/http/openapi-check';
import { seedOrganisation, startHarness } from './harness';

const USAGE = `
import createClient from 'openapi-fetch';
import type { paths } from './api.js';

const client = createClient<paths>({ baseUrl: 'http://127.0.0.1:3002' });

export async function lines(): Promise<string[]> {
  const person = await client.GET('/api/v1/people/{id}', { params: { path: { id: 1 } } });
  if (person.error) return [person.error.title];
  const calls = await client.GET('/api/v1/interactions', { params: { query: { personId: person.data.id, limit: 5 } } });
  const one = await client.GET('/api/v1/interactions/{id}', { params: { path: { id: 3 } } });
  return [person.data.organisation?.name ?? 'none', ...(calls.data?.items.map((i) => i.subject) ?? []), one.data?.type ?? 'none'];
}

// @ts-expect-error: the generated types know every route, so a route that does not exist does not compile.
void client.GET('/api/v1/nowhere');
`;

openApiSuite({
  start: () => startHarness(),
  usage: USAGE,
  operationIds: [
    'listPeople', 'searchPeople', 'getPerson', 'createPerson', 'updatePerson', 'deletePerson', 'listPersonInteractions',
    'listInteractions', 'getInteraction', 'createInteraction', 'updateInteraction', 'deleteInteraction', 'getCacheStats',
  ],
  roundTrip: async (client, h) => {
    const organisationId = await seedOrganisation(h, { name: 'Typed Org' });
    const created = await client.POST('/api/v1/people', {
      body: { firstName: 'Tia', lastName: 'Typed', email: `tia.${Date.now()}@example.com`, organisationId },
    });
    expect(created.response.status).toBe(201);
    const read = await client.GET('/api/v1/people/{id}', { params: { path: { id: created.data.id } } });
    expect([read.response.status, read.data.organisation?.name]).toEqual([200, 'Typed Org']);
  },
});
