/**
 * The ceiling for a cache hit: the organisations API's HTTP stack (OpenTelemetry request spans,
 * createServiceApp: helmet, request log and metrics, JWT auth, role check, zod validation of the path) serving GET
 * /api/v1/organisations/:id from a Map of the exact bytes the cached API returned. Whatever the cached
 * API costs on top of this is the cache itself (key hash, Redis round trip, entry decoding, its spans and
 * timings) plus the per-request ORM context. Run by cache.ts as a child process, bodies sent over IPC.
 */
import { tracing } from './ceiling-tracing';
import { createServiceApp, defineRoute, idParams, notFound, OpenApiRegistry, serve } from '@crm/http';
import { createLogger, ServiceMetrics } from '@crm/telemetry';

export interface CeilingMessage {
  /** Organisation id -> response body, base64 so the bytes arrive unchanged. */
  bodies: Record<string, string>;
}

const SERVICE = 'ceiling';
const JSON_TYPE = 'application/json; charset=utf-8';

async function main(bodies: Map<number, Buffer>): Promise<void> {
  const port = Number(process.env.CEILING_PORT);
  const secret = process.env.JWT_SECRET;
  if (!port || !secret) throw new Error('CEILING_PORT and JWT_SECRET are required');
  const logger = createLogger(SERVICE, process.env.LOG_LEVEL ?? 'warn');
  const openapi = new OpenApiRegistry({ title: 'in-memory ceiling', version: '1.0.0', description: 'benchmark only' });
  const app = createServiceApp({
    service: SERVICE,
    logger,
    metrics: new ServiceMetrics(SERVICE),
    auth: { secret },
    openapi,
    health: { database: null, cache: null, queue: null },
    routes: (api) => {
      defineRoute(api, openapi, {
        method: 'get', path: '/organisations/:id', tag: 'organisations', role: 'reader',
        summary: 'One organisation, from memory', params: idParams, errors: [404],
        handler: async ({ params, res }) => {
          const body = bodies.get(params.id);
          if (!body) throw notFound('Organisation', params.id);
          res.setHeader('Content-Type', JSON_TYPE);
          res.setHeader('Content-Length', body.length);
          res.end(body);
        },
      });
    },
  });
  await serve(app, { port, logger, onShutdown: async () => { await tracing?.shutdown(); } });
}

// The benchmark owns this process: when it goes away, so does the ceiling.
process.once('disconnect', () => process.exit(0));
process.once('message', (message: CeilingMessage) => {
  const bodies = new Map(Object.entries(message.bodies).map(([id, body]) => [Number(id), Buffer.from(body, 'base64')]));
  main(bodies).catch((error: unknown) => {
    process.stderr.write(`${SERVICE} failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
});
