/**
 * The response cache's facade: what the services, the worker and the Express adapter call. It composes the parts,
 * one job each: keys.ts (every key), guard.ts (the guarded Redis call), lookup.ts, invalidation.ts (events applied
 * once), fill-locks.ts, recovery.ts (what an outage leaves owed), stats.ts and admin.ts.
 */
import type { Span } from '@opentelemetry/api';
import { pingRedis, type RedisClient } from '@crm/redis';
import type { Logger } from '@crm/telemetry';
import { deletePrefix } from './admin';
import type { CircuitBreaker } from './breaker';
import { encodeEntry, etagOf, type Entry, type EntryHeader } from './entry';
import { FillLocks, type FillLock } from './fill-locks';
import { inspectEntry, type Inspection } from './inspect';
import { RedisGuard } from './guard';
import { Invalidation, type AppliedEvent, type EventApplication } from './invalidation';
import { chunked } from './chunks';
import { CacheKeys, GENERATION_FIELD, LOOKED_UP_AT_FIELD, SEQUENCE_FIELD } from './keys';
import { loadScript, runScript } from './lua';
import { FILL_MAX_AGE_MS, tokenSuffix } from './tokens';
import { lookUp, type Lookup, type LookupContext } from './lookup';
import { timing, traced, type CacheOperation, type Timed } from './observe';
import { ReaderLog, type ReaderLogOptions } from './readers';
import { linkTo, newestSeq, spanRef } from './trace-links';
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
   * Told, for each event this process applies now (the write's, the worker's or a replay's, never one applied
   * already), how many of its tags had a token: those live entries may depend on (for `cache_invalidated_tags`).
   */
  countInvalidated?: (tags: number) => void;
  /**
   * How long a write retries an invalidation Redis did not take before it answers with the invalidation owed
   * (default 1 s). Only this process may have lost Redis (its connection dropped the command, its view of a
   * cluster is stale, it reconnects later than the others after an outage) while other replicas already serve
   * from it: answering at once would let them serve the old entry. 1 s covers the client's longest reconnect
   * interval and slot-map refresh. Paid only while Redis fails, by writes only.
   */
  owedWaitMs?: number;
  /** The reader log's bounds and windows (see readers.ts; the defaults suit production). */
  readerLog?: Pick<ReaderLogOptions, 'keepPerTag' | 'idleMs' | 'burstMs' | 'recordEveryMs'>;
}

/**
 * What a store did: the entry it wrote, or nothing: refused (a tag the data shows was written after the fill's
 * lookup, or the fill took longer than FILL_MAX_AGE_MS), or Redis unavailable.
 */
export type StoreResult = { state: 'stored'; entry: Entry } | { state: 'refused' } | { state: 'unavailable' };

const STORE_TAGS = loadScript('store-tags');

/** The lookup's own fields of `versions`: not tokens, never stored. */
function tokensOf(versions: Record<string, string>): Record<string, string> {
  const { [SEQUENCE_FIELD]: _seq, [LOOKED_UP_AT_FIELD]: _at, ...tokens } = versions;
  return tokens;
}

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
  /** Who read which entries recently, for the worker's read-driven refills (see readers.ts). */
  readonly readers: ReaderLog;
  private readonly redis: RedisClient;
  private readonly graceMs: number;
  private readonly timed: Timed;
  private readonly guard: RedisGuard;
  private readonly invalidation: Invalidation;
  private readonly recovery: OutageRecovery;
  private readonly fills: FillLocks;
  private readonly lookupContext: LookupContext;
  private readonly tokenTtlMs: number;

  constructor(options: ResponseCacheOptions) {
    const { redis, logger } = options;
    this.redis = redis;
    this.namespace = options.namespace ?? 'crm';
    const keys = (this.keys = new CacheKeys(this.namespace));
    this.graceMs = (options.graceSeconds ?? 3_600) * 1_000;
    const tokenTtlMs = (this.tokenTtlMs = ((options.maxTtlSeconds ?? 3_600) * 1_000) + this.graceMs);
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
      ...(options.countInvalidated ? { countInvalidated: options.countInvalidated } : {}),
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
    this.readers = new ReaderLog({ ...options.readerLog, redis, keys, guard, stats: this.stats });
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
   * Stores a response with the tag tokens its lookup read (before its data was read), and the tokens of the tags
   * its data `shows` (known only now: the ids on a page), read now; expires after TTL + grace. Refused when one of
   * the shown tags was written after the lookup: the data may predate that write (see store-tags.lua). `marks`: a
   * refill's id, the request's path (for the consistency auditor).
   */
  async store(
    key: string, body: Buffer, contentType: string, versions: Record<string, string>, ttlSeconds: number, shows: string[] = [],
    marks: Pick<EntryHeader, 'w' | 'u'> = {},
  ): Promise<StoreResult> {
    return traced('cache.set', { 'cache.key': key, 'cache.ttl': ttlSeconds }, async (span) => {
      const lookedUpAt = Number(versions[LOOKED_UP_AT_FIELD] ?? Date.now());
      if (Date.now() - lookedUpAt > FILL_MAX_AGE_MS) return refused(span, 'slow fill');
      const shown = [...new Set(shows)];
      const fill = spanRef(span);
      const stored = await this.timed('set', this.guard.run(async () => {
        const p = shown.length > 0 ? await this.shownTokens(shown, versions[SEQUENCE_FIELD] ?? '0') : undefined;
        if (p === null) return null;
        const t = tokensOf(versions);
        const now = Date.now();
        const header: EntryHeader = { e: etagOf(body), f: now + ttlSeconds * 1_000, t, ...(p ? { p } : {}), c: contentType, a: now, ...(fill ? { s: fill } : {}), ...marks };
        await Promise.all([
          this.redis.set(this.keys.entry(key), encodeEntry(header, body), 'PX', ttlSeconds * 1_000 + this.graceMs),
          fill ? this.linkToWrite(span, t, p).catch(() => undefined) : undefined, // a link is not worth a failed store
        ]);
        return header;
      }));
      if (!stored.ok) return { state: 'unavailable' };
      if (!stored.value) return refused(span, 'shown tag written since the lookup');
      return { state: 'stored', entry: { header: stored.value, body } };
    });
  }

  /**
   * A traced fill's link to the write before it: the newest write to any tag the entry depends on, if that write
   * was traced and is recent (trace-links.ts). Read beside the entry's SET: no round trip added.
   */
  private async linkToWrite(span: Span, t: Record<string, string>, p: Record<string, string> | undefined): Promise<void> {
    const { [GENERATION_FIELD]: _generation, ...tokens } = t;
    const seq = newestSeq([...Object.values(tokens), ...Object.values(p ?? {})]);
    if (seq === 0) return;
    const write = linkTo(await this.redis.get(`${this.keys.writeSpans}${seq}`), 'write');
    if (write) span.addLink(write);
  }

  /** The current tokens of `tags`, or null when one was written after the lookup that read seq `since`. */
  private async shownTokens(tags: string[], since: string): Promise<Record<string, string> | null> {
    const tokens: Record<string, string> = {};
    for (const run of chunked(tags)) {
      const found = await runScript<string[] | null>(this.redis, STORE_TAGS, run.map((t) => this.keys.tag(t)), [since, this.tokenTtlMs, ...run.map(tokenSuffix)]);
      if (!found) return null;
      run.forEach((tag, i) => (tokens[tag] = found[i]!));
    }
    return tokens;
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

/** A store refused, noted on its span. */
function refused(span: Span, reason: string): StoreResult {
  span.setAttribute('cache.store_refused', reason);
  return { state: 'refused' };
}
