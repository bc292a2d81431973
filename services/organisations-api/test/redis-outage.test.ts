import request from 'supertest';
import { RedisServer, waitFor } from '@crm/testing';
import { startHarness, type Harness } from './harness';

// The contract's "Redis down", seen through HTTP: the cache's Redis is a real server on a spare port,
// hung with SIGSTOP or killed with SIGKILL while requests go on.
const SLOW_MS = 1_000; // a generous bound for any request during an outage
const FAST_MS = 200; // once the breaker is open: well under the cache client's 250 ms command timeout
// A write retries its invalidation for up to 1 s (the cache's owedWaitMs: this process alone may have lost Redis,
// while other replicas still serve from it) before it answers with the invalidation owed; plus one command timeout.
const WRITE_MS = 1_000 + 250 + 500;

const server = new RedisServer(6413);
let h: Harness;

beforeAll(async () => {
  await server.start();
  h = await startHarness({ cache: true, redisUrl: server.url });
  await waitFor(() => h.redis!.status === 'ready', 'the cache client to be ready');
});
afterAll(async () => {
  await h?.close();
  await server.stop();
});

interface Timed { status: number; body: request.Response['body']; cache: string | undefined; ms: number }

async function timed(call: request.Test): Promise<Timed> {
  const started = performance.now();
  const res = await call;
  return { status: res.status, body: res.body, cache: res.headers['x-cache'], ms: performance.now() - started };
}

const get = (url: string) => timed(request(h.app).get(url).set(h.auth('reader')));
const patch = (url: string, body: Record<string, unknown>) => timed(request(h.app).patch(url).set(h.auth('editor')).send(body));
const health = () => timed(request(h.app).get('/health'));

/** Reads `url` until it is a cache hit; returns every X-Cache seen on the way and checks each body. */
async function readUntilHit(url: string, expectBody: (body: Timed['body']) => void): Promise<string[]> {
  const seen: string[] = [];
  await waitFor(async () => {
    const res = await get(url);
    expect(res.status).toBe(200);
    expectBody(res.body);
    seen.push(res.cache ?? 'none');
    return res.cache === 'HIT';
  }, `${url} to be a cache hit`);
  return seen;
}

async function createOrg(name: string): Promise<number> {
  const res = await request(h.app).post('/api/v1/organisations').set(h.auth('editor')).send({ name, category: 'advisor' });
  expect(res.status).toBe(201);
  return res.body.id as number;
}

const names = (body: { items: { name: string }[] }) => body.items.map((o) => o.name);
const LIST = '/api/v1/organisations?category=advisor&limit=500';

/** Health, detail and list reads while Redis is out: all answer 200 from the database within `SLOW_MS`. */
async function readDuringOutage(id: number, name: string): Promise<number[]> {
  const timings: number[] = [];
  const status = await health();
  expect(status).toMatchObject({ status: 200, body: { status: 'degraded', cache: { status: 'down' }, database: { status: 'up' } } });
  expect(status.ms).toBeLessThan(SLOW_MS);
  for (let i = 0; i < 4; i++) {
    const sqlBefore = h.sql.length;
    const detail = await get(`/api/v1/organisations/${id}`);
    const list = await get(LIST);
    expect(detail).toMatchObject({ status: 200, body: { id, name } });
    expect(list.status).toBe(200);
    expect(names(list.body)).toContain(name);
    expect(h.sql.length).toBeGreaterThan(sqlBefore); // answered by the database
    timings.push(detail.ms, list.ms);
  }
  for (const ms of timings) expect(ms).toBeLessThan(SLOW_MS);
  return timings;
}

describe('the API while the cache Redis is hung (SIGSTOP)', () => {
  it('answers /health degraded, reads from the database without waiting once the breaker is open, writes; when Redis wakes, nothing invalidated meanwhile is served', async () => {
    const id = await createOrg('Before Hang');
    const url = `/api/v1/organisations/${id}`;
    expect(await readUntilHit(url, (b) => expect(b).toMatchObject({ name: 'Before Hang' }))).toContain('MISS');
    await readUntilHit(LIST, (b) => expect(names(b)).toContain('Before Hang'));

    await server.pause();
    try {
      const timings = await readDuringOutage(id, 'Before Hang');
      // The first calls may wait for the command timeout (250 ms); once the breaker is open, none does.
      expect(Math.max(...timings.slice(-4))).toBeLessThan(FAST_MS);

      const written = await patch(url, { name: 'During Hang' });
      expect(written).toMatchObject({ status: 200, body: { name: 'During Hang' } });
      expect(written.ms).toBeLessThan(WRITE_MS);
      await readDuringOutage(id, 'During Hang'); // how fast they are is the next test's subject
    } finally {
      await server.resume();
    }

    // The entries cached before the hang are still in Redis, with the old name: they must never be served again.
    const detailSeen = await readUntilHit(url, (b) => expect(b).toMatchObject({ name: 'During Hang' }));
    expect(detailSeen.slice(-2)).toEqual(['MISS', 'HIT']);
    const listSeen = await readUntilHit(LIST, (b) => {
      expect(names(b)).toContain('During Hang');
      expect(names(b)).not.toContain('Before Hang');
    });
    expect(listSeen.slice(-2)).toEqual(['MISS', 'HIT']);
    expect((await health()).body).toMatchObject({ status: 'healthy', cache: { status: 'up' } });
  });

  it('reads after a write made during the hang do not wait on Redis either', async () => {
    const id = await createOrg('Written In Hang');
    const url = `/api/v1/organisations/${id}`;
    await readUntilHit(url, (b) => expect(b).toMatchObject({ name: 'Written In Hang' }));

    await server.pause();
    try {
      // The write's invalidation cannot reach Redis: it is owed, and the reads below must not retry it each time.
      expect(await patch(url, { name: 'Renamed In Hang' })).toMatchObject({ status: 200, body: { name: 'Renamed In Hang' } });
      const timings = await readDuringOutage(id, 'Renamed In Hang');
      expect(Math.max(...timings.slice(-4))).toBeLessThan(FAST_MS);
    } finally {
      await server.resume();
    }
    await readUntilHit(url, (b) => expect(b).toMatchObject({ name: 'Renamed In Hang' }));
  });
});

describe('the API while the cache Redis is killed (SIGKILL)', () => {
  it('answers /health degraded, reads without waiting at all, writes within the invalidation retry; a restarted, empty Redis fills again with the new data', async () => {
    const id = await createOrg('Before Kill');
    const url = `/api/v1/organisations/${id}`;
    await readUntilHit(url, (b) => expect(b).toMatchObject({ name: 'Before Kill' }));

    await server.kill();
    await waitFor(() => h.redis!.status !== 'ready', 'the cache client to see the drop'); // the client saw the connection drop
    // A dropped connection opens the breaker at once: no request waits for a timeout.
    expect(Math.max(...await readDuringOutage(id, 'Before Kill'))).toBeLessThan(FAST_MS);
    expect((await health()).ms).toBeLessThan(FAST_MS);

    const written = await patch(url, { name: 'During Kill' });
    expect(written).toMatchObject({ status: 200, body: { name: 'During Kill' } });
    expect(written.ms).toBeLessThan(WRITE_MS);
    expect(Math.max(...await readDuringOutage(id, 'During Kill'))).toBeLessThan(FAST_MS);

    await server.start();
    const seen = await readUntilHit(url, (b) => expect(b).toMatchObject({ name: 'During Kill' }));
    expect(seen.slice(-2)).toEqual(['MISS', 'HIT']);
    expect((await health()).body).toMatchObject({ status: 'healthy', cache: { status: 'up' } });
  });
});
