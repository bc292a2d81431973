import { randomUUID } from 'node:crypto';
import { createRedis, type RedisClient } from '@crm/redis';
import { createLogger, type Logger } from '@crm/telemetry';
import { testCacheRedis } from '@crm/testing';
import { ResponseCache, type ResponseCacheOptions } from '../src/response-cache';

export const logger: Logger = createLogger('cache-test', 'silent');

/** The tests' Redis (the local server, or the cluster run's cluster) and caches each in a namespace of their own. */
export interface TestCaches {
  readonly redis: RedisClient;
  /** A cache in a new namespace, emptied and closed after the file's tests. */
  newCache(options?: Omit<ResponseCacheOptions, 'redis' | 'logger'>): ResponseCache;
}

/** Registers the hooks that connect to the tests' Redis and, after the file's tests, empty its caches and disconnect. */
export function useTestCaches(commandTimeout?: number): TestCaches {
  let redis: RedisClient | undefined;
  const caches: ResponseCache[] = [];
  beforeAll(async () => {
    redis = createRedis(testCacheRedis(), 'cache', { logger, name: 'crm-cache', ...(commandTimeout ? { commandTimeout } : {}) });
    await new Promise((resolve) => redis!.once('ready', resolve));
  });
  afterAll(async () => {
    for (const cache of caches) {
      await cache.deletePrefix('');
      await cache.close();
      await redis!.unlink(cache.keys.stats);
    }
    redis!.disconnect();
  });
  return {
    get redis() { return redis!; },
    newCache(options = {}) {
      const cache = new ResponseCache({ redis: redis!, logger, namespace: `crm-test-${randomUUID().slice(0, 8)}`, ...options });
      caches.push(cache);
      return cache;
    },
  };
}
