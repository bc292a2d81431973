/**
 * One of our APIs with a peer library's cache in place of ours (npm run bench's apicache and bentocache
 * phases): `node peer-server.js <organisations-api|people-api>`, with BENCH_PEER and BENCH_PEER_REDIS_URL.
 * Everything else is the service as it ships: its routes, its write path, its process lifecycle.
 */
import { join, resolve } from 'node:path';
import type { Express } from 'express';

const SERVICES = ['organisations-api', 'people-api'] as const;
const service = process.argv[2] as (typeof SERVICES)[number];
if (!SERVICES.includes(service)) throw new Error(`usage: peer-server.js <${SERVICES.join('|')}>`);
const dist = join(resolve(__dirname, '..', '..'), 'services', service, 'dist');

// Tracing first, as the service's server.ts does: it patches http, express and pg before they load.
const { tracing } = require(join(dist, 'instrument.js')) as { tracing: import('@crm/telemetry').Tracing | null };
const { runApiService } = require('@crm/service-kit') as typeof import('@crm/service-kit');
const { peerOverrides, PEERS } = require('./peers') as typeof import('./peers');
const { buildApp, SERVICE } = require(join(dist, 'app.js')) as {
  SERVICE: string;
  buildApp: (deps: import('@crm/service-kit').ApiAppDeps) => Express;
};

async function main(): Promise<void> {
  const peer = process.env.BENCH_PEER as (typeof PEERS)[number];
  if (!PEERS.includes(peer)) throw new Error(`BENCH_PEER must be one of ${PEERS.join(', ')}`);
  const redisUrl = process.env.BENCH_PEER_REDIS_URL;
  if (!redisUrl) throw new Error('BENCH_PEER_REDIS_URL is required');
  const overrides = await peerOverrides(peer, redisUrl);
  runApiService({
    service: SERVICE,
    port: (env) => (service === 'organisations-api' ? env.ORGANISATIONS_API_PORT : env.PEOPLE_API_PORT),
    buildApp: (deps) => buildApp({ ...deps, routeOverrides: overrides(deps.runtime.writer) }),
    tracing,
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`peer server failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
