import request from 'supertest';
import { locationSuite } from '@crm/http/test-support';
import { seedOrganisation, startHarness } from './harness';

locationSuite({
  start: () => startHarness({ cache: true }),
  resources: 'people and interactions',
  creations: async (h, located) => {
    const organisationId = await seedOrganisation(h, { name: 'Location Ltd' });
    const person = await request(h.app).post('/api/v1/people').set(h.auth('editor'))
      .send({ firstName: 'Lou', lastName: 'Cation', email: `lou.${Date.now()}@example.com`, organisationId });
    await located(person, 'contains');
    const interaction = await request(h.app).post('/api/v1/interactions').set(h.auth('editor'))
      .send({ personId: person.body.id, type: 'call', subject: 'Where is it?', occurredAt: '2024-05-01T10:00:00.000Z' });
    await located(interaction, 'equals');
  },
  detail: {
    collection: 'interactions',
    one: 'an interaction',
    owner: 'person',
    create: async (h) => {
      const person = await request(h.app).post('/api/v1/people').set(h.auth('editor'))
        .send({ firstName: 'Ira', lastName: 'Action', email: `ira.${Date.now()}@example.com` });
      const { body: interaction } = await request(h.app).post('/api/v1/interactions').set(h.auth('editor'))
        .send({ personId: person.body.id, type: 'email', subject: 'First', occurredAt: '2024-05-02T10:00:00.000Z' });
      return { id: interaction.id, ownerPath: `/api/v1/people/${person.body.id}` };
    },
    change: { body: { subject: 'Second' }, field: 'subject', value: 'Second' },
  },
});
