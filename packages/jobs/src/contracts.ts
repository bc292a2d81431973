import type { JobsOptions } from 'bullmq';
import { z } from 'zod';
import type { OutboxEvent } from '@crm/database';

/** The contract's queues. */
export const QUEUES = { invalidation: 'cache-invalidation', warmup: 'cache-warmup' } as const;

/**
 * BullMQ's key prefix. The braces are a Redis Cluster hash tag: every key of every queue lands in one slot,
 * so BullMQ's multi-key scripts work on a cluster.
 */
export const QUEUE_PREFIX = '{crm-jobs}';

/** A `cache-invalidation` job: the contract's `{event, entity, id, tags, occurredAt}` plus what the worker needs. */
export const invalidationJob = z.object({
  event: z.string().regex(/^[a-z]+\.(created|updated|deleted|invalidated)$/),
  entity: z.string(),
  id: z.number().int().nonnegative(),
  tags: z.array(z.string()),
  occurredAt: z.iso.datetime(),
  /** The outbox row id: names the event in job ids and applied markers. */
  eventId: z.string().regex(/^\d+$/),
  payload: z.record(z.string(), z.unknown()).default({}),
  trace: z.record(z.string(), z.string()).nullable().default(null),
});
export type InvalidationJob = z.infer<typeof invalidationJob>;

export const API_SERVICES = ['organisations-api', 'people-api'] as const;
export type ApiService = (typeof API_SERVICES)[number];

/** A GET to refill through the API itself, so the worker stores exactly the bytes and key a reader would. */
export const warmupTarget = z.object({ service: z.enum(API_SERVICES), path: z.string().startsWith('/') });
export type WarmupTarget = z.infer<typeof warmupTarget>;

/** A `cache-warmup` job. */
export const warmupJob = z.object({
  reason: z.enum(['write', 'startup']),
  eventId: z.string().optional(),
  targets: z.array(warmupTarget).min(1),
  trace: z.record(z.string(), z.string()).nullable().default(null),
});
export type WarmupJob = z.infer<typeof warmupJob>;

/** Job ids derived from the outbox row: the same row published twice is one job. */
export const invalidationJobId = (eventId: string) => `event-${eventId}`;
export const warmupJobId = (eventId: string) => `warmup-${eventId}`;

/**
 * Retries with exponential backoff (0.5 s, 1 s, 2 s ... about 8.5 minutes over 10 attempts); completed jobs
 * are trimmed. Failed ones are left to the consumer's bound (the cache worker's `removeOnFail`, set by
 * FAILED_JOBS_MAX_AGE_HOURS and FAILED_JOBS_MAX_COUNT): a job option would override it.
 */
export const JOB_OPTIONS: JobsOptions = {
  attempts: 10,
  backoff: { type: 'exponential', delay: 500 },
  removeOnComplete: { age: 3_600, count: 10_000 },
};

/** The job a relay publishes for an outbox row. */
export function invalidationJobOf(event: OutboxEvent): { name: string; data: InvalidationJob; opts: JobsOptions } {
  return {
    name: event.event,
    data: {
      event: event.event, entity: event.entity, id: event.id, tags: event.tags, occurredAt: event.occurredAt,
      eventId: event.eventId, payload: event.payload, trace: event.trace,
    },
    opts: { ...JOB_OPTIONS, jobId: invalidationJobId(event.eventId) },
  };
}

/** What to refill after a write: the written entity's detail (unless deleted) and the first page of its default list. */
export function warmupTargetsFor(job: Pick<InvalidationJob, 'event' | 'entity' | 'id' | 'payload'>): WarmupTarget[] {
  const deleted = job.event.endsWith('.deleted');
  const org = (path: string): WarmupTarget => ({ service: 'organisations-api', path });
  const people = (path: string): WarmupTarget => ({ service: 'people-api', path });
  switch (job.entity) {
    case 'organisation':
      return [...(deleted ? [] : [org(`/organisations/${job.id}`)]), org('/organisations')];
    case 'produit':
      return [...(deleted ? [] : [org(`/produits/${job.id}`)]), org('/produits')];
    case 'mandat': {
      const organisationId = Number(job.payload.organisationId);
      return Number.isInteger(organisationId) && organisationId > 0
        ? [org(`/organisations/${organisationId}`), org(`/organisations/${organisationId}/mandats`)]
        : [];
    }
    case 'person':
      return [...(deleted ? [] : [people(`/people/${job.id}`)]), people('/people')];
    case 'interaction':
      return [people('/interactions')];
    default:
      return [];
  }
}
