import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Logger } from '@crm/telemetry';

/** A connection to a single Redis server or to a Redis Cluster: what the cache, the queues and the rate limiter take. */
export type RedisClient = Redis | Cluster;

export interface RedisNode {
  host: string;
  port: number;
}

/** Where a Redis is: a URL, or the seed nodes of a cluster (the shape of `env.cacheRedis` / `env.queueRedis`). */
export type RedisTarget = string | { clusterNodes: RedisNode[]; password?: string };

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

/** Per-connection options the callers may change. */
export type CacheRedisOptions = Pick<RedisOptions, 'connectionName' | 'commandTimeout' | 'connectTimeout'>;

/**
 * Options shared by every cluster client of the platform. Reads go to masters only: a replica lags, and a
 * tag token read there could predate an invalidation the master already acknowledged.
 */
export function clusterOptions(options: ClusterOptions): ClusterOptions {
  return {
    scaleReads: 'master',
    // Find a promoted replica within a second even when no command gets a MOVED.
    slotsRefreshInterval: 1_000,
    slotsRefreshTimeout: 1_000,
    ...options,
  };
}

/** Logs a failing connection at most every 10 s (a down server errors on every reconnect attempt). */
export function logRedisErrors(client: RedisClient, logger: Logger, message: string, fields: Record<string, unknown> = {}): void {
  let lastLogged = 0;
  const log = (error: Error, node?: string) => {
    if (Date.now() - lastLogged > 10_000) {
      lastLogged = Date.now();
      logger.warn({ err: error.message, ...fields, ...(node ? { node } : {}) }, message);
    }
  };
  client.on('error', (error: Error) => log(error));
  if (isCluster(client)) client.on('node error', (error: Error, node: string) => log(error, node));
}

/**
 * The cache's Redis connection: commands fail fast instead of waiting (no offline queue, short
 * command timeout, no retries per request), reconnects in the background, and always has an
 * `error` listener so a down server is logged (rate-limited), never an unhandled event.
 * With cluster seed nodes, a Cluster with the same behaviour: a command for a slot whose master is
 * down or failing over fails at once (no retry delays) and the cache's breaker and outbox replay take over.
 */
export function createCacheRedis(target: RedisTarget, logger: Logger, options: CacheRedisOptions = {}): RedisClient {
  const perConnection = { connectionName: 'crm-cache', maxRetriesPerRequest: 0, commandTimeout: 250, connectTimeout: 1_000, ...options };
  const client = typeof target === 'string'
    ? new Redis(target, {
        ...perConnection,
        enableOfflineQueue: false,
        enableAutoPipelining: true,
        retryStrategy: (attempt) => Math.min(100 * attempt, 1_000),
      })
    : new Cluster(target.clusterNodes, clusterOptions({
        enableOfflineQueue: false,
        enableAutoPipelining: true,
        clusterRetryStrategy: (attempt) => Math.min(100 * attempt, 1_000),
        // ioredis would resend these after a delay, up to 16 times: longer than a request may wait.
        retryDelayOnFailover: 0,
        retryDelayOnClusterDown: 0,
        redisOptions: { ...perConnection, ...(target.password ? { password: target.password } : {}) },
      }));
  logRedisErrors(client, logger, 'cache redis error');
  return client;
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
