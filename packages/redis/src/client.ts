import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { RedisTarget } from '@crm/config';
import { throttledWarn, type Logger } from '@crm/telemetry';

/** A connection to a single Redis server or to a Redis Cluster: what the cache, the queues and the rate limiter take. */
export type RedisClient = Redis | Cluster;

/**
 * How a connection behaves when Redis is slow or away, by what it is for:
 * - `cache`: fail fast. No offline queue, 250 ms command timeout, no retry per request, auto-pipelining; on a
 *   cluster no retry across a failover either. A request that cannot use the cache reads the database.
 * - `queue-producer`: fail soon (2 s, one retry). The outbox keeps the event; the relay publishes it later.
 * - `queue-worker`: wait for Redis (`maxRetriesPerRequest: null`, as BullMQ requires): a job in hand must
 *   finish or be retried, not fail on a failover.
 * - `probe`: a health or eviction-policy check: fail soon, connect lazily.
 */
export type RedisProfile = 'cache' | 'queue-producer' | 'queue-worker' | 'probe';

interface Profile {
  perConnection: RedisOptions;
  shared: RedisOptions & ClusterOptions;
  /** Delay before the next reconnect attempt. */
  backoff: (attempt: number) => number;
  /** Cluster-only options. */
  cluster?: ClusterOptions;
}

const PROFILES: Record<RedisProfile, Profile> = {
  cache: {
    perConnection: { maxRetriesPerRequest: 0, commandTimeout: 250, connectTimeout: 1_000 },
    shared: { enableOfflineQueue: false, enableAutoPipelining: true },
    backoff: (attempt) => Math.min(100 * attempt, 1_000),
    // ioredis would resend these after a delay, up to 16 times: longer than a request may wait.
    cluster: { retryDelayOnFailover: 0, retryDelayOnClusterDown: 0 },
  },
  'queue-producer': {
    perConnection: { maxRetriesPerRequest: 1, commandTimeout: 2_000, connectTimeout: 1_000 },
    shared: { enableOfflineQueue: false },
    backoff: (attempt) => Math.min(200 * attempt, 2_000),
  },
  'queue-worker': {
    perConnection: { maxRetriesPerRequest: null },
    shared: {},
    backoff: (attempt) => Math.min(200 * attempt, 2_000),
  },
  probe: {
    perConnection: { maxRetriesPerRequest: 1, commandTimeout: 1_000, connectTimeout: 2_000 },
    shared: { enableOfflineQueue: false, lazyConnect: true },
    backoff: (attempt) => Math.min(200 * attempt, 2_000),
  },
} satisfies Record<RedisProfile, Profile>;

/** What a caller may set on top of its profile. */
export interface RedisClientOptions {
  logger: Logger;
  /** CLIENT SETNAME, and the `redis` field of the error log line. */
  name: string;
  commandTimeout?: number;
  connectTimeout?: number;
}

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

/**
 * The platform's one Redis client factory: a server URL or cluster seed nodes, the profile's retry and timeout
 * policy, and always an `error` listener that logs a failing connection at most every 10 s (a down server errors
 * on every reconnect attempt), never an unhandled event. A lazy profile starts connecting at once in the
 * background (its errors reach the listener; the retry strategy keeps trying).
 */
export function createRedis(target: RedisTarget, profile: RedisProfile, options: RedisClientOptions): RedisClient {
  const { perConnection, shared, backoff, cluster } = PROFILES[profile];
  const connection: RedisOptions = {
    ...perConnection,
    connectionName: options.name,
    ...(options.commandTimeout !== undefined ? { commandTimeout: options.commandTimeout } : {}),
    ...(options.connectTimeout !== undefined ? { connectTimeout: options.connectTimeout } : {}),
  };
  const client: RedisClient = typeof target === 'string'
    ? new Redis(target, { ...connection, ...shared, retryStrategy: backoff })
    : new Cluster(target.clusterNodes, clusterOptions({
        ...shared,
        ...cluster,
        clusterRetryStrategy: backoff,
        redisOptions: { ...connection, ...(target.password ? { password: target.password } : {}) },
      }));
  const warn = throttledWarn(options.logger);
  client.on('error', (error: Error) => warn({ err: error.message, redis: options.name }, 'redis connection error'));
  if (client.isCluster) client.on('node error', (error: Error, node: string) => warn({ err: error.message, redis: options.name, node }, 'redis connection error'));
  if (shared.lazyConnect) client.connect().catch(() => undefined);
  return client;
}
