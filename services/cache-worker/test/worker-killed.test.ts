import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import path from 'node:path';
import request from 'supertest';
import { TEST_DATABASE_URL } from '@crm/database';
import { warmupJobId } from '@crm/jobs';
import { hangingServer, startStack, waitFor, type Stack } from './stack';

// The built worker as a real process (npm test builds first), killed with SIGKILL in the middle of a job.
const SERVER = path.resolve(__dirname, '../dist/server.js');

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startWorker(s: Stack, organisationsApiUrl: string): Promise<{ child: ChildProcess; output: () => string }> {
  let output = '';
  const child = spawn(process.execPath, [SERVER], {
    env: {
      PATH: process.env.PATH ?? '', NODE_ENV: 'test', LOG_LEVEL: 'info',
      // The stack's cache and queues: the local server and the test queue database, or the tests' cluster.
      DATABASE_URL: TEST_DATABASE_URL, ...s.redisEnv, CACHE_NAMESPACE: s.namespace,
      ORGANISATIONS_API_URL: organisationsApiUrl, PEOPLE_API_URL: s.people[0]!.url,
      CACHE_WORKER_PORT: String(await freePort()), WORKER_LOCK_MS: '1000', WARMUP_ON_START: 'false',
      WARMUP_TOKEN: s.warmupToken, // the reader token the stack minted: the worker has no key to mint one
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (c) => { output += c; });
  child.stderr!.on('data', (c) => { output += c; });
  return { child, output: () => output };
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
