/**
 * `npm run bench`'s settings, read from the environment once (docs/benchmarks/README.md lists them); the
 * database, queue Redis, namespace and tracing are every benchmark's (../environment.ts).
 */
import { randomBytes } from 'node:crypto';
import { positiveNumber } from '../util';

/** Base name of the files written: bench.json, bench.md, bench.svg by default. */
export const OUT_NAME = process.env.BENCH_OUTPUT ?? 'bench';

// The cache Redis: by default our own redis-server on a spare port (so the outage phase can stop it and
// its memory is ours alone); BENCH_REDIS_URL uses an existing one instead (no outage phase then).
export const OWN_REDIS_PORT = Math.round(positiveNumber('BENCH_CACHE_REDIS_PORT', 6430));
export const OWN_REDIS = !process.env.BENCH_REDIS_URL;
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? `redis://127.0.0.1:${OWN_REDIS_PORT}/3`;
/** The peers' Redis databases on our own cache Redis server (ours uses db 3). */
export const PEER_DB: Record<string, number> = { apicache: 5, bentocache: 6 };

export const DURATION = positiveNumber('BENCH_DURATION', 30);
export const WARMUP = positiveNumber('BENCH_WARMUP', 15);
/** The read-only sweep of list, search and stats URLs after each mix: seconds per class. */
export const SWEEP_SECONDS = positiveNumber('BENCH_SWEEP', 4);
export const CONNECTION_USERS = Math.round(positiveNumber('BENCH_CONNECTIONS', 10_000));
export const ORG_CONNECTIONS = Math.round(positiveNumber('BENCH_ORG_CONNECTIONS', 40));
export const PEOPLE_CONNECTIONS = Math.round(positiveNumber('BENCH_PEOPLE_CONNECTIONS', 24));
/** The credential the APIs share with the worker for its warm-up. */
export const WARMUP_TOKEN = `warmup-${randomBytes(24).toString('hex')}`;
export const ZIPF_S = 1.0;
export const WRITE_PCT = positiveNumber('BENCH_WRITE_PCT', 10);
/** The freshness checker's renaming writer: its pause between writes. */
export const FRESHNESS_WRITE_MS = positiveNumber('BENCH_FRESHNESS_WRITE_MS', 200);
/** The page checker's pause between one write's checks and its next write. */
export const FRESHNESS_PAGE_MS = positiveNumber('BENCH_FRESHNESS_PAGE_MS', 250);
/** Only the phases named here (comma-separated names or their first word before a comma, or `connections`). */
export const ONLY_PHASES = process.env.BENCH_PHASES?.split(',').map((x) => x.trim());
export const MIX_ONLY = process.env.BENCH_MIX_ONLY === 'true';
