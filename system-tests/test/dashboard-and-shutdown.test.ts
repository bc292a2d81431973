import { Writable } from 'node:stream';
import pino from 'pino';
import request from 'supertest';
import { mintToken } from '@crm/http';
import { JOB_OPTIONS, QUEUES } from '@crm/jobs';
import { ServiceMetrics } from '@crm/telemetry';
import { buildWorkerApp, SERVICE } from '@crm/cache-worker';
import { hangingServer, startStack, type Stack } from './stack';

let s: Stack;
beforeAll(async () => {
  s = await startStack({ replicas: 1 });
});
afterAll(() => s.close());

describe('GET /admin/queues', () => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done(); } });
  const app = (adminQueuesToken: string | null = s.adminQueuesToken) => buildWorkerApp({
    env: s.env, orm: s.orm, logger: pino(sink), metrics: new ServiceMetrics(SERVICE),
    cacheProbe: async () => undefined, queueProbe: async () => undefined, queues: Object.values(s.queues), adminQueuesToken,
  });
  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

  it('refuses API clients without the dashboard token with a 401 problem+json, and JWTs of any role', async () => {
    const anonymous = await request(app()).get('/admin/queues').set('Accept', 'application/json');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(anonymous.body.detail).toMatch(/\/admin\/queues\/login/);
    // The worker holds no JWT key: an API admin token opens nothing here.
    expect((await request(app()).get('/admin/queues/api/queues').set(bearer(mintToken(s.env.JWT_SECRET, 'admin')))).status).toBe(401);
    expect((await request(app()).get('/admin/queues/api/queues').set(bearer(`${s.adminQueuesToken}x`))).status).toBe(401);
  });

  it('shows a browser without credentials a 401 page with the sign-in form', async () => {
    const page = await request(app()).get('/admin/queues').set('Accept', 'text/html,application/xhtml+xml,*/*;q=0.8');
    expect(page.status).toBe(401);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).toMatch(/<form method="post" action="\/admin\/queues\/login">/);
    expect(page.text).toMatch(/name="token"/);
  });

  it('serves the dashboard and its API, which lists both queues, to the Authorization header', async () => {
    const page = await request(app()).get('/admin/queues').set(bearer(s.adminQueuesToken));
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/<div id="root">/);
    const api = await request(app()).get('/admin/queues/api/queues').set(bearer(s.adminQueuesToken));
    expect(api.status).toBe(200);
    expect(api.body.queues.map((q: { name: string }) => q.name).sort()).toEqual([QUEUES.invalidation, QUEUES.warmup]);
  });

  it('a browser signs in by POSTing the form: an HttpOnly, SameSite=Strict cookie scoped to the page, then a 303 to it', async () => {
    const agent = request.agent(app());
    const form = await agent.get('/admin/queues/login');
    expect(form.status).toBe(200);
    expect(form.text).toMatch(/<form method="post"/);
    const signIn = await agent.post('/admin/queues/login').type('form').send({ token: s.adminQueuesToken });
    expect(signIn.status).toBe(303);
    expect(signIn.headers.location).toBe('/admin/queues');
    const cookie = signIn.headers['set-cookie']![0]!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Path=\/admin\/queues/);
    expect(cookie).not.toContain(s.adminQueuesToken); // the cookie is a session derived from it, not the credential
    expect((await agent.get('/admin/queues/api/queues')).status).toBe(200);

    const wrong = await request(app()).post('/admin/queues/login').type('form').set('Accept', 'text/html').send({ token: 'not-the-token' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers['set-cookie']).toBeUndefined();
    expect(wrong.text).toMatch(/not valid/);
  });

  it('sets nothing for ?token= in the URL and never logs it', async () => {
    lines.length = 0;
    const res = await request(app()).get(`/admin/queues?token=${s.adminQueuesToken}&x=1&token=${s.adminQueuesToken}`).set('Accept', 'application/json');
    expect(res.status).toBe(401);
    expect(res.headers['set-cookie']).toBeUndefined();
    const logged = JSON.stringify(lines);
    expect(lines.some((l) => l.msg === 'request' && String(l.url).startsWith('/admin/queues?'))).toBe(true);
    expect(logged).not.toContain(s.adminQueuesToken);
  });

  it('answers 401, not 500, to a session cookie with malformed percent-encoding', async () => {
    const res = await request(app()).get('/admin/queues/api/queues').set('Cookie', 'crm_queues_session=%E0%A4%A');
    expect(res.status).toBe(401);
  });

  it('is off, a 404 saying how to turn it on, without ADMIN_QUEUES_TOKEN', async () => {
    const res = await request(app(null)).get('/admin/queues').set(bearer(s.adminQueuesToken));
    expect(res.status).toBe(404);
    expect(res.body.detail).toMatch(/ADMIN_QUEUES_TOKEN/);
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
