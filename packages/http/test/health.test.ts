import express from 'express';
import request from 'supertest';
import { healthHandler } from '../src/health';

describe('GET /health', () => {
  it('names the Node version the process runs on, so a wrong runtime shows', async () => {
    const app = express().get('/health', healthHandler('test-service', { database: async () => undefined, cache: null, queue: null }));
    const res = await request(app).get('/health');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'healthy', runtime: process.version });
    expect(res.body.runtime).toMatch(/^v\d+\.\d+\.\d+$/);
  });
});
