/**
 * The response cache's facade: what the services, the worker and the Express adapter call. It composes the parts,
 * one job each: keys.ts (every key), guard.ts (the guarded Redis call), lookup.ts, invalidation.ts (events applied
 * once), fill-locks.ts, recovery.ts (what an outage leaves owed), stats.ts and admin.ts.
 */
import { pingRedis, type RedisClient } from '@crm/redis';
import type { Logger } from '@crm/telemetry';
import { deletePrefix } from './admin';
import type { CircuitBreaker } from './breaker';
import { encodeEntry, etagOf, type Entry, type EntryHeader } from './entry';
import { FillLocks, type FillLock } from './fill-locks';
import { inspectEntry, type Inspection } from './inspect';
import { RedisGuard } from './guard';
import { Invalidation, type AppliedEvent, type EventApplication } from './invalidation';
import { CacheKeys } from './keys';
import { lookUp, type Lookup, type LookupContext } from './lookup';
import { timing, traced, type CacheOperation, type Timed } from './observe';
import { OutageRecovery } from './recovery';
import type { ReplayableEvent, ReplaySource } from './replay';
import { readStats, StatsRecorder, type CacheResult, type CacheStats } from './stats';

/** How a ResponseCache is set up: its Redis and logger, and the tuning every default of which suits production. */
export interface ResponseCacheOptions {
  /** A single server or a cluster (see keys.ts for how keys stay in one slot per command). */
  redis: RedisClient;
  logger: Logger;
  /** Every key of this application starts with `<namespace>:`; DELETE /cache removes only those. */
  namespace?: string;
  /** How long past its TTL an entry may still be served when the database fails. */
  graceSeconds?: number;
  /** How long one instance holds the right to fill a missing key. */
  fillLockMs?: number;
  /** How long a request waits for another instance's fill before reading the database itself. */
  fillWaitMs?: number;
  breaker?: CircuitBreaker;
  statsFlushMs?: number;
  /**
   * One page of the events committed since a moment (from the transactional outbox). After losing a Redis that
   * did not restart, this process re-applies them before it serves anything from the cache again: another
   * replica's write may have failed to invalidate while Redis was away (see replay.ts).
   */
  replay?: ReplaySource;
  /**
   * The longest TTL of any entry, in seconds (default 3600, the contract's longest). Tag tokens expire this long
   * plus grace after they were written: no entry outlives its tokens, and a tag never read again does not stay.
   */
  maxTtlSeconds?: number;
  /** How long a command may go unanswered before Redis is taken for hung (default 150 ms; see watchdog.ts). */
  hangThresholdMs?: number;
  /** How long an applied-event marker is kept (deduplicates the write's and the worker's application). */
  appliedMarkerMs?: number;
  /** Times each operation against Redis (for `cache_operation_duration_seconds`). */
  observe?: (operation: CacheOperation, seconds: number) => void;
  /**
   * How long a write retries an invalidation Redis did not take before it answers with the invalidation owed
   * (default 1 s). Only this process may have lost Redis (its connection dropped the command, its view of a
   * cluster is stale, it reconnects later than the others after an outage) while other replicas already serve
   * from it: answering at once would let them serve the old entry. 1 s covers the client's longest reconnect
   * interval and slot-map refresh. Paid only while Redis fails, by writes only.
   */
  owedWaitMs?: number;
}

/** What a store did: the entry it wrote, or nothing (Redis unavailable). */
export type StoreResult = { state: 'stored'; entry: Entry } | { state: 'unavailable' };

/**
 * Cache-aside storage for HTTP responses, with tag invalidation by version tokens:
 * each tag has a token in Redis; an entry records the tokens of its tags as they were *before* its data
 * was read, and is valid only while they all still match. Invalidating a tag writes a new, never-reused
 * token: O(1) per tag, no scan, and a slow reader that started before the invalidation stores an entry
 * that is already invalid (no stale set).
 */
export class ResponseCache {
  readonly namespace: string;
  /** Every key of this namespace. */
  readonly keys: CacheKeys;
  readonly stats: StatsRecorder;
  private readonly redis: RedisClient;
  private readonly graceMs: number;
  private readonly timed: Timed;
  private readonly guard: RedisGuard;
  private readonly invalidation: Invalidation;
  private readonly recovery: OutageRecovery;
  private readonly fills: FillLocks;
  private readonly lookupContext: LookupContext;

