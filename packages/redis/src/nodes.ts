import type { Cluster, Redis } from 'ioredis';
import type { Logger } from '@crm/telemetry';
import type { RedisClient } from './client';

export function isCluster(client: RedisClient): client is Cluster {
  return client.isCluster;
}

/** The servers holding data: every master of a cluster, or the one server. */
export function dataNodes(client: RedisClient): Redis[] {
  return isCluster(client) ? client.nodes('master') : [client];
}

/** A health probe: PING the server, or every master of a cluster (each serves a share of the keys). */
export async function pingRedis(client: RedisClient): Promise<void> {
  const nodes = dataNodes(client);
  if (nodes.length === 0) throw new Error('no cluster master known');
  await Promise.all(nodes.map((node) => node.ping()));
}

/** maxmemory-policy of each data node (CONFIG may be disabled on managed Redis: those are skipped). */
async function evictionPolicies(client: RedisClient): Promise<string[]> {
  const replies = await Promise.all(dataNodes(client).map(async (node) => {
    try {
      return ((await node.config('GET', 'maxmemory-policy')) as string[])[1];
    } catch {
      return undefined;
    }
  }));
  return replies.filter((p): p is string => p !== undefined);
}

/** Warns when the cache Redis (any master of a cluster) would refuse writes under memory pressure instead of evicting. */
export async function checkCacheEvictionPolicy(client: RedisClient, logger: Logger): Promise<string | undefined> {
  const policies = await evictionPolicies(client);
  const bad = policies.find((p) => p === 'noeviction');
  if (bad) {
    logger.warn({ policy: bad }, 'the cache Redis evicts nothing under memory pressure: set maxmemory-policy allkeys-lru (or volatile-lru)');
  }
  return bad ?? policies[0];
}

/** Warns when the queue Redis (any master of a cluster) could evict keys: BullMQ jobs would be lost. */
export async function checkQueueEvictionPolicy(client: RedisClient, logger: Logger): Promise<string | undefined> {
  const policies = await evictionPolicies(client);
  const bad = policies.find((p) => p !== 'noeviction');
  if (bad) {
    logger.warn({ policy: bad }, 'the queue Redis may evict keys, and with them jobs: set maxmemory-policy noeviction');
  }
  return bad ?? policies[0];
}
