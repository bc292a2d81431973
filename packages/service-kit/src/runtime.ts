/** An API process's runtime around its routes: the response cache, the outbox relay and the write path, opened and closed together. */
import { ResponseCache } from '@crm/cache';
import { eventsSince, type MikroORM } from '@crm/database';
import { currentTraceContext, type Logger, type ServiceMetrics } from '@crm/telemetry';
import { OutboxRelay } from '@crm/jobs';
import { checkCacheEvictionPolicy, createRedis, type RedisClient, type RedisTarget } from '@crm/redis';
import { ChangeWriter } from './writer';

/** What `createApiRuntime` connects to, and how. */
export interface ApiRuntimeOptions {
  orm: MikroORM;
  logger: Logger;
  /** The cache Redis (a URL or a cluster); null when CACHE_ENABLED=false. */
  cacheRedisUrl: RedisTarget | null;
  /** The queue Redis (a URL or a cluster); null to run without publishing (the outbox keeps the events for another relay). */
  queueRedisUrl: RedisTarget | null;
  /** Key namespace of the cache (tests use their own). */
  namespace?: string;
  statsFlushMs?: number;
  relayPollMs?: number;
  /** Where the cache counts its operations' durations. */
  metrics?: ServiceMetrics;
  /** Warn when the cache Redis would not evict (production servers; tests skip it). */
  checkEvictionPolicy?: boolean;
}

/** What an API process runs around its routes: the response cache, the outbox relay and the write path. */
export interface ApiRuntime {
  cache: ResponseCache | null;
  cacheRedis: RedisClient | null;
  relay: OutboxRelay | null;
  writer: ChangeWriter;
  /** Health probe of the queue Redis (null when there is none). */
  queueProbe: (() => Promise<void>) | null;
  close: () => Promise<void>;
}

/** Opens an API's runtime: the cache client and response cache (unless disabled), the relay (when a queue is given), the writer. */
export function createApiRuntime(options: ApiRuntimeOptions): ApiRuntime {
  const { orm, logger } = options;
  const cacheRedis = options.cacheRedisUrl ? createRedis(options.cacheRedisUrl, 'cache', { logger, name: 'crm-cache' }) : null;
  const cache = cacheRedis
    ? new ResponseCache({
        redis: cacheRedis,
        logger,
        ...(options.namespace ? { namespace: options.namespace } : {}),
        ...(options.statsFlushMs ? { statsFlushMs: options.statsFlushMs } : {}),
        replay: (since, page) => eventsSince(orm.em.fork(), since, page),
        ...(options.metrics ? {
          observe: (operation, seconds) => options.metrics!.observeCacheOperation(operation, seconds),
          countInvalidated: (tags) => options.metrics!.observeInvalidatedTags(tags),
        } : {}),
      })
    : null;
  if (cacheRedis && options.checkEvictionPolicy) cacheRedis.once('ready', () => void checkCacheEvictionPolicy(cacheRedis, logger));
  const relay = options.queueRedisUrl
    ? new OutboxRelay({ orm, logger, queueRedisUrl: options.queueRedisUrl, ...(options.relayPollMs ? { pollMs: options.relayPollMs } : {}) }).start()
    : null;
  const writer = new ChangeWriter({ orm, cache, relay, traceContext: currentTraceContext });
  return {
    cache,
    cacheRedis,
    relay,
    writer,
    queueProbe: relay ? () => relay.ping() : null,
    close: async () => {
      await relay?.stop();
      await cache?.close();
      cacheRedis?.disconnect();
    },
  };
}
