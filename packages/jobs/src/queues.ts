import { Queue, type ConnectionOptions } from 'bullmq';
import { BullMQOtel } from 'bullmq-otel';
import { Redis } from 'ioredis';
import type { Logger } from '@crm/telemetry';
import { QUEUE_PREFIX } from './contracts';

/**
 * A producer's connection to the queue Redis: a call fails at once while Redis is away instead of waiting
 * in an offline queue (the outbox keeps the event; the relay retries), and a down server is logged, rate-limited.
 */
export function createProducerRedis(url: string, logger: Logger, name: string): Redis {
  const client = new Redis(url, {
    connectionName: name,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 1_000,
    commandTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(200 * attempt, 2_000),
  });
  let lastLogged = 0;
  client.on('error', (error: Error) => {
    if (Date.now() - lastLogged > 10_000) {
      lastLogged = Date.now();
      logger.warn({ err: error.message, redis: name }, 'queue redis error');
    }
  });
  return client;
}

/**
 * BullMQ's OpenTelemetry hook: a produce span when a job is added, a process span when it runs, and the
 * trace context carried in the job, so the worker's spans join the trace that added the job.
 */
export const jobTelemetry = () => new BullMQOtel({ tracerName: 'bullmq' });

/** A BullMQ queue of the contract, with the cluster-safe prefix and tracing: on a connection, or on options BullMQ connects with. */
export function openQueue(name: string, connection: Redis | ConnectionOptions): Queue {
  return new Queue(name, { connection, prefix: QUEUE_PREFIX, telemetry: jobTelemetry() });
}
