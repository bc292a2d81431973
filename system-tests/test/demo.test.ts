import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { TEST_DATABASE_URL } from '@crm/database/testing';
import { parseEnv } from '@crm/config';
import { deleteNamespaceKeys, freePort, stopProcess, TEST_QUEUE_URL, waitFor, type ServiceProcess } from '@crm/testing';
import { emptyDatabaseAndQueues, ROOT, startService, type ServiceName } from './services';

// `npm run demo` against the three built services running as processes (as `npm start` runs them), with their
// spans exported over OTLP/HTTP to a receiver this test runs: the trace the demo prints is checked to exist.
const env = parseEnv({ NODE_ENV: 'test', DATABASE_URL: TEST_DATABASE_URL });
const namespace = `crm-test-${randomUUID().slice(0, 8)}`;

/** Trace ids seen by the receiver, with the services that sent spans for each. */
const traces = new Map<string, Set<string>>();

function receiver(): Server {
  return createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        for (const resourceSpans of JSON.parse(Buffer.concat(chunks).toString()).resourceSpans ?? []) {
          const service = (resourceSpans.resource?.attributes ?? []).find((a: { key: string }) => a.key === 'service.name')?.value.stringValue;
          for (const scope of resourceSpans.scopeSpans ?? []) {
            for (const span of scope.spans ?? []) (traces.get(span.traceId) ?? traces.set(span.traceId, new Set()).get(span.traceId)!).add(service);
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
}

/** A built service exporting its spans over OTLP/JSON to `otlp`. */
function start(name: ServiceName, extra: Record<string, string>): Promise<ServiceProcess> {
  return startService(name, {
    NODE_ENV: 'test', DATABASE_URL: TEST_DATABASE_URL, QUEUE_REDIS_URL: TEST_QUEUE_URL,
    CACHE_NAMESPACE: namespace, WARMUP_ON_START: 'false', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '100',
    ...extra,
  });
}

/** Runs `node scripts/demo.mjs` as `npm run demo` does, and returns its exit code and output. */
function runDemo(extra: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'demo.mjs')], {
      cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...extra }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => { stdout += c; });
    child.stderr.on('data', (c) => { stderr += c; });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run demo', () => {
  const services: ServiceProcess[] = [];
  const otlp = receiver();
  let urls: Record<string, string> = {};

  beforeAll(async () => {
    await emptyDatabaseAndQueues();
    const otlpPort = await freePort();
    await new Promise<void>((resolve) => otlp.listen(otlpPort, '127.0.0.1', resolve));
    const common = { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${otlpPort}` };
    services.push(await start('organisations-api', common), await start('people-api', common));
    urls = { ORGANISATIONS_API_URL: services[0]!.url, PEOPLE_API_URL: services[1]!.url };
    services.push(await start('cache-worker', { ...common, ...urls }));
  }, 180_000);

  afterAll(async () => {
    await Promise.all(services.map(stopProcess));
    await new Promise((resolve) => otlp.close(resolve));
    await deleteNamespaceKeys(env.REDIS_URL, namespace);
  });

  it('walks through MISS, HIT, a write, the fresh read on both APIs, the trace and the stats, then cleans up', async () => {
    const demo = await runDemo({ ...urls, JWT_SECRET: env.JWT_SECRET, JAEGER_UI_URL: 'http://jaeger.example:16686' });
    expect([demo.code, demo.stderr]).toEqual([0, '']);
    const out = demo.stdout;
    expect(out).toMatch(/organisations-api: healthy/);
    expect(out).toMatch(/GET \/api\/v1\/organisations\/search\?q=(\w+) -> 200 {2}X-Cache: MISS .*"Demo Acme \1"\]\n.*GET \/api\/v1\/organisations\/search\?q=\1 -> 200 {2}X-Cache: HIT /);
    expect(out).toMatch(/PATCH \/api\/v1\/organisations\/\d+ -> 200 .*name = "Demo Acme \w+ \(renamed\)"/);
    // After the write: the search and the person on people-api show the new name, the person's second read is a HIT.
    expect(out).toMatch(/GET \/api\/v1\/organisations\/search\?q=\w+ -> 200 {2}X-Cache: MISS .*\["Demo Acme \w+ \(renamed\)"\]/);
    expect(out).toMatch(/GET \/api\/v1\/people\/\d+ -> 200 {2}X-Cache: HIT .*organisation.name = "Demo Acme \w+ \(renamed\)"\n\s+Fresh on both APIs/);
    expect(out).toMatch(/hits \d+, misses \d+, hit rate [\d.]+%, keys \d+/);
    expect(out).toMatch(/DELETE \/api\/v1\/organisations\/\d+ -> 204/);
    expect(out).toMatch(/Demo done in [\d.]+ s\./);

    // The printed trace is the write's, and it holds the worker's job too.
    const traceId = /http:\/\/jaeger\.example:16686\/trace\/([0-9a-f]{32})/.exec(out)?.[1];
    expect(traceId).toBeDefined();
    await waitFor(() => ['organisations-api', 'cache-worker'].every((s) => traces.get(traceId!)?.has(s)), "the write's trace from the API and the worker");
  }, 120_000);

  it('says how to start the stack, and exits 1, when the APIs are not running', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const demo = await runDemo({ ORGANISATIONS_API_URL: closed, PEOPLE_API_URL: closed, JWT_SECRET: env.JWT_SECRET });
    expect(demo.code).toBe(1);
    expect(demo.stderr).toMatch(/demo failed: cannot reach organisations-api at .* start the stack first \(npm start, or docker compose up\)\./);
  });
});
