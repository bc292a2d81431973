/**
 * The one way the cache calls Redis (bentocache's remote-cache facade): only on a ready connection and a breaker
 * that lets the call through, watched for a hung server, without an ioredis span per command, and never throwing:
 * a failed or skipped call is `{ ok: false }` (its request reads the database) and counts against the breaker,
 * unless it timed out because this process stalled. Also remembers when Redis last answered.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { isCluster, pingRedis, type RedisClient } from '@crm/redis';
import type { Logger } from '@crm/telemetry';
import { CircuitBreaker } from './breaker';
import { CacheUnavailableError, isCommandTimeout } from './errors';
import { loopStalledRecently, watchLoopLag } from './loop-lag';
import { ABANDONED, HangWatchdog } from './watchdog';

/** The context the cache's Redis calls run in: no parent span, tracing suppressed. */
const UNTRACED = suppressTracing(ROOT_CONTEXT);

/** A guarded call's outcome: its value, or unavailable (skipped, failed or abandoned; `cause` when it failed). */
export type Guarded<T> = { ok: true; value: T } | { ok: false; cause?: unknown };

/** The guarded client and what to tell when Redis is back. */
export interface RedisGuardOptions {
  redis: RedisClient;
  logger: Logger;
  breaker?: CircuitBreaker;
  /** How long a command may go unanswered before Redis is taken for hung (default 150 ms; see watchdog.ts). */
  hangThresholdMs?: number;
  /** The watchdog's probe was answered after a hang: Redis is back. */
  onBack: () => void;
}

/** Guards every call of one cache to its Redis (see the opening comment). */
export class RedisGuard {
  readonly breaker: CircuitBreaker;
  private readonly watchdog: HangWatchdog;
  private readonly redis: RedisClient;
  private readonly logger: Logger;
  /** When Redis last answered; an outage replays the outbox from a little before it. */
  private okAt = Date.now();
  private stopped = false;

  constructor(options: RedisGuardOptions) {
    this.redis = options.redis;
    this.logger = options.logger;
    this.breaker = options.breaker ?? new CircuitBreaker();
    watchLoopLag();
    this.watchdog = new HangWatchdog({
      redis: options.redis,
      ...(options.hangThresholdMs ? { thresholdMs: options.hangThresholdMs } : {}),
      connected: () => this.redis.status === 'ready',
      onHang: () => { this.logger.warn('cache Redis hangs: reads skip it until it answers'); this.breaker.trip(); },
      shouldProbe: () => this.breaker.state !== 'closed',
      probe: () => pingRedis(this.redis),
      onAnswer: () => { this.breaker.success(); options.onBack(); },
    });
  }

  /** When Redis last answered a call. */
  get lastOkAt(): number {
    return this.okAt;
  }

  /** True once the cache closed: retries stop. */
  get closed(): boolean {
    return this.stopped;
  }

  /** Runs a Redis call through the breaker and the watchdog. */
  async run<T>(call: () => Promise<T>): Promise<Guarded<T>> {
    if (this.redis.status !== 'ready' || !this.breaker.allow()) return { ok: false };
    try {
      // No ioredis span per command: the cache.* spans around these calls say what they did, for less. Run outside
      // the request's span, not only suppressed: the ioredis instrumentation (requireParentSpan) then skips a
      // command at once, instead of building its attributes for a span that is dropped (~5% of a hit's CPU).
      const result = await this.watchdog.watch(context.with(UNTRACED, call));
      // Redis hangs: the watchdog opened the breaker; this request reads the database.
      if (result === ABANDONED) return { ok: false };
      this.succeeded();
      return { ok: true, value: result };
    } catch (error) {
      // A timeout right after this process stalled is the stall's, not Redis's: this call is lost (the
      // request reads the database), but the breaker stays closed for the next ones.
      if (isCommandTimeout(error) && loopStalledRecently()) this.breaker.forgive();
      else this.breaker.failure();
      this.logger.debug({ err: (error as Error).message }, 'cache call failed');
      return { ok: false, cause: error };
    }
  }

  /** A call made past the guard (a retry) was answered: the breaker closes, and Redis answered now. */
  succeeded(): void {
    this.breaker.success();
    this.okAt = Date.now();
  }

  /** Redis answered part of a long call (one chunk of a sequence): it is not hung. */
  heard(): void {
    this.watchdog.heard();
  }

  /** The error for a call the caller needs done, naming the connection's and the breaker's state. */
  unavailable(cause?: unknown): CacheUnavailableError {
    return new CacheUnavailableError(`cache Redis unavailable (${this.redis.status}, breaker ${this.breaker.state})`, { cause });
  }

  /** On a cluster, asks the nodes again which master serves which slot (bounded by `withinMs`). */
  refreshClusterView(withinMs: number): Promise<void> {
    const redis = this.redis;
    if (!isCluster(redis)) return Promise.resolve();
    return Promise.race([new Promise<void>((resolve) => redis.refreshSlotsCache(() => resolve())), sleep(withinMs)]);
  }

  stop(): void {
    this.stopped = true;
    this.watchdog.stop();
  }
}
