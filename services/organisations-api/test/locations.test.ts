import request from 'supertest';
import { locationSuite } from '@crm/http/test-support';
import { startHarness } from './harness';

locationSuite({
  start: () => startHarness({ cache: true }),
  resources: 'organisations, mandats and produits',
  creations: async (h, located) => {
    const org = await request(h.app).post('/api/v1/organisations').set(h.auth('editor')).send({ name: 'Located', category: 'advisor' });
    await located(org, 'contains');
    const mandat = await request(h.app).post(`/api/v1/organisations/${org.body.id}/mandats`).set(h.auth('editor')).send({ type: 'advisory', startDate: '2024-03-01' });
    await located(mandat, 'equals');
    const produit = await request(h.app).post('/api/v1/produits').set(h.auth('editor')).send({ name: 'Located fund', category: 'bond' });
    await located(produit, 'equals');
  },
  detail: {
    collection: 'mandats',
    one: 'a mandat',
    owner: 'organisation',
    create: async (h) => {
      const { body: org } = await request(h.app).post('/api/v1/organisations').set(h.auth('editor')).send({ name: 'Mandate holder', category: 'wholesale' });
      const { body: mandat } = await request(h.app).post(`/api/v1/organisations/${org.id}/mandats`).set(h.auth('editor')).send({ type: 'management', startDate: '2024-01-01' });
      return { id: mandat.id, ownerPath: `/api/v1/organisations/${org.id}` };
    },
    change: { body: { status: 'active' }, field: 'status', value: 'active' },
  },
});
