import request from 'supertest';
import { locationSuite } from '@crm/http/test-support';
import { startHarness } from './harness';

locationSuite({
  start: () => startHarness({ cache: true }),
  resources: 'organisations, mandats and produits',
  creations: async (h, follow) => {
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
