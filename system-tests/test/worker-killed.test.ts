import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import request from 'supertest';
import { TEST_DATABASE_URL } from '@crm/database/testing';
import { warmupJobId } from '@crm/jobs';
import { freePort, spawnCaptured, waitFor, type Captured } from '@crm/testing';
import { serverOf } from './services';
import { hangingServer, startStack, type Stack } from './stack';

// The built worker as a real process (npm test builds first), killed with SIGKILL in the middle of a job.

function startWorker(s: Stack, organisationsApiUrl: string): Promise<Captured> {
  return freePort().then((port) => spawnCaptured(serverOf('cache-worker'), {
    NODE_ENV: 'test', LOG_LEVEL: 'info',
    // The stack's cache and queues: the local server and the test queue database, or the tests' cluster.
    DATABASE_URL: TEST_DATABASE_URL, ...s.redisEnv, CACHE_NAMESPACE: s.namespace,
    ORGANISATIONS_API_URL: organisationsApiUrl, PEOPLE_API_URL: s.people[0]!.url,
    CACHE_WORKER_PORT: String(port), WORKER_LOCK_MS: '1000', WARMUP_ON_START: 'false',
    WARMUP_TOKEN: s.warmupToken, // the credential the stack's APIs accept: the worker has no key to mint a token
  }));
}

describe('the worker process is killed in the middle of a job', () => {
  let s: Stack;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    s = await startStack({ worker: false });
  });
  afterAll(async () => {
    children.forEach((c) => c.kill('SIGKILL'));
    await s.close();
  });

  it('another worker picks the job up once its lock expires, and completes it', async () => {
    const hanging = await hangingServer();
    try {
      const first = await startWorker(s, hanging.url);
      children.push(first.child);
      const created = await request(s.organisations[0]!.app).post('/api/v1/organisations').set(s.auth('editor')).send({ name: 'Survivor', category: 'corporate' });
      const id = created.body.id as number;
      const jobId = warmupJobId(await s.lastEventId('organisation', id));
      // The first worker ran the invalidation and is now inside the warm-up, waiting on an API that never answers.
      await waitFor(async () => (await (await s.queues.warmup.getJob(jobId))?.getState()) === 'active', 'the warm-up job to be active', 20_000);
      first.child.kill('SIGKILL');
      await once(first.child, 'exit');

      const second = await startWorker(s, s.organisations[0]!.url);
      children.push(second.child);
      const job = await s.completed(s.queues.warmup, jobId, 30_000);
      expect(job.returnvalue).toEqual(expect.arrayContaining([expect.objectContaining({ path: `/organisations/${id}`, status: 200 })]));
      const read = await request(s.organisations[1]!.app).get(`/api/v1/organisations/${id}`).set(s.auth('reader'));
      expect([read.headers['x-cache'], read.body.name]).toEqual(['HIT', 'Survivor']);

      // SIGTERM: the second worker stops cleanly.
      second.child.kill('SIGTERM');
      const [code] = await once(second.child, 'exit');
      expect(code).toBe(0);
      expect(second.output()).toMatch(/stopped/);
    } finally {
      await hanging.close();
    }
  });
});
