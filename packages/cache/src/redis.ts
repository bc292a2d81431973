import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '@crm/telemetry';

/**
 * The cache's Redis connection: commands fail fast instead of waiting (no offline queue, short
 * command timeout, no retries per request), reconnects in the background, and always has an
 * `error` listener so a down server is logged (rate-limited), never an unhandled event.
 */
export function createCacheRedis(url: string, logger: Logger, options: RedisOptions = {}): Redis {
  const client = new Redis(url, {
    connectionName: 'crm-cache',
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 250,
    connectTimeout: 1_000,
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(100 * attempt, 1_000),
    ...options,
  });
  let lastLogged = 0;
  client.on('error', (error: Error) => {
    if (Date.now() - lastLogged > 10_000) {
      lastLogged = Date.now();
      logger.warn({ err: error.message }, 'cache redis error');
    }
  });
  return client;
}

async function evictionPolicy(client: Redis): Promise<string | undefined> {
  try {
    const reply = (await client.config('GET', 'maxmemory-policy')) as string[];
    return reply[1];
  } catch {
    return undefined; // CONFIG may be disabled on managed Redis: nothing to check
  }
}

/** Warns when the cache Redis would refuse writes under memory pressure instead of evicting. */
export async function checkCacheEvictionPolicy(client: Redis, logger: Logger): Promise<string | undefined> {
  const policy = await evictionPolicy(client);
  if (policy === 'noeviction') {
    logger.warn({ policy }, 'the cache Redis evicts nothing under memory pressure: set maxmemory-policy allkeys-lru (or volatile-lru)');
  }
  return policy;
}

/** Warns when the queue Redis could evict keys: BullMQ jobs would be lost. */
export async function checkQueueEvictionPolicy(client: Redis, logger: Logger): Promise<string | undefined> {
  const policy = await evictionPolicy(client);
  if (policy !== undefined && policy !== 'noeviction') {
    logger.warn({ policy }, 'the queue Redis may evict keys, and with them jobs: set maxmemory-policy noeviction');
  }
  return policy;
}
