import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { createOrm } from '@crm/database';
import { TEST_DATABASE_URL } from '@crm/database/testing';
import { mintToken } from '@crm/http';
import { parseEnv } from '@crm/config';
import { deleteNamespaceKeys, stopProcess as stop, TEST_QUEUE_URL, waitFor, type ServiceProcess as Running } from '@crm/testing';
import { emptyDatabaseAndQueues, startService as startProcess, type ServiceName } from './services';

// The three built services as processes, exporting their spans over OTLP/HTTP to a receiver this test runs:
// real exports over the wire, as Jaeger would receive them.
const env = parseEnv({ NODE_ENV: 'test', DATABASE_URL: TEST_DATABASE_URL });
const namespace = `crm-test-${randomUUID().slice(0, 8)}`;

interface OtlpSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  attributes: Record<string, unknown>;
  links: { traceId: string; spanId: string; attributes: Record<string, unknown> }[];
}

/** An OTLP/HTTP receiver: keeps every export request, decodes the JSON ones into spans. */
class Receiver {
  spans: OtlpSpan[] = [];
  requests: { contentType: string; body: Buffer }[] = [];
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const contentType = String(req.headers['content-type'] ?? '');
        if (req.url === '/v1/traces') {
          this.requests.push({ contentType, body });
          if (contentType.includes('json')) this.decode(JSON.parse(body.toString()));
        }
        res.writeHead(200, { 'content-type': contentType.includes('json') ? 'application/json' : 'application/x-protobuf' });
        res.end(contentType.includes('json') ? '{}' : undefined);
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private decode(request: any): void { // eslint-disable-line @typescript-eslint/no-explicit-any
    for (const resourceSpans of request.resourceSpans ?? []) {
      const service = attributesOf(resourceSpans.resource?.attributes)['service.name'] as string;
      for (const scope of resourceSpans.scopeSpans ?? []) {
        for (const span of scope.spans ?? []) {
          const links = (span.links ?? []).map((l: any) => ({ traceId: l.traceId, spanId: l.spanId, attributes: attributesOf(l.attributes) })); // eslint-disable-line @typescript-eslint/no-explicit-any
          this.spans.push({ service, traceId: span.traceId, spanId: span.spanId, parentSpanId: span.parentSpanId ?? '', name: span.name, attributes: attributesOf(span.attributes), links });
        }
      }
    }
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function attributesOf(list: { key: string; value: Record<string, unknown> }[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of list ?? []) {
    const v = value.stringValue ?? value.boolValue ?? value.intValue ?? value.doubleValue ?? value.arrayValue;
    out[key] = (v as { values?: { stringValue: string }[] })?.values ? (v as { values: { stringValue: string }[] }).values.map((x) => x.stringValue) : v;
  }
  return out;
}

/** A built service exporting its spans to `receiver` with `protocol`. */
function startService(name: ServiceName, receiver: Receiver, protocol: string, extra: Record<string, string> = {}): Promise<Running> {
  return startProcess(name, {
    NODE_ENV: 'test', LOG_LEVEL: 'info', DATABASE_URL: TEST_DATABASE_URL,
    QUEUE_REDIS_URL: TEST_QUEUE_URL, CACHE_NAMESPACE: namespace, WARMUP_ON_START: 'false',
    WARMUP_TOKEN: workerCredentials.WARMUP_TOKEN, // the APIs accept it from the worker's warm-up
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: protocol, OTEL_BSP_SCHEDULE_DELAY: '100',
    ...extra,
  });
}

const auth = { authorization: `Bearer ${mintToken(env.JWT_SECRET, 'editor')}` };
/** The worker's credentials, as an operator would give them: the warm-up credential the APIs share, a dashboard token. */
const workerCredentials = {
  WARMUP_TOKEN: `warmup-${randomUUID()}-${randomUUID()}`,
  ADMIN_QUEUES_TOKEN: `dashboard-${randomUUID()}-${randomUUID()}`,
};

/** The services ran in a cache namespace of this test's own: remove its keys. */
const deleteNamespace = () => deleteNamespaceKeys(env.REDIS_URL, namespace);

describe('traces exported over OTLP/HTTP (JSON)', () => {
  const receiver = new Receiver();
  const running: Running[] = [];
  let organisations: Running;
  let worker: Running;

  beforeAll(async () => {
    await emptyDatabaseAndQueues();
    await receiver.start();
    organisations = await startService('organisations-api', receiver, 'http/json');
    running.push(organisations);
    worker = await startService('cache-worker', receiver, 'http/json', { ORGANISATIONS_API_URL: organisations.url, ...workerCredentials });
    running.push(worker);
  }, 150_000);
  afterAll(async () => {
    await Promise.all(running.map(stop));
    await receiver.close();
    await deleteNamespace();
  });

  const spansOf = (traceId: string) => receiver.spans.filter((s) => s.traceId === traceId);
  const serverSpan = (method: string, route: string) => receiver.spans.filter((s) => s.name === `${method} ${route}`).at(-1);

  it('a cached GET twice: a miss span (with the SQL it ran) then a hit span, each in its request trace; the log line has the ids', async () => {
    // Inserted directly: no write event, so no warm-up GET races the test's own two.
    const orm = await createOrm({ databaseUrl: TEST_DATABASE_URL });
    const [{ id }] = await orm.em.fork().execute<{ id: number }[]>("insert into organisation (name, category) values ('Traced', 'corporate') returning id") as [{ id: number }];
    await orm.close(true);
    for (let i = 0; i < 2; i++) await fetch(`${organisations.url}/api/v1/organisations/${id}`, { headers: auth });

    await waitFor(() => receiver.spans.filter((s) => s.name === 'cache.get' && s.attributes['cache.prefix'] === 'organisations').length >= 2, 'two cache.get spans');
    const gets = receiver.spans.filter((s) => s.name === 'cache.get' && String(s.attributes['cache.key']).startsWith('organisations:detail:'));
    expect(gets.map((s) => [s.attributes['cache.result'], s.attributes['cache.hit']])).toEqual([['miss', false], ['hit', true]]);
    expect(gets.every((s) => s.service === 'organisations-api')).toBe(true);
    const [miss, hit] = gets as [OtlpSpan, OtlpSpan];
    expect(miss.traceId).not.toBe(hit.traceId);
    // The miss read the database: pg spans in its trace; the hit did not.
    await waitFor(() => spansOf(miss.traceId).some((s) => s.attributes['db.system'] === 'postgresql' || s.attributes['db.system.name'] === 'postgresql'), 'the SQL spans of the miss');
    expect(spansOf(hit.traceId).some((s) => s.attributes['db.system'] === 'postgresql' || s.attributes['db.system.name'] === 'postgresql')).toBe(false);
    await waitFor(() => spansOf(miss.traceId).some((s) => s.name === 'cache.set'), 'the cache.set span of the miss');
    // The HTTP server span is the trace's root, and the request's log line carries the same ids.
    const root = spansOf(hit.traceId).find((s) => s.parentSpanId === '');
    expect(root?.name).toBe('GET /api/v1/organisations/:id');
    const logLine = organisations.output().split('\n').filter((l) => l.includes('"request"') && l.includes(`/organisations/${id}`)).map((l) => JSON.parse(l)).at(-1);
    expect(logLine).toMatchObject({ trace_id: hit.traceId, span_id: expect.stringMatching(/^[0-9a-f]{16}$/), cache: 'HIT' });
  });

  it("a write's trace holds the API's spans and the worker's cache.invalidate span, through the outbox and BullMQ", async () => {
    const created = await fetch(`${organisations.url}/api/v1/organisations`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Renamed Later', category: 'corporate' }) });
    const { id } = await created.json() as { id: number };
    const patched = await fetch(`${organisations.url}/api/v1/organisations/${id}`, { method: 'PATCH', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Renamed' }) });
    expect(patched.status).toBe(200);

    await waitFor(() => serverSpan('PATCH', '/api/v1/organisations/:id') !== undefined, 'the PATCH span');
    const traceId = serverSpan('PATCH', '/api/v1/organisations/:id')!.traceId;
    await waitFor(() => spansOf(traceId).some((s) => s.service === 'cache-worker' && s.name === 'cache.invalidate'), "the worker's cache.invalidate span in the write's trace");
    const spans = spansOf(traceId);
    const apiInvalidate = spans.find((s) => s.service === 'organisations-api' && s.name === 'cache.invalidate');
    expect(apiInvalidate?.attributes['cache.tags']).toEqual(expect.arrayContaining([`organisation:${id}`]));
    const workerInvalidate = spans.find((s) => s.service === 'cache-worker' && s.name === 'cache.invalidate')!;
    expect(workerInvalidate.attributes['cache.tags']).toEqual(expect.arrayContaining([`organisation:${id}`]));
    // BullMQ's produce and process spans link them, and the warm-up continues the same trace.
    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(['organisations-api', 'cache-worker']));
    await waitFor(() => spansOf(traceId).some((s) => s.service === 'organisations-api' && s.name === 'GET /api/v1/organisations/:id'), 'the warm-up GET in the same trace');
    // The worker's invalidation and warm-up spans also link to the write (found from either end in Jaeger).
    const linksToWrite = (s: OtlpSpan) => s.links.some((l) => l.traceId === traceId && l.attributes['cache.link'] === 'write');
    expect(linksToWrite(workerInvalidate)).toBe(true);
    await waitFor(() => spansOf(traceId).some((s) => s.service === 'cache-worker' && s.name === 'cache.warmup'), "the worker's cache.warmup span");
    const warmup = spansOf(traceId).find((s) => s.service === 'cache-worker' && s.name === 'cache.warmup')!;
    expect(linksToWrite(warmup)).toBe(true);
    expect(warmup.attributes['cache.warmup.reason']).toBe('write');
  });

  it('a token in the Authorization header, in two ?token= parameters and in a cookie reaches no span and no log line, on an API and on the worker', async () => {
    const secrets = [`t1-${randomUUID()}`, `t2-${randomUUID()}`, `t3-${randomUUID()}`, `t4-${randomUUID()}`];
    const bearer = mintToken(env.JWT_SECRET, 'reader');
    const api = await fetch(`${organisations.url}/api/v1/produits?token=${secrets[0]}&limit=1&TOKEN=${secrets[1]}&access_token=${secrets[2]}`, {
      headers: { authorization: `Bearer ${bearer}`, cookie: `session=${secrets[3]}` },
    });
    expect(api.status).toBe(400); // tokens are not parameters of any route
    const dashboard = await fetch(`${worker.url}/admin/queues?token=${secrets[0]}&token=${secrets[1]}`, {
      headers: { authorization: `Bearer ${workerCredentials.ADMIN_QUEUES_TOKEN}`, cookie: `crm_queues_session=${secrets[3]}` },
    });
    expect(dashboard.status).toBe(200);
    await waitFor(() => receiver.spans.filter((s) => String(s.attributes['url.query'] ?? '').includes('redacted')).length >= 2, 'both server spans');
    await waitFor(() => [organisations, worker].every((r) => r.output().includes('token=[redacted]')), 'both request log lines');

    const exported = JSON.stringify(receiver.spans);
    const logged = organisations.output() + worker.output();
    for (const secret of [...secrets, bearer, workerCredentials.ADMIN_QUEUES_TOKEN]) {
      expect(exported).not.toContain(secret);
      expect(logged).not.toContain(secret);
    }
    const apiSpan = receiver.spans.find((s) => s.service === 'organisations-api' && String(s.attributes['url.query'] ?? '').includes('limit=1'))!;
    expect(apiSpan.attributes['url.query']).toBe('token=[redacted]&limit=1&TOKEN=[redacted]&access_token=[redacted]');
  });
});

/** The organisations API alone, exporting to a receiver of the describe block's own with `protocol`. */
function useApiAlone(protocol: string, before: () => Promise<void> = async () => undefined) {
  const receiver = new Receiver();
  const running: { api?: Running } = {};
  beforeAll(async () => {
    await before();
    await receiver.start();
    running.api = await startService('organisations-api', receiver, protocol);
  }, 150_000);
  afterAll(async () => {
    await stop(running.api);
    await receiver.close();
    await deleteNamespace();
  });
  return { receiver, running };
}

describe('traces exported over OTLP/HTTP (protobuf, the default protocol)', () => {
  const { receiver, running } = useApiAlone('http/protobuf');

  it('sends protobuf export requests that carry the cache spans', async () => {
    await fetch(`${running.api!.url}/api/v1/produits`, { headers: auth });
    await waitFor(() => receiver.requests.some((r) => r.body.includes('cache.get')), 'a protobuf export with a cache.get span');
    const request = receiver.requests.find((r) => r.body.includes('cache.get'))!;
    expect(request.contentType).toBe('application/x-protobuf');
    expect(request.body.includes('organisations-api')).toBe(true);
    expect(request.body.includes('cache.result')).toBe(true);
  });
});

describe("a hit's trace leads to its fill, and the fill's to the write before it (OTLP/HTTP, JSON)", () => {
  // The API alone, no worker: the fill after the write is a client's, in a trace of its own, not a warm-up's.
  const { receiver, running } = useApiAlone('http/json', emptyDatabaseAndQueues);

  const getDetail = async (id: number) => {
    const res = await fetch(`${running.api!.url}/api/v1/organisations/${id}`, { headers: auth });
    await res.arrayBuffer();
    return { cache: res.headers.get('x-cache'), traceId: res.headers.get('traceresponse')!.split('-')[1]! };
  };
  /** The exported span `name` of the trace `traceId`. */
  const spanIn = async (traceId: string, name: string) => {
    await waitFor(() => receiver.spans.some((s) => s.traceId === traceId && s.name === name), `${name} in trace ${traceId}`);
    return receiver.spans.find((s) => s.traceId === traceId && s.name === name)!;
  };

  it("a hit's cache.get links to the fill's cache.set and carries the entry's age; a fill after a write links to the write", async () => {
    const orm = await createOrm({ databaseUrl: TEST_DATABASE_URL });
    const [{ id }] = await orm.em.fork().execute<{ id: number }[]>("insert into organisation (name, category) values ('Linked', 'corporate') returning id") as [{ id: number }];
    await orm.close(true);

    const firstFill = await getDetail(id);
    const firstHit = await getDetail(id);
    expect([firstFill.cache, firstHit.cache]).toEqual(['MISS', 'HIT']);
    const set = await spanIn(firstFill.traceId, 'cache.set');
    const hit = await spanIn(firstHit.traceId, 'cache.get');
    expect(hit.links).toEqual([{ traceId: firstFill.traceId, spanId: set.spanId, attributes: { 'cache.link': 'fill' } }]);
    expect(Number(hit.attributes['cache.age_ms'])).toBeGreaterThanOrEqual(0);
    // No write came before the first fill: nothing to link to.
    expect(set.links).toEqual([]);

    const patched = await fetch(`${running.api!.url}/api/v1/organisations/${id}`, {
      method: 'PATCH', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Linked Again' }),
    });
    expect(patched.status).toBe(200);
    const writeTrace = patched.headers.get('traceresponse')!.split('-')[1]!;
    const refill = await getDetail(id);
    const refillHit = await getDetail(id);
    expect([refill.cache, refillHit.cache]).toEqual(['MISS', 'HIT']);
    // hit -> fill -> write: each link names a span that was exported.
    const refillSet = await spanIn(refill.traceId, 'cache.set');
    expect((await spanIn(refillHit.traceId, 'cache.get')).links.map((l) => l.spanId)).toEqual([refillSet.spanId]);
    const [toWrite] = refillSet.links;
    expect(toWrite).toMatchObject({ traceId: writeTrace, attributes: { 'cache.link': 'write' } });
    await waitFor(() => receiver.spans.some((s) => s.traceId === writeTrace && s.spanId === toWrite!.spanId), 'the write span the fill links to');
  });
});
