import { checkCacheEvictionPolicy, checkQueueEvictionPolicy, dataNodes, type RedisClient } from '@crm/redis';
import type { Logger } from '@crm/telemetry';

/** Resolves once the client is connected (it reconnects on its own: this waits, however long that takes). */
function ready(client: RedisClient): Promise<void> {
  return client.status === 'ready' ? Promise.resolve() : new Promise((resolve) => client.once('ready', () => resolve()));
}

/** True when any data node has a memory limit: only then does the eviction policy decide anything. */
async function memoryLimited(client: RedisClient): Promise<boolean> {
  const limits = await Promise.all(dataNodes(client).map(async (node) => {
    try {
      return Number(((await node.config('GET', 'maxmemory')) as string[])[1] ?? 0);
    } catch {
      return 1; // CONFIG disabled (managed Redis): assume a limit, and let the policy check decide
    }
  }));
  return limits.some((limit) => limit > 0);
}

/**
 * The start-up check of both Redis servers' eviction policies, run by the worker only (once per deployment
 * rather than once per process). A dev Redis with no memory limit neither evicts nor refuses writes, so the
 * policy does not matter there: outside production it is checked only when a limit is set.
 */
export async function checkEvictionPolicies(cache: RedisClient, queue: RedisClient, logger: Logger, production: boolean): Promise<void> {
  await Promise.all([ready(cache), ready(queue)]);
  if (production || await memoryLimited(cache)) await checkCacheEvictionPolicy(cache, logger);
  if (production || await memoryLimited(queue)) await checkQueueEvictionPolicy(queue, logger);
}
