import { Counter, Gauge, Histogram } from 'prom-client';
import type { Queue } from 'bullmq';
import { CachePrefix } from '@crm/cache-policy';
import type { ServiceMetrics } from '@crm/telemetry';

const STATES = ['waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized', 'waiting-children'] as const;

/** Why a warm-up GET failed: the API refused the token (401), refused the role (403), limited us (429), failed (5xx), or did not answer. */
export const WARMUP_FAILURES = ['unauthorized', 'forbidden', 'rate_limited', 'server_error', 'unreachable'] as const;
export type WarmupFailure = (typeof WARMUP_FAILURES)[number];

/** The worker's own metrics, on the service registry. */
export interface WorkerMetrics {
  /** Commit of a write to its invalidation applied (by the write itself, or by this worker when the write could not). */
  invalidationLag: Histogram;
  /** Warm-up GETs that failed, by reason. */
  warmupFailures: Counter<'reason'>;
  /** Jobs that failed for good (moved to the failed set), by queue: a rate over time, unlike the failed-set gauge, which retention trims. */
  jobsFailed: Counter<'queue'>;
  /** Read-driven refill targets enqueued (invalidated entries clients read recently). */
  refillTargets: Counter;
  /** Refills found invalidated before any client read them. */
  refillsWasted: Counter;
  /** Entries the consistency auditor found to differ from PostgreSQL while still valid, by prefix (the contract's metric). */
  inconsistent: Counter<'prefix'>;
  /** Entries the consistency auditor compared with a fresh read, by prefix. */
  auditChecks: Counter<'prefix'>;
}

/** Registers the worker's metrics: invalidation lag, job counts per state, warm-up and job failures, the auditor's counts. */
export function workerMetrics(metrics: ServiceMetrics, queues: () => Queue[], warmupEnabled = true): WorkerMetrics {
  const invalidationLag = new Histogram({
    name: 'cache_invalidation_lag_seconds',
    help: 'Time from a write commit to its cache invalidation being applied',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [metrics.registry],
  });
  new Gauge({
    name: 'bullmq_jobs',
    help: 'Jobs per queue and state (read from Redis at scrape time)',
    labelNames: ['queue', 'state'],
    registers: [metrics.registry],
    async collect() {
      this.reset();
      await Promise.all(queues().map(async (queue) => {
        try {
          const counts = await queue.getJobCounts(...STATES);
          for (const state of STATES) this.set({ queue: queue.name, state }, counts[state] ?? 0);
        } catch {
          // Queue Redis down: no sample rather than a failed scrape (health says why).
        }
      }));
    },
  });
  const warmupFailures = new Counter({
    name: 'cache_warmup_failures_total',
    help: 'Warm-up GETs that failed, by reason (unauthorized and forbidden: WARMUP_TOKEN is wrong)',
    labelNames: ['reason'],
    registers: [metrics.registry],
  });
  for (const reason of WARMUP_FAILURES) warmupFailures.inc({ reason }, 0); // every series exists from the start
  const jobsFailed = new Counter({
    name: 'cache_jobs_failed_total',
    help: 'Jobs that failed for good (moved to the failed set), by queue',
    labelNames: ['queue'],
    registers: [metrics.registry],
  });
  for (const queue of queues()) jobsFailed.inc({ queue: queue.name }, 0);
  new Gauge({
    name: 'cache_warmup_enabled',
    help: '1 when this worker warms caches up (WARMUP_TOKEN set), 0 when warm-up is off',
    registers: [metrics.registry],
  }).set(warmupEnabled ? 1 : 0);
  const refillTargets = new Counter({
    name: 'cache_refill_targets_total',
    help: 'Read-driven refill targets enqueued after writes: invalidated entries clients had read recently',
    registers: [metrics.registry],
  });
  const refillsWasted = new Counter({
    name: 'cache_refills_wasted_total',
    help: 'Read-driven refills invalidated by a later write before any client read them',
    registers: [metrics.registry],
  });
  const inconsistent = new Counter({
    name: 'cache_inconsistent_total',
    help: 'Cached entries the consistency auditor found to differ from PostgreSQL while their tags were current (then deleted)',
    labelNames: ['prefix'],
    registers: [metrics.registry],
  });
  const auditChecks = new Counter({
    name: 'cache_audit_checks_total',
    help: 'Cached entries the consistency auditor compared with a fresh read of their route',
    labelNames: ['prefix'],
    registers: [metrics.registry],
  });
  // Every series exists from the start, so an alert on its increase sees the first one.
  for (const prefix of Object.values(CachePrefix)) {
    inconsistent.inc({ prefix }, 0);
    auditChecks.inc({ prefix }, 0);
  }
  return { invalidationLag, warmupFailures, jobsFailed, refillTargets, refillsWasted, inconsistent, auditChecks };
}
