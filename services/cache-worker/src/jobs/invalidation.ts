import { UnrecoverableError, type Job, type Queue } from 'bullmq';
import type { ResponseCache } from '@crm/cache';
import { warmupTargetsFor } from '@crm/cache-policy';
import { invalidationJob, JOB_OPTIONS, warmupJobId } from '@crm/jobs';
import type { Logger } from '@crm/telemetry';
import type { WorkerMetrics } from '../metrics';
import { refillTargets } from './refills';

export interface InvalidationDeps {
  cache: ResponseCache;
  /** Where the warm-up of what changed goes; null: warm-up is off. */
  warmupQueue: Queue | null;
  metrics: WorkerMetrics;
  logger: Logger;
}

/**
 * Runs one `cache-invalidation` job: applies the event's tags (a no-op if the write already did, so a job
 * delivered twice is harmless), removes an admin's key prefix, then enqueues the warm-up of what changed (if on):
 * the policy's fixed targets plus the invalidated entries clients read recently (refills.ts).
 * Redis unreachable: the job throws and BullMQ retries it with backoff.
 */
export function invalidationProcessor(deps: InvalidationDeps) {
  return async (job: Job) => {
    const parsed = invalidationJob.safeParse(job.data);
    // A malformed job will never succeed: fail it for good, visibly, instead of retrying.
    if (!parsed.success) throw new UnrecoverableError(`invalid cache-invalidation job: ${parsed.error.message}`);
    const event = parsed.data;
    // Redis unavailable: throws CacheUnavailableError, and BullMQ retries the job.
    const applied = await deps.cache.applyEventOrThrow(event);
    deps.metrics.invalidationLag.observe(Math.max(0, applied.appliedAt - Date.parse(event.occurredAt)) / 1_000);
    const prefix = typeof event.payload.prefix === 'string' ? event.payload.prefix : null;
    const deleted = prefix ? await deps.cache.deletePrefix(prefix) : 0;
    const { targets, refills, delayMs } = deps.warmupQueue
      ? await refillTargets(deps.cache, event.tags, warmupTargetsFor(event), deps.metrics)
      : { targets: [], refills: 0, delayMs: 0 };
    if (deps.warmupQueue && targets.length > 0) {
      await deps.warmupQueue.add('warmup', { reason: 'write', eventId: event.eventId, targets, trace: event.trace }, {
        ...JOB_OPTIONS,
        jobId: warmupJobId(event.eventId),
        ...(delayMs > 0 ? { delay: delayMs } : {}),
      });
    }
    return { appliedNow: applied.state === 'applied', tags: event.tags.length, deleted, warmup: targets.length, refills };
  };
}
