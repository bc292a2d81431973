import { once } from 'node:events';
import path from 'node:path';
import { prepareTestDatabase, TEST_DATABASE_URL } from '@crm/database/testing';
import { spawnCaptured, TEST_QUEUE_URL, waitFor, type Captured } from '@crm/testing';

// Runs the built server as a real process (npm test builds first).
const SERVER = path.resolve(__dirname, '../dist/server.js');

function start(env: Record<string, string>): Captured {
  // A test queue database: the process's outbox relay must not publish test events to a dev stack's queue.
  return spawnCaptured(SERVER, { NODE_ENV: 'test', LOG_LEVEL: 'info', DATABASE_URL: TEST_DATABASE_URL, QUEUE_REDIS_URL: TEST_QUEUE_URL, ...env });
}

describe('the organisations-api process', () => {
  beforeAll(() => prepareTestDatabase());

  it('refuses to start on a bad environment value, naming the variable', async () => {
    const { child, output } = start({ ORGANISATIONS_API_PORT: 'not-a-port' });
    const [code] = await once(child, 'exit');
    expect(code).toBe(78);
    expect(output()).toMatch(/ORGANISATIONS_API_PORT/);
  });

  it('starts, answers /health, and exits cleanly on SIGTERM', async () => {
    const port = 3900 + Math.floor(Math.random() * 90);
    const { child, output } = start({ ORGANISATIONS_API_PORT: String(port) });
    try {
      await waitFor(() => /listening/.test(output()), 'the process to listen');
      // Redis connections come up just after the server listens.
      let health: { status?: string } = {};
      await waitFor(async () => {
        const res = await fetch(`http://127.0.0.1:${port}/health`);
        expect(res.status).toBe(200);
        health = await res.json() as typeof health;
        return health.status === 'healthy';
      }, 'a healthy /health');
      expect(health).toMatchObject({ status: 'healthy', database: { status: 'up' }, cache: { status: 'up' }, queue: { status: 'up' } });
      // JSON log lines, one per request would follow; the startup line is JSON too.
      expect(JSON.parse(output().split('\n').find((l) => l.includes('listening'))!)).toMatchObject({ service: 'organisations-api', port });
      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      expect(code).toBe(0);
      expect(output()).toMatch(/stopped/);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
