import { Cluster, Redis } from 'ioredis';
import { clusterOptions, logRedisErrors, pingRedis, type RedisClient, type RedisTarget } from '@crm/cache';
import type { Logger } from '@crm/telemetry';

/**
 * A Redis connection (a single server or a cluster) that fails fast instead of queueing commands while
 * disconnected, with an `error` listener so a down server is logged, never an unhandled event.
 */
export function connectRedis(target: RedisTarget, name: string, logger: Logger): RedisClient {
  const perConnection = { connectionName: name, maxRetriesPerRequest: 1, connectTimeout: 2_000, commandTimeout: 1_000 };
  const client = typeof target === 'string'
    ? new Redis(target, { ...perConnection, lazyConnect: true, enableOfflineQueue: false, retryStrategy: (attempt) => Math.min(attempt * 200, 2_000) })
    : new Cluster(target.clusterNodes, clusterOptions({
        lazyConnect: true,
        enableOfflineQueue: false,
        clusterRetryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
        redisOptions: { ...perConnection, ...(target.password ? { password: target.password } : {}) },
      }));
  logRedisErrors(client, logger, 'redis connection error', { redis: name });
  client.connect().catch(() => undefined); // retried by the retry strategy; errors reach the listener
  return client;
}

/** The health probe for a Redis connection (every master of a cluster). */
export function redisProbe(client: RedisClient): () => Promise<void> {
  return () => pingRedis(client);
}
