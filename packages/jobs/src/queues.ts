/** BullMQ queues and connections of the contract: the worker's shared connection, a queue opened with the cluster-safe prefix, tracing. */
import { Queue, type ConnectionOptions } from 'bullmq';
import { BullMQOtel } from 'bullmq-otel';
import { createRedis, type RedisClient, type RedisTarget } from '@crm/redis';
import type { Logger } from '@crm/telemetry';
import { QUEUE_PREFIX } from './contracts';

/**
 * BullMQ's connection for a process that runs workers: one client (the `queue-worker` profile: commands wait for
 * Redis, as BullMQ requires) that the queues share and the workers duplicate for their blocking reads. `close`
 * ends it after the queues and workers are closed.
 */
export function createQueueConnection(target: RedisTarget, logger: Logger, name: string): { connection: RedisClient; close: () => void } {
  const connection = createRedis(target, 'queue-worker', { logger, name });
  return { connection, close: () => connection.disconnect() };
}

/**
 * BullMQ's OpenTelemetry hook: a produce span when a job is added, a process span when it runs, and the
 * trace context carried in the job, so the worker's spans join the trace that added the job.
 */
export const jobTelemetry = () => new BullMQOtel({ tracerName: 'bullmq' });

/** A BullMQ queue of the contract, with the cluster-safe prefix and tracing: on a connection, or on options BullMQ connects with. */
export function openQueue(name: string, connection: RedisClient | ConnectionOptions): Queue {
  return new Queue(name, { connection, prefix: QUEUE_PREFIX, telemetry: jobTelemetry() });
}
