import { UnrecoverableError, Worker, type Job, type KeepJobs, type Queue } from 'bullmq';
import { ResponseCache } from '@crm/cache';
import { deletePublishedBefore, type MikroORM } from '@crm/database';
import { createQueueConnection, JOB_OPTIONS, jobTelemetry, openQueue, OutboxRelay, QUEUE_PREFIX, QUEUES, type ApiService } from '@crm/jobs';
import { startupWarmupTargets } from '@crm/cache-policy';
import type { Logger, ServiceMetrics } from '@crm/telemetry';
import { invalidationProcessor } from './jobs/invalidation';
import { warmupProcessor } from './jobs/warmup';
import { workerMetrics } from './metrics';
import { ConsistencyAuditor, type AuditorOptions } from './auditor/auditor';
import { createRedis, type RedisClient, type RedisTarget } from '@crm/redis';

export interface CacheWorkerOptions {
  orm: MikroORM;
  logger: Logger;
  metrics: ServiceMetrics;
  /** The cache Redis: a URL or a cluster. */
  cacheRedisUrl: RedisTarget;
  /** The queue Redis: a URL or a cluster. */
  queueRedisUrl: RedisTarget;
  apiUrls: Record<ApiService, string>;
  /** The reader token warm-up GETs carry (WARMUP_TOKEN); null: no warm-up at all, invalidation only. */
  warmupToken: string | null;
  /** How many failed jobs each queue keeps, and how long (BullMQ `removeOnFail`). Default: 7 days, 10,000. */
  failedJobs?: KeepJobs;
  /** The cache's key namespace (tests use their own). */
  namespace?: string;
  /** Invalidation jobs run at once (default 8). */
  concurrency?: number;
  /** Warm-up jobs run at once (default 64): each waits on an API's answers, and a late refill is a wasted one. */
  warmupConcurrency?: number;
  /** Job lock: a killed worker's active job is taken over by another worker after about this long. */
  lockMs?: number;
  warmupOnStart?: boolean;
  /** Published outbox rows older than this are deleted. */
  outboxRetentionHours?: number;
  relayPollMs?: number;
  /**
   * The consistency auditor (CACHE_AUDIT_PER_SECOND; needs the warm-up token to read the APIs): checks per second,
   * 0 or absent for none, and the APIs' `CACHE_TTL_<PREFIX>` overrides (an entry's age derives from its TTL).
   */
  audit?: Pick<AuditorOptions, 'perSecond' | 'ttlOverrides' | 'minAgeMs' | 'confirmMs' | 'revisitAfterMs'>;
}

/** Start-up warm-up targets per job (the targets themselves are the cache policy's: @crm/cache-policy). */
const TARGETS_PER_JOB = 25;

/** Failed jobs stay visible a week (much longer than the outbox keeps its rows), at most 10,000 per queue. */
export const FAILED_JOBS_DEFAULT: KeepJobs = { age: 7 * 24 * 3_600, count: 10_000 };

/** Failed for good: out of attempts, or failed with UnrecoverableError (which BullMQ never retries). */
function failedForGood(job: Job | undefined, error: Error): boolean {
  return !job || error instanceof UnrecoverableError || error.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
}

/**
 * The cache worker: runs `cache-invalidation` and `cache-warmup` jobs, relays outbox rows the APIs have
 * not published (the APIs relay their own writes at once; this is the backstop), trims old outbox rows,
 * and warms the cache up at start. Every part is safe to run in several replicas at once.
 */
export class CacheWorker {
  readonly cacheRedis: RedisClient;
  /** The queue Redis as health and the eviction check see it. */
  readonly queueRedis: RedisClient;
  readonly cache: ResponseCache;
  readonly queues: { invalidation: Queue; warmup: Queue };
  readonly workers: Worker[];
  readonly relay: OutboxRelay;
  /** Null when off (no rate, or no warm-up token to read the APIs with). */
  readonly auditor: ConsistencyAuditor | null;
  private retentionTimer: NodeJS.Timeout | null = null;
  private readonly queueConnection: { close: () => void };

