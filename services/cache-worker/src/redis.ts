import { pingRedis, type RedisClient } from '@crm/redis';

/** The health probe for a Redis connection (every master of a cluster). */
export function redisProbe(client: RedisClient): () => Promise<void> {
  return () => pingRedis(client);
}
