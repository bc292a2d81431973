/**
 * What every benchmark shares: where the repository and the built services are, the bench database and queue
 * Redis (overridable from the environment), the cache namespace, whether the servers trace, and a signing key.
 */
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';

/** The repository's root (this file runs from bench/dist). */
export const ROOT = resolve(__dirname, '..', '..');

/** A service's built entry point: services/<service>/dist/server.js. */
export const serviceServer = (service: string) => join(ROOT, 'services', service, 'dist', 'server.js');

/** A script of this package's build (bench/dist/<name>), for the servers it starts itself. */
export const benchScript = (name: string) => join(__dirname, name);

/** Where the benchmarks write their figures. */
export const OUT_DIR = join(ROOT, 'docs', 'benchmarks');

export const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/crm_bench';
/** The outbox relay's BullMQ connection: the next database, as by default, named so nothing is implicit. */
export const QUEUE_REDIS_URL = process.env.BENCH_QUEUE_REDIS_URL ?? 'redis://127.0.0.1:6379/4';
export const NAMESPACE = 'crm';
/** `off` starts every server with OTEL_SDK_DISABLED=true, to see what tracing costs; by default they trace as deployed. */
export const TRACING = process.env.BENCH_TRACING !== 'off' && process.env.OTEL_SDK_DISABLED !== 'true';
/** The APIs' signing key, new on each run: the benchmark mints its own tokens. */
export const JWT_SECRET = `bench-${randomBytes(24).toString('hex')}`;

/**
 * The environment of an API (or the worker) a benchmark starts: production mode, the bench database and queue
 * Redis, `redisUrl` as its cache Redis, no rate limit, the benchmark's signing key, tracing as BENCH_TRACING
 * says; `extra` adds its ports and switches.
 */
export function serviceEnv(redisUrl: string, extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_ENV: 'production',
    DATABASE_URL,
    REDIS_URL: redisUrl,
    QUEUE_REDIS_URL,
    CACHE_NAMESPACE: NAMESPACE,
    LOG_LEVEL: 'warn',
    RATE_LIMIT_PER_MINUTE: '0',
    JWT_SECRET,
    ...extra,
    ...(TRACING ? {} : { OTEL_SDK_DISABLED: 'true' }),
  };
}
