import type { RedisNode, RedisTarget } from '@crm/redis';

// Where the tests' Redis is. One switch, TEST_REDIS_CLUSTER_NODES (set by the cluster runs' global setup,
// scripts/jest-redis-cluster.cjs), moves every harness's cache and queues onto a Redis Cluster.

/** The local Redis server the test suites use, unless TEST_REDIS_CLUSTER_NODES names a cluster. */
const TEST_REDIS_URL = 'redis://127.0.0.1:6379/0';

/**
 * The test queue Redis: a database of its own on the local server, emptied by each stack. Runs at the same time
 * (each with its own TEST_DATABASE_URL) need their own TEST_QUEUE_URL: job ids restart with the outbox ids.
 */
export const TEST_QUEUE_URL = process.env.TEST_QUEUE_URL ?? 'redis://127.0.0.1:6379/9';

/**
 * The Redis Cluster whose seed nodes TEST_REDIS_CLUSTER_NODES lists (`host:port,host:port,...`), or null for the
 * local server. Harnesses ask this, never the variable.
 */
export function testRedisCluster(): RedisNode[] | null {
  const value = process.env.TEST_REDIS_CLUSTER_NODES?.trim();
  if (!value) return null;
  return value.split(',').map((item) => {
    const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(item.trim());
    if (!match) throw new Error(`TEST_REDIS_CLUSTER_NODES: ${JSON.stringify(item)} is not host:port`);
    return { host: match[1]!, port: Number(match[2]) };
  });
}

/** The tests' cache Redis: the cluster of TEST_REDIS_CLUSTER_NODES, or the local server. */
export function testCacheRedis(): RedisTarget {
  const nodes = testRedisCluster();
  return nodes ? { clusterNodes: nodes } : TEST_REDIS_URL;
}

/**
 * What a harness adds to the environment it parses or gives a spawned service: on the cluster run
 * REDIS_CLUSTER_NODES (the queues follow it unless QUEUE_REDIS_URL is set), otherwise nothing (the defaults
 * are the local server).
 */
export function testRedisEnv(): Record<string, string> {
  const nodes = testRedisCluster();
  return nodes ? { REDIS_CLUSTER_NODES: clusterNodesEnv(nodes) } : {};
}

/** Seed nodes as REDIS_CLUSTER_NODES wants them: `host:port,...`, an IPv6 host in brackets. */
export function clusterNodesEnv(nodes: RedisNode[]): string {
  return nodes.map((n) => `${n.host.includes(':') ? `[${n.host}]` : n.host}:${n.port}`).join(',');
}

/** A Redis of the same kind as testCacheRedis() where nothing listens (port 1), for the "Redis is down" tests. */
export function unreachableTestRedis(): RedisTarget {
  return testRedisCluster() ? { clusterNodes: [{ host: '127.0.0.1', port: 1 }] } : 'redis://127.0.0.1:1/0';
}
