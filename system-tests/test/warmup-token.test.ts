import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import request from 'supertest';
import { mintToken } from '@crm/http';
import { JOB_OPTIONS } from '@crm/jobs';
import { startStack, type Stack } from './stack';
import { waitFor } from '@crm/testing';

// The worker warms up with the reader token it is given (WARMUP_TOKEN) and holds no signing key. A warm-up the
// API refuses is a failure, counted and visible, never a silent success.

const target = { reason: 'startup', targets: [{ service: 'organisations-api', path: '/produits' }] };

async function metricsOf(s: Stack): Promise<string> {
  return (await request(s.workerApp!).get('/metrics')).text;
}

function sample(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(' ').pop()) : NaN;
}

/** An API stand-in that answers every request with one status. */
async function answering(status: number): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((_req, res) => res.writeHead(status, { 'retry-after': '1' }).end('{}'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

describe('a worker whose WARMUP_TOKEN the APIs refuse', () => {
  let s: Stack;
  const lines: Record<string, unknown>[] = [];
  beforeAll(async () => {
    const sink = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done(); } });
    s = await startStack({
      replicas: 1,
      // Signed with another secret than the APIs': what a token for the wrong environment looks like.
      warmupToken: mintToken('some-other-secret-0123456789abcdef', 'reader', { sub: 'cache-worker' }),
      workerLogger: pino(sink),
    });
  });
  afterAll(() => s.close());

  it('fails the job for good at the first 401 (no retry mends a wrong token), counts it, and logs one error with the status', async () => {
    const job = await s.queues.warmup.add('warmup', target, { ...JOB_OPTIONS, jobId: 'refused-401' });
    await waitFor(async () => (await s.queues.warmup.getJob(job.id!).then((j) => j?.getState())) === 'failed', 'the job to fail');
    const failed = (await s.queues.warmup.getJob(job.id!))!;
    expect(failed.attemptsMade).toBe(1);
    expect(failed.failedReason).toMatch(/warm-up token refused: .*\/api\/v1\/produits answered 401; set WARMUP_TOKEN/);
    const text = await metricsOf(s);
    expect(sample(text, 'cache_warmup_failures_total', 'reason="unauthorized"')).toBe(1);
    expect(sample(text, 'cache_jobs_failed_total', 'queue="cache-warmup"')).toBe(1);
    await waitFor(() => lines.some((l) => l.jobId === 'refused-401'), 'the log line');
    const logged = lines.filter((l) => l.jobId === 'refused-401' && Number(l.level) >= 40); // warnings and errors (the job's summary line is info)
    expect(logged).toEqual([expect.objectContaining({ level: 50, msg: 'job failed for good', err: expect.stringContaining('answered 401') })]);
  });
});

describe('a worker with a valid WARMUP_TOKEN', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ replicas: 1 });
  });
  afterAll(() => s.close());

  it('warms up through the API with it (the token the test minted, as an operator would)', async () => {
    await s.queues.warmup.add('warmup', target, { ...JOB_OPTIONS, jobId: 'valid-token' });
    const done = await s.completed(s.queues.warmup, 'valid-token');
    expect(done.returnvalue).toEqual([expect.objectContaining({ path: '/produits', status: 200 })]);
  });

  it.each([
    { status: 429, reason: 'rate_limited' },
    { status: 403, reason: 'forbidden' },
  ])('counts a $status as $reason and fails the job', async ({ status, reason }) => {
    const api = await answering(status);
    const apiUrls = s.worker!['options'].apiUrls;
    const real = apiUrls['organisations-api'];
    apiUrls['organisations-api'] = api.url;
    try {
      const before = sample(await metricsOf(s), 'cache_warmup_failures_total', `reason="${reason}"`);
      const job = await s.queues.warmup.add('warmup', target, { attempts: 3, backoff: { type: 'fixed', delay: 60_000 }, jobId: `answered-${status}` });
      await waitFor(async () => (await s.queues.warmup.getJob(job.id!))!.attemptsMade >= 1, 'a failed attempt');
      const after = (await s.queues.warmup.getJob(job.id!))!;
      expect(sample(await metricsOf(s), 'cache_warmup_failures_total', `reason="${reason}"`)).toBe(before + 1);
      if (status === 429) {
        // Rate limited: tried again later, with backoff.
        expect(after.failedReason).toMatch(/warm-up failed for 1 target.*: 429/);
        expect(await after.getState()).toBe('delayed');
      } else {
        // The token lacks the role: a configuration error, failed for good.
        expect(after.failedReason).toMatch(/answered 403/);
        expect(await after.getState()).toBe('failed');
      }
    } finally {
      apiUrls['organisations-api'] = real;
      await api.close();
    }
  });
});

describe('a worker without WARMUP_TOKEN', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ replicas: 1, warmupToken: null });
  });
  afterAll(() => s.close());

  it('still runs invalidation, enqueues no warm-up, and says warm-up is off in its metrics', async () => {
    const created = await request(s.organisations[0]!.app).post('/api/v1/organisations').set(s.auth('editor')).send({ name: 'No warm-up', category: 'other' }).expect(201);
    const eventId = await s.lastEventId('organisation', created.body.id);
    const job = await s.completed(s.queues.invalidation, `event-${eventId}`);
    expect(job.returnvalue).toMatchObject({ warmup: 0 });
    expect(await s.queues.warmup.getJobCountByTypes('waiting', 'active', 'delayed', 'completed', 'failed')).toBe(0);
    expect(sample(await metricsOf(s), 'cache_warmup_enabled', '')).toBe(0);
  });
});

describe('failed jobs', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ replicas: 1, failedJobs: { age: 3_600, count: 2 } });
  });
  afterAll(() => s.close());

  it('are kept up to the configured count, and counted over time however many are kept', async () => {
    const ids = ['bad-1', 'bad-2', 'bad-3', 'bad-4'];
    for (const id of ids) {
      // Malformed: failed for good at once (UnrecoverableError).
      await s.queues.invalidation.add('organisation.updated', { event: 'nonsense' }, { ...JOB_OPTIONS, jobId: id });
      await waitFor(async () => sample(await metricsOf(s), 'cache_jobs_failed_total', 'queue="cache-invalidation"') === ids.indexOf(id) + 1, `${id} to fail`);
    }
    expect(await s.queues.invalidation.getJobCountByTypes('failed')).toBe(2);
    expect((await s.queues.invalidation.getFailed()).map((j) => j.id).sort()).toEqual(['bad-3', 'bad-4']);
  });
});
