import { Cluster, Redis } from 'ioredis';
import { dataNodes, type RedisClient, type RedisTarget } from '@crm/redis';

/**
 * The keys matching `pattern` on every data node (every master of a cluster). KEYS through a cluster client asks
 * one node only; tests that look for keys directly use this instead.
 */
export async function keysOnEveryNode(client: RedisClient, pattern: string): Promise<string[]> {
  return (await Promise.all(dataNodes(client).map((node) => node.keys(pattern)))).flat();
}

/**
 * Removes every key a cache namespace of a test's own holds (entries, tag tokens, rate limits) from every data
 * node, with a client of its own (one key per UNLINK: on a cluster they span slots). A Redis already gone (the
 * test's own, stopped) has nothing to clean.
 */
export async function deleteNamespaceKeys(target: RedisTarget, namespace: string): Promise<void> {
  const client = typeof target === 'string'
    ? new Redis(target, { lazyConnect: true, maxRetriesPerRequest: 1 })
    : new Cluster(target.clusterNodes, { lazyConnect: true, redisOptions: { maxRetriesPerRequest: 1, ...(target.password ? { password: target.password } : {}) } });
  client.on('error', () => undefined);
  try {
    await client.connect();
    for (const node of dataNodes(client)) {
      for (const pattern of [`${namespace}:*`, `{${namespace}:tags}:*`, `${namespace}-ratelimit:*`]) {
        const keys = await node.keys(pattern);
        await Promise.all(keys.map((k) => node.unlink(k)));
      }
    }
  } catch {
    // The test's own Redis may be gone already: nothing to clean there.
  } finally {
    client.disconnect();
  }
}
