/**
 * The job contract both sides share (the APIs' and the worker's relays publish, the worker consumes): queue names,
 * BullMQ's key prefix, each job's zod payload, deterministic job ids and retry options.
 */
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
/** A parsed `cache-invalidation` job. */
export type InvalidationJob = z.infer<typeof invalidationJob>;

/** The APIs the worker warms up through. */
export const API_SERVICES = ['organisations-api', 'people-api'] as const;
/** One of the APIs the worker warms up through. */
export type ApiService = (typeof API_SERVICES)[number];

/**
 * A GET to refill through the API itself, so the worker stores exactly the bytes and key a reader would. `refill`:
 * a client read it recently (a read-driven refill): the GET carries REFILL_HEADER and its entry is marked.
 */
export const warmupTarget = z.object({ service: z.enum(API_SERVICES), path: z.string().startsWith('/'), refill: z.boolean().optional() });
/** One GET of a warm-up job. */
export type WarmupTarget = z.infer<typeof warmupTarget>;

/** The header of a read-driven refill's GET; the APIs honour it only from the worker's credential (WARMUP_TOKEN). */
export const REFILL_HEADER = 'x-cache-refill';

/** A reader, as the APIs record it and the worker refills it: `<service> <path below /api/v1, with its query>`. */
export const readerOf = (target: Pick<WarmupTarget, 'service' | 'path'>) => `${target.service} ${target.path}`;

/** The refill target of a recorded reader; null for anything not made by readerOf. */
export function refillTargetOf(reader: string): WarmupTarget | null {
  const split = reader.indexOf(' ');
  const parsed = warmupTarget.safeParse({ service: reader.slice(0, split), path: reader.slice(split + 1), refill: true });
  return split > 0 && parsed.success ? parsed.data : null;
}

/** A `cache-warmup` job. */
export const warmupJob = z.object({
  reason: z.enum(['write', 'startup']),
  eventId: z.string().optional(),
  targets: z.array(warmupTarget).min(1),
  trace: z.record(z.string(), z.string()).nullable().default(null),
});
/** A parsed `cache-warmup` job. */
export type WarmupJob = z.infer<typeof warmupJob>;

// Job ids derived from the outbox row: the same row published twice is one job.
/** The id of an outbox row's invalidation job. */
export const invalidationJobId = (eventId: string) => `event-${eventId}`;
/** The id of the warm-up job that follows an outbox row's invalidation. */
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
