import { Queue, type ConnectionOptions } from 'bullmq';
import { BullMQOtel } from 'bullmq-otel';
import { Cluster, Redis } from 'ioredis';
import { clusterOptions, logRedisErrors, type RedisClient, type RedisTarget } from '@crm/cache';
import type { Logger } from '@crm/telemetry';
import { QUEUE_PREFIX } from './contracts';

/**
 * A producer's connection to the queue Redis: a call fails at once while Redis is away instead of waiting
 * in an offline queue (the outbox keeps the event; the relay retries), and a down server is logged, rate-limited.
 * On a cluster, ioredis still retries a command briefly across a failover (the relay bounds a publish at 3 s).
 */
export function createProducerRedis(target: RedisTarget, logger: Logger, name: string): RedisClient {
  const perConnection = { connectionName: name, maxRetriesPerRequest: 1, connectTimeout: 1_000, commandTimeout: 2_000 };
  const client = typeof target === 'string'
    ? new Redis(target, { ...perConnection, enableOfflineQueue: false, retryStrategy: (attempt) => Math.min(200 * attempt, 2_000) })
    : new Cluster(target.clusterNodes, clusterOptions({
        enableOfflineQueue: false,
        clusterRetryStrategy: (attempt) => Math.min(200 * attempt, 2_000),
        redisOptions: { ...perConnection, ...(target.password ? { password: target.password } : {}) },
      }));
  logRedisErrors(client, logger, 'queue redis error', { redis: name });
  return client;
}

/**
 * BullMQ's connection for a process that runs workers. A single server: options, and BullMQ opens its own
 * connections. A cluster: one Cluster the queues share (workers duplicate it for their blocking reads), which
 * `close` ends after the queues and workers are closed. Commands wait for Redis (`maxRetriesPerRequest: null`,
 * as BullMQ requires for workers): a job in hand must finish or be retried, not fail on a failover.
 */
export function createQueueConnection(target: RedisTarget, logger: Logger, name: string): { connection: ConnectionOptions; close: () => void } {
  if (typeof target === 'string') return { connection: { url: target, maxRetriesPerRequest: null }, close: () => undefined };
  const cluster = new Cluster(target.clusterNodes, clusterOptions({
    clusterRetryStrategy: (attempt) => Math.min(200 * attempt, 2_000),
    redisOptions: { connectionName: name, maxRetriesPerRequest: null, ...(target.password ? { password: target.password } : {}) },
  }));
  logRedisErrors(cluster, logger, 'queue redis error', { redis: name });
  return { connection: cluster, close: () => cluster.disconnect() };
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
