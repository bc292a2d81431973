/**
 * `npm run bench:worker`: how many invalidation jobs one cache-worker process runs per second, and two.
 * Each round enqueues BENCH_JOBS `cache-invalidation` jobs (an admin invalidation of three tags each, so no
 * warm-up follows) on a queue Redis of its own, starts the workers as real processes, and times the drain.
 * Prints the figures and writes docs/benchmarks/worker.json (docs/scaling.md quotes them).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { ensureDatabase, migrate } from '@crm/database';
import { JOB_OPTIONS, QUEUES, invalidationJobId, openQueue } from '@crm/jobs';
import { freePort, peakRssMiB, startNode, stopAll, waitForHealth } from './children';
import { DATABASE_URL, OUT_DIR, serviceServer } from './environment';
import { BenchRedisServer } from './redis';
import { runBenchmark } from './run';
import { log, positiveNumber, sleep } from './util';

const PORT = Math.round(positiveNumber('BENCH_WORKER_REDIS_PORT', 6431));
const JOBS = Math.round(positiveNumber('BENCH_JOBS', 20_000));
const CONCURRENCY = Math.round(positiveNumber('BENCH_WORKER_CONCURRENCY', 10));

interface Round { workers: number; jobs: number; seconds: number; jobsPerSecond: number; peakRssMiB: (number | null)[] }

async function round(workers: number, round: number): Promise<Round> {
  const redis = new Redis({ port: PORT });
  await redis.flushall();
  const queue = openQueue(QUEUES.invalidation, { host: '127.0.0.1', port: PORT });
  // Paused while the jobs go in and the workers start: the clock runs from resume to the last job.
  await queue.pause();
  const occurredAt = new Date().toISOString();
  for (let i = 0; i < JOBS; i += 1_000) {
    await queue.addBulk(Array.from({ length: Math.min(1_000, JOBS - i) }, (_, k) => {
      const eventId = String(round * 10_000_000 + i + k + 1);
      return {
        name: 'cache.invalidated',
        data: { event: 'cache.invalidated', entity: 'cache', id: 0, tags: [`organisation:${i + k}`, `person:${i + k}`, 'organisations'], occurredAt, eventId, payload: {}, trace: null },
        opts: { ...JOB_OPTIONS, jobId: invalidationJobId(eventId) },
      };
    }));
  }
  log(`${workers} worker(s): ${JOBS.toLocaleString('en')} jobs waiting`);
  const children: ChildProcess[] = [];
  for (let w = 0; w < workers; w++) {
    const port = await freePort();
    const child = startNode(`worker-${w}`, serviceServer('cache-worker'), {
      ...process.env, NODE_ENV: 'production', LOG_LEVEL: 'error', OTEL_SDK_DISABLED: 'true',
      DATABASE_URL, REDIS_URL: `redis://127.0.0.1:${PORT}/0`, QUEUE_REDIS_URL: `redis://127.0.0.1:${PORT}/0`,
      CACHE_NAMESPACE: 'crm-benchw', CACHE_WORKER_PORT: String(port),
      WARMUP_ON_START: 'false', WORKER_CONCURRENCY: String(CONCURRENCY),
    });
    children.push(child);
    await waitForHealth(child, `http://127.0.0.1:${port}`);
  }
  const started = performance.now();
  await queue.resume();
  for (;;) {
    // Completed jobs are trimmed (JOB_OPTIONS keeps 10,000): done is when none is left to run.
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed');
    if (counts.failed) throw new Error(`${counts.failed} jobs failed`);
    if (Object.values(counts).every((c) => c === 0)) break;
    await sleep(50);
  }
  const seconds = (performance.now() - started) / 1_000;
  const rss = children.map((c) => peakRssMiB(c.pid) ?? null);
  await stopAll();
  await queue.close();
  redis.disconnect();
  const result = { workers, jobs: JOBS, seconds: Math.round(seconds * 10) / 10, jobsPerSecond: Math.round(JOBS / seconds), peakRssMiB: rss };
  log(`  drained in ${result.seconds} s: ${result.jobsPerSecond.toLocaleString('en')} jobs/s, peak RSS ${rss.join(', ')} MiB`);
  return result;
}

async function main(): Promise<void> {
  await ensureDatabase(DATABASE_URL);
  await migrate(DATABASE_URL);
  // No maxmemory policy: the queue's keys must never be evicted.
  const server = await BenchRedisServer.start(PORT);
  const rounds: Round[] = [];
  try {
    rounds.push(await round(1, 1));
    rounds.push(await round(2, 2));
  } finally {
    await server.stop();
  }
  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(join(OUT_DIR, 'worker.json'), `${JSON.stringify({ date: new Date().toISOString(), machine: { cpus: cpus().length, node: process.version }, concurrency: CONCURRENCY, rounds }, null, 2)}\n`);
  log(`scaling: 2 workers drain ${(rounds[1]!.jobsPerSecond / rounds[0]!.jobsPerSecond).toFixed(2)}x as fast as 1 (on ${cpus().length} CPUs, Redis included); written docs/benchmarks/worker.json`);
}

runBenchmark('bench:worker', main);