  constructor(private readonly options: CacheWorkerOptions) {
    const { logger } = options;
    // The worker waits for Redis rather than failing fast: a job in hand must finish or be retried.
    this.cacheRedis = createRedis(options.cacheRedisUrl, 'cache', { logger, name: 'cache-worker:cache', commandTimeout: 2_000 });
    this.cache = new ResponseCache({
      redis: this.cacheRedis,
      logger,
      ...(options.namespace ? { namespace: options.namespace } : {}),
      observe: (operation, seconds) => options.metrics.observeCacheOperation(operation, seconds),
      countInvalidated: (tags) => options.metrics.observeInvalidatedTags(tags),
    });
    this.queueRedis = createRedis(options.queueRedisUrl, 'probe', { logger, name: 'cache-worker:queue-probe' });
    const { connection, close } = createQueueConnection(options.queueRedisUrl, logger, 'cache-worker:queue');
    this.queueConnection = { close };
    this.queues = {
      invalidation: openQueue(QUEUES.invalidation, connection),
      warmup: openQueue(QUEUES.warmup, connection),
    };
    const warmupToken = options.warmupToken;
    const metrics = workerMetrics(options.metrics, () => Object.values(this.queues), warmupToken !== null);
    const workerOptions = {
      connection,
      prefix: QUEUE_PREFIX,
      telemetry: jobTelemetry(),
      concurrency: options.concurrency ?? 8,
      lockDuration: options.lockMs ?? 30_000,
      // Look for jobs whose worker died at the lock's pace, so they are retried soon after it expires.
      stalledInterval: options.lockMs ?? 30_000,
      maxStalledCount: 3,
      // The consumer bounds the failed set (job options leave removeOnFail unset so this applies): the queue
      // Redis never evicts, so failed jobs kept forever would fill it. The outbox, not the failed set, is what
      // guarantees an invalidation (see docs/security.md).
      removeOnFail: options.failedJobs ?? FAILED_JOBS_DEFAULT,
    };
    this.workers = [
      new Worker(QUEUES.invalidation, invalidationProcessor({ cache: this.cache, warmupQueue: warmupToken ? this.queues.warmup : null, metrics, logger }), workerOptions),
      // Without a token there is nothing to warm with: no warm-up jobs are taken (nor enqueued, above).
      ...(warmupToken ? [new Worker(QUEUES.warmup, warmupProcessor({ apiUrls: options.apiUrls, token: warmupToken, metrics, logger }), { ...workerOptions, concurrency: options.warmupConcurrency ?? 64 })] : []),
    ];
    if (!warmupToken) logger.warn('warm-up is off: WARMUP_TOKEN is not set (invalidation runs; caches fill on first read)');
    for (const worker of this.workers) {
      worker.on('failed', (job: Job | undefined, error: Error) => {
        const final = failedForGood(job, error);
        if (final) metrics.jobsFailed.inc({ queue: worker.name });
        logger[final ? 'error' : 'warn']({ queue: worker.name, jobId: job?.id, attempts: job?.attemptsMade, err: error.message }, final ? 'job failed for good' : 'job failed; will retry');
      });
      worker.on('error', (error) => logger.warn({ queue: worker.name, err: error.message }, 'worker error'));
    }
    for (const queue of Object.values(this.queues)) queue.on('error', () => undefined); // logged by the workers
    const audit = options.audit;
    this.auditor = audit && audit.perSecond > 0 && warmupToken
      ? new ConsistencyAuditor({ ...audit, cache: this.cache, redis: this.cacheRedis, apiUrls: options.apiUrls, token: warmupToken, metrics, logger })
      : null;
    if (audit && audit.perSecond > 0 && !warmupToken) logger.warn('the consistency auditor is off: it reads the APIs with WARMUP_TOKEN, which is not set');
    this.relay = new OutboxRelay({ orm: options.orm, logger, queueRedisUrl: options.queueRedisUrl, name: 'cache-worker:relay', ...(options.relayPollMs ? { pollMs: options.relayPollMs } : {}) });
  }

  /**
   * Starts relaying and trimming the outbox and, unless disabled, enqueues the startup warm-up in the
   * background (with the queue Redis down it waits for it; the worker serves /health meanwhile).
   */
  start(): this {
    this.relay.start();
    this.auditor?.start();
    const trim = async () => {
      const hours = this.options.outboxRetentionHours ?? 24;
      try {
        const deleted = await deletePublishedBefore(this.options.orm.em.fork(), new Date(Date.now() - hours * 3_600_000));
        if (deleted > 0) this.options.logger.info({ deleted }, 'outbox: published events past retention deleted');
      } catch (error) {
        this.options.logger.warn({ err: (error as Error).message }, 'outbox retention failed; will retry');
      }
    };
    this.retentionTimer = setInterval(() => void trim(), 10 * 60_000).unref();
    if ((this.options.warmupOnStart ?? true) && this.options.warmupToken) {
      this.enqueueStartupWarmup().catch((error: unknown) => {
        this.options.logger.warn({ err: (error as Error).message }, 'startup warm-up could not be enqueued');
      });
    }
    return this;
  }

  /** Enqueues the start-up warm-up the cache policy declares (each view's `warmAtStartup`); resolves with the number of targets. */
  async enqueueStartupWarmup(): Promise<number> {
    const em = this.options.orm.em.fork();
    const targets = await startupWarmupTargets(async (sql) => (await em.execute<{ id: number }[]>(sql)).map((row) => row.id));
    const startedAt = Date.now();
    const jobs = [];
    for (let i = 0; i < targets.length; i += TARGETS_PER_JOB) {
      jobs.push({
        name: 'startup',
        data: { reason: 'startup' as const, targets: targets.slice(i, i + TARGETS_PER_JOB), trace: null },
        opts: { ...JOB_OPTIONS, jobId: `startup-${startedAt}-${i / TARGETS_PER_JOB}` },
      });
    }
    await this.queues.warmup.addBulk(jobs);
    this.options.logger.info({ targets: targets.length, jobs: jobs.length }, 'startup warm-up enqueued');
    return targets.length;
  }

  /**
   * Graceful stop: stop taking jobs and let the active ones finish (BullMQ's close waits for them), publish
   * nothing more, then close the connections. A job cut short by a kill is retried by another worker.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private closing: Promise<void> | null = null;

  private async shutdown(): Promise<void> {
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    await this.auditor?.stop();
    await Promise.all(this.workers.map((w) => w.close()));
    await this.relay.stop();
    await Promise.allSettled(Object.values(this.queues).map((q) => q.close()));
    await this.cache.close();
    this.queueConnection.close();
    this.cacheRedis.disconnect();
    this.queueRedis.disconnect();
  }
}
