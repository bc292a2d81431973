import request from 'supertest';
import { startHarness, type Harness } from './harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ cache: true });
});
afterAll(() => h.close());

type Sample = { name: string; labels: Record<string, string>; value: number };

/** Parses the Prometheus text format strictly: every line is a comment or `name{labels} value`; throws otherwise. */
function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*/.test(line)) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+-]+|NaN|Nan|\+Inf|-Inf)$/.exec(line);
    if (!match) throw new Error(`not Prometheus text: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

async function scrape(): Promise<Sample[]> {
  const res = await request(h.app).get('/metrics');
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheus(res.text);
}

const value = (samples: Sample[], name: string, labels: Record<string, string>) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((sum, s) => sum + s.value, 0);

it('/metrics is Prometheus text and its counters move with requests', async () => {
  const before = await scrape();
  await request(h.app).get('/api/v1/produits').set(h.auth('reader')).expect(200);
  await request(h.app).get('/api/v1/produits').set(h.auth('reader')).expect(200);
  const after = await scrape();

  const delta = (name: string, labels: Record<string, string>) => value(after, name, labels) - value(before, name, labels);
  expect(delta('cache_requests_total', { prefix: 'produits', result: 'miss' })).toBe(1);
  expect(delta('cache_requests_total', { prefix: 'produits', result: 'hit' })).toBe(1);
  expect(delta('http_request_duration_seconds_count', { method: 'GET', route: '/api/v1/produits', status_code: '200' })).toBe(2);
  expect(delta('db_queries_total', { service: 'organisations-api' })).toBe(2); // the miss: page and count
  expect(delta('cache_operation_duration_seconds_count', { operation: 'get' })).toBeGreaterThanOrEqual(2);
  expect(delta('cache_operation_duration_seconds_count', { operation: 'set' })).toBe(1);
});

it("counts a write's invalidated tags once: the tags entries were stored under (cache_invalidated_tags)", async () => {
  await request(h.app).get('/api/v1/produits').set(h.auth('reader')).expect(200); // an entry under the list's tags
  const before = await scrape();
  await request(h.app).post('/api/v1/produits').set(h.auth('editor')).send({ name: 'Counted fund', category: 'bond' }).expect(201);
  const after = await scrape();
  const delta = (name: string) => value(after, name, {}) - value(before, name, {});
  expect(delta('cache_invalidated_tags_count')).toBe(1); // the write applied its event
  expect(delta('cache_invalidated_tags_sum')).toBeGreaterThanOrEqual(1); // at least the list's tag had a token
});

it('labels errors with the same route pattern as successes, and unknown paths with one fixed label', async () => {
  // Only the request histogram's counts: the whole exposition is checked above.
  const counts = async () => new Map([...(await request(h.app).get('/metrics')).text.matchAll(
    /^http_request_duration_seconds_count\{service="organisations-api",method="GET",route="([^"]*)",status_code="(\d+)"\} (\d+)$/gm,
  )].map((m) => [`${m[1]} ${m[2]}`, Number(m[3])]));
  const before = await counts();
  await request(h.app).get('/api/v1/organisations/999999').set(h.auth('reader')).expect(404);
  await request(h.app).get('/api/v1/organisations/999999').expect(401);
  await request(h.app).get('/api/v1/organisations/abc').set(h.auth('reader')).expect(400);
  await request(h.app).get('/api/v1/no-such-thing/1').set(h.auth('reader')).expect(404);
  const after = await counts();
  const delta = (series: string) => (after.get(series) ?? 0) - (before.get(series) ?? 0);
  for (const status of ['404', '401', '400']) expect(delta(`/api/v1/organisations/:id ${status}`)).toBe(1);
  expect(delta('unmatched 404')).toBe(1);
  expect([...after.keys()].filter((series) => !series.startsWith('/api/v1/') && !series.startsWith('unmatched ') && !series.startsWith('/metrics '))).toEqual([]);
});