  constructor(options: ResponseCacheOptions) {
    const { redis, logger } = options;
    this.redis = redis;
    this.namespace = options.namespace ?? 'crm';
    const keys = (this.keys = new CacheKeys(this.namespace));
    this.graceMs = (options.graceSeconds ?? 3_600) * 1_000;
    const tokenTtlMs = ((options.maxTtlSeconds ?? 3_600) * 1_000) + this.graceMs;
    const timed = (this.timed = timing(options.observe));
    this.stats = new StatsRecorder(redis, keys.stats, options.statsFlushMs);
    const guard = (this.guard = new RedisGuard({
      redis, logger,
      ...(options.breaker ? { breaker: options.breaker } : {}),
      ...(options.hangThresholdMs ? { hangThresholdMs: options.hangThresholdMs } : {}),
      onBack: () => void this.recovery.settleOwed(),
    }));
    this.invalidation = new Invalidation({
      redis, keys, guard, timed, tokenTtlMs,
      appliedMarkerMs: options.appliedMarkerMs ?? 15 * 60_000,
      owedWaitMs: options.owedWaitMs ?? 1_000,
      owe: (tags) => this.recovery.owe(tags),
    });
    this.recovery = new OutageRecovery({
      redis, logger, keys, guard,
      setNewTokens: (tags) => this.invalidation.setNewTokens(tags),
      applyEventOrThrow: (event) => this.applyEventOrThrow(event),
    }, options.replay);
    this.fills = new FillLocks({
      redis, keys, guard,
      lockMs: options.fillLockMs ?? 5_000,
      waitMs: options.fillWaitMs ?? 2_000,
      lookup: (key, tags) => this.lookup(key, tags),
    });
    this.lookupContext = { redis, keys, guard, recovery: this.recovery, tokenTtlMs };
  }

  /** The health probe: rejects when Redis (every master of a cluster) does not answer (quickly: the client never queues). */
  async ping(): Promise<void> {
    if (this.redis.status !== 'ready') throw new Error(`redis is ${this.redis.status}`);
    await pingRedis(this.redis);
  }

  /** True when Redis may be used right now (breaker closed or probing, nothing owed). */
  get available(): boolean {
    return !this.recovery.owing && this.guard.breaker.state !== 'open' && this.redis.status === 'ready';
  }

  /** One round trip: the entry and the current tokens of its tags. Missing tags get a first token. */
  lookup(key: string, tags: string[]): Promise<Lookup> {
    return this.timed('get', lookUp(this.lookupContext, key, tags));
  }

  /** Read-only, for the consistency auditor: the entry under `key` and whether a request would serve it now (inspect.ts). */
  inspect(key: string): Promise<Inspection> {
    return inspectEntry(this.lookupContext, key);
  }

  /**
   * Stores a response with the tag tokens read before its data was; expires after TTL + grace. `path` is the
   * request it answered, kept in the entry for the consistency auditor.
   */
  async store(key: string, body: Buffer, contentType: string, versions: Record<string, string>, ttlSeconds: number, path?: string): Promise<StoreResult> {
    return traced('cache.set', { 'cache.key': key, 'cache.ttl': ttlSeconds }, async () => {
      const header: EntryHeader = { e: etagOf(body), f: Date.now() + ttlSeconds * 1_000, t: versions, c: contentType, ...(path ? { p: path } : {}) };
      const set = await this.timed('set', this.guard.run(() => this.redis.set(this.keys.entry(key), encodeEntry(header, body), 'PX', ttlSeconds * 1_000 + this.graceMs)));
      return set.ok ? { state: 'stored', entry: { header, body } } : { state: 'unavailable' };
    });
  }

  /**
   * The write path's application of a committed event's invalidation, at most once whoever applies it (the
   * worker, a replay): if Redis does not take it, retried for up to `owedWaitMs`, then owed by this process.
   */
  applyEvent(event: ReplayableEvent): Promise<EventApplication> {
    return this.invalidation.apply(event);
  }

  /** The worker's application of an event: throws CacheUnavailableError when Redis does not take it (its job is retried). */
  applyEventOrThrow(event: ReplayableEvent): Promise<AppliedEvent> {
    return this.invalidation.applyOrThrow(event);
  }

  /**
   * Takes the right to fill `key` for this instance. Only one instance across all replicas gets it;
   * the others wait for its entry (`waitForFill`) instead of querying the database too.
   */
  acquireFill(key: string): Promise<FillLock> {
    return this.fills.acquire(key);
  }

  /** Releases a fill lock taken by acquireFill (if it is still this instance's). */
  releaseFill(key: string, token: string): Promise<void> {
    return this.fills.release(key, token);
  }

  /** Polls for the entry another instance is filling; null after `fillWaitMs` or when the fill lock is gone without an entry. */
  waitForFill(key: string, tags: string[]): Promise<Entry | null> {
    return this.fills.waitFor(key, tags);
  }

  /** Deletes this application's keys under `<prefix>` (all of them when empty) except the stats hash (see admin.ts). */
  deletePrefix(prefix = ''): Promise<number> {
    return deletePrefix(this.redis, this.keys, prefix);
  }

  /** System-wide stats: every replica's counters, with Redis keys and memory (see stats.ts). */
  readStats(): Promise<CacheStats> {
    return readStats(this.redis, this.guard, this.stats);
  }

  /** Counts a cached route's result for the stats. */
  record(prefix: string, result: CacheResult): void {
    this.stats.record(prefix, result);
  }

  async close(): Promise<void> {
    this.guard.stop();
    this.stats.stop();
    await this.stats.flush();
  }
}
