import { Redis } from 'ioredis';
import type { Logger } from '@crm/telemetry';

/**
 * A Redis connection that fails fast instead of queueing commands while disconnected,
 * with an `error` listener so a down server is logged, never an unhandled event.
 */
export function connectRedis(url: string, name: string, logger: Logger): Redis {
  const client = new Redis(url, {
    connectionName: name,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 1_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  let lastLogged = 0;
  client.on('error', (error: Error) => {
    // A down server errors on every reconnect attempt: log at most every 10 s.
    if (Date.now() - lastLogged > 10_000) {
      lastLogged = Date.now();
      logger.warn({ err: error.message, redis: name }, 'redis connection error');
    }
  });
  client.connect().catch(() => undefined); // retried by retryStrategy; errors reach the listener
  return client;
}

/** The health probe for a Redis connection. */
export function redisProbe(client: Redis): () => Promise<void> {
  return async () => {
    await client.ping();
  };
}
