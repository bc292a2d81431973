import request from 'supertest';
import { mintToken } from '@crm/http';
import { JOB_OPTIONS, QUEUES } from '@crm/jobs';
import { createLogger, ServiceMetrics } from '@crm/telemetry';
import { buildWorkerApp, SERVICE } from '../src/app';
import { hangingServer, startStack, type Stack } from './stack';

let s: Stack;
beforeAll(async () => {
  s = await startStack({ replicas: 1 });
});
afterAll(() => s.close());

describe('GET /admin/queues', () => {
  const app = () => buildWorkerApp({
    env: s.env, orm: s.orm, logger: createLogger(SERVICE, 'silent'), metrics: new ServiceMetrics(SERVICE),
    cacheProbe: async () => undefined, queueProbe: async () => undefined, queues: Object.values(s.queues),
  });
  const bearer = (role: 'reader' | 'admin') => ({ Authorization: `Bearer ${mintToken(s.env.JWT_SECRET, role)}` });

  it('is for admins only, as problem+json', async () => {
    const anonymous = await request(app()).get('/admin/queues');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['content-type']).toMatch(/application\/problem\+json/);
    expect((await request(app()).get('/admin/queues').set(bearer('reader'))).status).toBe(403);
  });

  it('serves the dashboard and its API, which lists both queues', async () => {
    const page = await request(app()).get('/admin/queues').set(bearer('admin'));
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/<div id="root">/);
    const api = await request(app()).get('/admin/queues/api/queues').set(bearer('admin'));
    expect(api.status).toBe(200);
    expect(api.body.queues.map((q: { name: string }) => q.name).sort()).toEqual([QUEUES.invalidation, QUEUES.warmup]);
  });

  it('a browser signs in once with ?token=: an HttpOnly cookie scoped to the page, then a redirect to the clean URL', async () => {
    const agent = request.agent(app());
    const signIn = await agent.get(`/admin/queues?token=${mintToken(s.env.JWT_SECRET, 'admin')}`);
    expect(signIn.status).toBe(303);
    expect(signIn.headers.location).toBe('/admin/queues');
    expect(signIn.headers['set-cookie']![0]).toMatch(/HttpOnly/);
    expect(signIn.headers['set-cookie']![0]).toMatch(/Path=\/admin\/queues/);
    expect((await agent.get('/admin/queues/api/queues')).status).toBe(200);
    const reader = request.agent(app());
    expect((await reader.get(`/admin/queues?token=${mintToken(s.env.JWT_SECRET, 'reader')}`)).status).toBe(303);
    expect((await reader.get('/admin/queues')).status).toBe(403);
  });
});

describe('graceful shutdown of the worker', () => {
  it('close() lets the active job finish before the connections close', async () => {
    const slow = await hangingServer();
    try {
      // A warm-up job against an API that answers only when released.
      s.worker!['options'].apiUrls['organisations-api'] = slow.url;
      const job = await s.queues.warmup.add('warmup', { reason: 'startup', targets: [{ service: 'organisations-api', path: '/produits' }] }, { ...JOB_OPTIONS, jobId: 'shutdown-test' });
      await waitForState(job.id!, 'active');
      let closed = false;
      const warmupWorker = s.worker!.workers.find((w) => w.name === 'cache-warmup')!;
      const closingStarted = new Promise((resolve) => warmupWorker.once('closing', resolve));
      const closing = s.worker!.close().then(() => { closed = true; });
      await closingStarted; // the worker has stopped taking jobs and is waiting for the one in hand
      expect(closed).toBe(false);
      expect(await (await s.queues.warmup.getJob(job.id!))!.getState()).toBe('active');
      slow.release();
      await closing;
      expect(await (await s.queues.warmup.getJob(job.id!))!.getState()).toBe('completed');
    } finally {
      await slow.close();
    }
  });
});

async function waitForState(jobId: string, state: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await (await s.queues.warmup.getJob(jobId))?.getState()) !== state) {
    if (Date.now() > deadline) throw new Error(`job ${jobId} never became ${state}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
