import { Gauge, Histogram } from 'prom-client';
import type { Queue } from 'bullmq';
import type { ServiceMetrics } from '@crm/telemetry';

const STATES = ['waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized', 'waiting-children'] as const;

/** The worker's own metrics, on the service registry. */
export interface WorkerMetrics {
  /** Commit of a write to its invalidation applied (by the write itself, or by this worker when the write could not). */
  invalidationLag: Histogram;
}

export function workerMetrics(metrics: ServiceMetrics, queues: () => Queue[]): WorkerMetrics {
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
  return { invalidationLag };
}
