import { createHash, randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { context, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import type { Logger } from '@crm/telemetry';
import { CircuitBreaker } from './breaker';
import { chunked } from './chunks';
import { isCommandTimeout, loopStalledRecently, watchLoopLag } from './loop-lag';
import { dataNodes, isCluster, pingRedis, type RedisClient } from '@crm/redis';
import { decodeEntry, encodeEntry, type Entry } from './entry';
import { Generation, GENERATION_FIELD } from './generation';
import { OutageReplay, type ReplayableEvent, type ReplaySource } from './replay';
import { StatsRecorder, type CacheResult } from './stats';
import { ABANDONED, HangWatchdog } from './watchdog';

export type { ReplayableEvent, ReplayPage, ReplaySource } from './replay';

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
  observe?: (operation: 'get' | 'set' | 'invalidate', seconds: number) => void;
  /**
   * How long a write retries an invalidation Redis did not take before it answers with the invalidation owed
   * (default 1 s). Only this process may have lost Redis (its connection dropped the command, its view of a
   * cluster is stale, it reconnects later than the others after an outage) while other replicas already serve
   * from it: answering at once would let them serve the old entry. 1 s covers the client's longest reconnect
   * interval and slot-map refresh. Paid only while Redis fails, by writes only.
   */
  owedWaitMs?: number;
}

const tracer = trace.getTracer('@crm/cache');

/** Runs `work` in a span that ends with it (an error marks the span). */
async function traced<T>(name: string, attributes: Record<string, string | string[] | number>, work: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** The outcome of applying an event: `applied` false when it had been applied already (by `appliedAt`). */
export interface AppliedEvent {
  applied: boolean;
  appliedAt: number;
}

const OWED_RETRY_MS = 200;
/** Pause between a write's retries of its invalidation (see owedWaitMs). */
const WRITE_RETRY_MS = 50;

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Applies one chunk of an event's invalidation: new tokens for its tags, unless the marker says the event was
 * applied already; the last chunk also sets the marker. An event's chunks run in order, so the marker is set
 * only once every tag has its new token; chunks repeated after a failure only invalidate again (harmless).
 * KEYS: marker, then tag keys (one slot). ARGV: now, marker TTL, token TTL, 1 for the last chunk, tokens.
 */
const APPLY_EVENT = `
local done = redis.call('GET', KEYS[1])
if done then return {0, done} end
for i = 2, #KEYS do redis.call('SET', KEYS[i], ARGV[i + 3], 'PX', ARGV[3]) end
if ARGV[4] == '1' then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
return {1, ARGV[1]}`;

/** New tokens for tags, each expiring with the longest entry. KEYS: tag keys (one slot). ARGV: token TTL, tokens. */
const SET_TOKENS = `
for i = 1, #KEYS do redis.call('SET', KEYS[i], ARGV[i + 1], 'PX', ARGV[1]) end
return #KEYS`;

type SetTokensCommand = (numKeys: number, ...args: (string | number)[]) => Promise<number>;

type ApplyEventCommand = (numKeys: number, ...args: (string | number)[]) => Promise<[number, string]>;

/** What a lookup found. `versions` are the tag tokens read with it: a fill must store those, not newer ones. */
export type Lookup =
  | { state: 'hit'; entry: Entry }
  | { state: 'expired'; entry: Entry; versions: Record<string, string> }
  | { state: 'miss'; versions: Record<string, string> }
  | { state: 'unavailable' };

const newToken = () => `${Date.now().toString(36)}.${randomBytes(6).toString('base64url')}`;

/**
 * Cache-aside storage for HTTP responses, with tag invalidation by version tokens:
 * each tag has a token in Redis; an entry records the tokens of its tags as they were *before* its data
 * was read, and is valid only while they all still match. Invalidating a tag writes a new, never-reused
 * token: O(1) per tag, no scan, and a slow reader that started before the invalidation stores an entry
 * that is already invalid (no stale set).
 */
export class ResponseCache {
  readonly namespace: string;
  readonly breaker: CircuitBreaker;
  readonly stats: StatsRecorder;
  private readonly graceMs: number;
  private readonly fillLockMs: number;
  private readonly fillWaitMs: number;
  /** Tags this process could not invalidate while Redis was unreachable; applied before any hit is served again. */
  private readonly owedTags = new Set<string>();
  private readonly appliedMarkerMs: number;
  private readonly owedWaitMs: number;
  /** When Redis last answered; an outage replays the outbox from a little before it. */
  private lastOkAt = Date.now();
  /** Owed after losing Redis: events since then are replayed before the cache is used again. */
  private readonly replay: OutageReplay | null;
  private readonly generation: Generation;
  private readonly watchdog: HangWatchdog;
  private readonly tokenTtlMs: number;
  private settling = false;
  private closed = false;

  constructor(private readonly options: ResponseCacheOptions) {
    this.namespace = options.namespace ?? 'crm';
    this.graceMs = (options.graceSeconds ?? 3_600) * 1_000;
    this.fillLockMs = options.fillLockMs ?? 5_000;
    this.fillWaitMs = options.fillWaitMs ?? 2_000;
    this.breaker = options.breaker ?? new CircuitBreaker();
    watchLoopLag();
    this.appliedMarkerMs = options.appliedMarkerMs ?? 15 * 60_000;
    this.owedWaitMs = options.owedWaitMs ?? 1_000;
    this.stats = new StatsRecorder(options.redis, this.statsKey, options.statsFlushMs);
    this.tokenTtlMs = ((options.maxTtlSeconds ?? 3_600) * 1_000) + this.graceMs;
    options.redis.defineCommand('crmApplyEvent', { lua: APPLY_EVENT });
    options.redis.defineCommand('crmSetTokens', { lua: SET_TOKENS });
    this.generation = new Generation(options.redis, this.tagKey(GENERATION_FIELD));
    this.replay = options.replay ? new OutageReplay(options.replay, (e) => this.applyEvent(e, { strict: true }), options.logger) : null;
    this.watchdog = new HangWatchdog({
      redis: options.redis,
      ...(options.hangThresholdMs ? { thresholdMs: options.hangThresholdMs } : {}),
      connected: () => this.redis.status === 'ready',
      onHang: () => { this.options.logger.warn('cache Redis hangs: reads skip it until it answers'); this.breaker.trip(); },
      shouldProbe: () => this.breaker.state !== 'closed',
      probe: () => pingRedis(this.redis),
      onAnswer: () => { this.breaker.success(); void this.settleOwed(); },
    });
    // A dropped connection opens the breaker at once, so no request waits for a timeout. The server may come
    // back restarted or rolled back: the generation is checked again before anything is served.
    options.redis.on('close', () => { this.generation.reset(); this.noteOutage(); this.breaker.trip(); });
    // A new connection passed its ready check: Redis is back, no need to wait out the breaker.
    options.redis.on('ready', () => { this.generation.reset(); this.breaker.success(); void this.generation.ensure(); void this.settleOwed(); });
    const onOpen = this.breaker.onOpen;
    this.breaker.onOpen = () => { this.noteOutage(); onOpen?.(); };
    if (isCluster(options.redis)) this.watchCluster(options.redis);
  }

  /**
   * A cluster stays `ready` when one master dies: its node's connection ending is the outage signal. What that
   * master acknowledged but had not yet replicated is lost when its replica takes over (tag tokens rolled back),
   * so the outbox is replayed before anything is served again, as after a standalone server's crash.
   */
  private watchCluster(cluster: Cluster): void {
    // Only a connection that was up counts: during a failover the client keeps dialling the dead master, and
    // each failed attempt must not start another replay.
    const served = new WeakSet<Redis>();
    const watch = (node: Redis) => {
      if (node.status === 'ready') served.add(node);
      node.once('ready', () => served.add(node));
    };
    cluster.nodes().forEach(watch);
    cluster.on('+node', watch);
    // The tags' master may have been replaced by a replica (another run_id, maybe missing acknowledged writes).
    cluster.on('-node', (node: Redis) => { if (served.has(node)) { this.generation.reset(); this.noteOutage(); } });
    // A new set of masters (a replica promoted): if the tags' master answers, close the breaker at once, as a
    // standalone connection's ready check does, rather than wait it out.
    let masters = '';
    cluster.on('refresh', () => {
      const now = cluster.nodes('master').map((n) => `${n.options.host}:${n.options.port}`).sort().join(',');
      if (now === masters) return;
      masters = now;
      this.generation.reset();
      if (this.breaker.state === 'closed') return;
      cluster.exists(this.tagKey('~probe')).then(() => { this.breaker.success(); void this.settleOwed(); }, () => undefined);
    });
  }

  private noteOutage(): void {
    this.replay?.note(this.lastOkAt);
  }

  get redis(): RedisClient {
    return this.options.redis;
  }

  /** Tag tokens live in one hash slot (`{<ns>:tags}`), so reading several is one MGET even on a cluster. */
  tagKey(tag: string): string {
    return `{${this.namespace}:tags}:${tag}`;
  }

  entryKey(key: string): string {
    return `${this.namespace}:${key}`;
  }

  get statsKey(): string {
    return `${this.namespace}:stats`;
  }

  /** The health probe: rejects when Redis (every master of a cluster) does not answer (quickly: the client never queues). */
  async ping(): Promise<void> {
    if (this.redis.status !== 'ready') throw new Error(`redis is ${this.redis.status}`);
    await pingRedis(this.redis);
  }

  /** True when Redis may be used right now (breaker closed or probing, nothing owed). */
  get available(): boolean {
    return this.owedTags.size === 0 && this.breaker.state !== 'open' && this.redis.status === 'ready';
  }

  /** Runs a Redis call through the breaker; undefined when skipped or failed. */
  private async guarded<T>(call: () => Promise<T>): Promise<T | undefined> {
    if (this.redis.status !== 'ready' || !this.breaker.allow()) return undefined;
    try {
      // No ioredis span per command: the cache.* spans around these calls say what they did, for less.
      const result = await this.watchdog.watch(context.with(suppressTracing(context.active()), call));
      // Redis hangs: the watchdog opened the breaker; this request reads the database.
      if (result === ABANDONED) return undefined;
      this.breaker.success();
      this.lastOkAt = Date.now();
      return result;
    } catch (error) {
      // A timeout right after this process stalled is the stall's, not Redis's: this call is lost (the
      // request reads the database), but the breaker stays closed for the next ones.
      if (isCommandTimeout(error) && loopStalledRecently()) this.breaker.forgive();
      else this.breaker.failure();
      this.options.logger.debug({ err: (error as Error).message }, 'cache call failed');
      return undefined;
    }
  }

  private timed<T>(operation: 'get' | 'set' | 'invalidate', work: Promise<T>): Promise<T> {
    if (!this.options.observe) return work;
    const started = performance.now();
    return work.finally(() => this.options.observe!(operation, (performance.now() - started) / 1_000));
  }

  /** One round trip: the entry and the current tokens of its tags. Missing tags get a first token. */
  lookup(key: string, tags: string[]): Promise<Lookup> {
    return this.timed('get', this.lookupNow(key, tags));
  }

  private async lookupNow(key: string, tags: string[]): Promise<Lookup> {
    if (this.owedTags.size > 0) {
      // While the breaker says Redis is out, the owed invalidations are retried in the background only: a read
      // must not wait on a hung server's timeout for them (it reads the database instead).
      if (this.breaker.state === 'open') {
        void this.settleOwed();
        return { state: 'unavailable' };
      }
      await this.settleOwed();
      if (this.owedTags.size > 0) return { state: 'unavailable' };
    }
    if (!(await this.generationChecked())) return { state: 'unavailable' };
    if (this.replay?.owed && (this.redis.status !== 'ready' || !(await this.replay.run()))) return { state: 'unavailable' };
    const generation = this.generation.value;
    const found = await this.guarded(async () => {
      // The generation is read with the tokens (same slot, one MGET): an entry of an older generation is a miss.
      const fields = [GENERATION_FIELD, ...tags];
      const keys = fields.map((t) => this.tagKey(t));
      const [raw, tokens] = await Promise.all([
        this.redis.getBuffer(this.entryKey(key)),
        Promise.all(chunked(keys).map((run) => this.redis.mget(...run))).then((runs) => runs.flat()),
      ]);
      const versions: Record<string, string> = {};
      const missing: number[] = [];
      fields.forEach((field, i) => {
        const token = tokens[i];
        if (token) versions[field] = token;
        else if (i > 0) missing.push(i);
      });
      // A tag never seen (or evicted, or expired) gets a fresh token; SET NX GET keeps a concurrent writer's token.
      await Promise.all(missing.map(async (i) => {
        const token = newToken();
        const previous = await this.redis.set(keys[i]!, token, 'PX', this.tokenTtlMs, 'NX', 'GET');
        versions[fields[i]!] = previous ?? token;
      }));
      return { raw, versions };
    });
    if (!found) return { state: 'unavailable' };
    if (found.versions[GENERATION_FIELD] !== generation) {
      // Another replica started a new generation (it saw the restart first), or the key is gone (DELETE /cache):
      // check again. The entry read was of another generation: a miss, filled under the one checked now (the
      // tokens were read before the fill reads its data, as always).
      this.generation.reset();
      const checked = await this.generation.ensure();
      return checked ? { state: 'miss', versions: { ...found.versions, [GENERATION_FIELD]: checked.value } } : { state: 'unavailable' };
    }
    const entry = decodeEntry(found.raw);
    if (!entry || ![GENERATION_FIELD, ...tags].every((t) => entry.header.t[t] === found.versions[t])) return { state: 'miss', versions: found.versions };
    if (entry.header.f >= Date.now()) return { state: 'hit', entry };
    return { state: 'expired', entry, versions: found.versions };
  }

  /** Stores a response with the tag tokens read before its data was; expires after TTL + grace. */
  async store(key: string, body: Buffer, contentType: string, versions: Record<string, string>, ttlSeconds: number): Promise<Entry | undefined> {
    return traced('cache.set', { 'cache.key': key, 'cache.ttl': ttlSeconds }, async () => {
      const header = { e: etagOf(body), f: Date.now() + ttlSeconds * 1_000, t: versions, c: contentType };
      const ok = await this.timed('set', this.guarded(() => this.redis.set(this.entryKey(key), encodeEntry(header, body), 'PX', ttlSeconds * 1_000 + this.graceMs)));
      return ok ? { header, body } : undefined;
    });
  }

  /**
   * Verifies the namespace generation after a (re)connection, before anything is served. A new one (Redis
   * restarted or rolled back) made every entry stored before a miss: no outbox replay is owed any more.
   */
  private async generationChecked(): Promise<boolean> {
    if (this.generation.value !== null) return true;
    if (this.redis.status !== 'ready' || !this.breaker.allow()) return false;
    const checked = await this.generation.ensure();
    if (!checked) {
      this.breaker.failure();
      return false;
    }
    this.breaker.success();
    if (checked.changed && this.replay?.owed) {
      this.replay.cancel();
      this.options.logger.info({ generation: checked.value }, 'cache Redis restarted or rolled back: new generation, nothing stored before is served');
    }
    return true;
  }

  /** Gives each tag a new, never-reused token (expiring with the longest entry), 500 tags per command. */
  private async setNewTokens(tags: string[]): Promise<void> {
    const setTokens = (this.redis as unknown as { crmSetTokens: SetTokensCommand }).crmSetTokens;
    for (const run of chunked(tags)) {
      await setTokens.call(this.redis, run.length, ...run.map((t) => this.tagKey(t)), this.tokenTtlMs, ...run.map(newToken));
      this.watchdog.heard();
    }
  }

  /** Invalidates tags: a new token each. Returns false when Redis could not be reached (the tags are then owed). */
  async invalidateTags(tags: string[]): Promise<boolean> {
    if (tags.length === 0) return true;
    const unique = [...new Set(tags)];
    return traced('cache.invalidate', tagAttributes(unique), async (span) => {
      const invalidate = () => this.setNewTokens(unique).then(() => true);
      const ok = (await this.timed('invalidate', this.guarded(invalidate))) ?? (await this.retryWrite(invalidate, span));
      span.setAttribute('cache.applied', Boolean(ok));
      if (!ok) {
        this.owe(unique);
        return false;
      }
      return true;
    });
  }

  /**
   * A write's invalidation failed: retries it, past the breaker, every 50 ms for up to `owedWaitMs`, on a cluster
   * after refreshing the slot map (a promoted replica this process has not heard of yet). Undefined when Redis
   * still fails: the write then answers with its invalidation owed.
   */
  private async retryWrite<T>(call: () => Promise<T>, span: Span): Promise<T | undefined> {
    const deadline = performance.now() + this.owedWaitMs;
    let attempts = 0;
    while (!this.closed) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      await Promise.all([delay(Math.min(left, WRITE_RETRY_MS)), this.refreshClusterView(left)]);
      attempts++;
      try {
        const result = await this.timed('invalidate', call());
        span.setAttribute('cache.retries', attempts);
        this.breaker.success();
        this.lastOkAt = Date.now();
        return result;
      } catch {
        // Redis still fails: try again until the deadline.
      }
    }
    span.setAttribute('cache.retries', attempts);
    return undefined;
  }

  /** On a cluster, asks the nodes again which master serves which slot (bounded by `withinMs`). */
  private refreshClusterView(withinMs: number): Promise<void> {
    const redis = this.redis;
    if (!isCluster(redis)) return Promise.resolve();
    return Promise.race([new Promise<void>((resolve) => redis.refreshSlotsCache(() => resolve())), delay(withinMs)]);
  }

  /**
   * Keeps a failed invalidation trying until Redis acknowledges it, ignoring the breaker: sent while the server
   * hangs, the command waits on the connection and runs on resume, ahead of any read sent after this write
   * answered; meanwhile this process serves nothing from the cache. (A dropped connection drops it for every
   * replica: those replay the outbox before using the cache again.)
   */
  private owe(tags: string[]): void {
    tags.forEach((t) => this.owedTags.add(t));
    this.options.logger.warn({ tags }, 'cache unreachable: invalidation owed until it returns');
    void this.settleOwed();
  }

  /**
   * Applies one committed event's invalidation, at most once whoever calls it (the write after its commit,
   * the worker, a replay): a marker set atomically with the new tokens makes repeats no-ops.
   * Not strict: a failure is owed by this process and undefined is returned. Strict (the worker): it throws,
   * so the job is retried.
   */
  async applyEvent(event: ReplayableEvent, options: { strict?: boolean } = {}): Promise<AppliedEvent | undefined> {
    const { eventId, tags } = event;
    const unique = [...new Set(tags)];
    return traced('cache.invalidate', { ...tagAttributes(unique), 'cache.event_id': eventId }, async (span) => {
      const marker = this.tagKey(`~applied:${eventId}@${Date.parse(event.occurredAt)}`);
      const apply = (this.redis as unknown as { crmApplyEvent: ApplyEventCommand }).crmApplyEvent;
      const runs = chunked(unique);
      // Chunk by chunk, in order: the first that finds the marker (applied already) ends it; the last sets it.
      const call = async () => {
        const now = Date.now();
        let result: [number, string] = [0, ''];
        for (const [i, run] of runs.entries()) {
          const keys = [marker, ...run.map((t) => this.tagKey(t))];
          result = await apply.call(this.redis, keys.length, ...keys, now, this.appliedMarkerMs, this.tokenTtlMs, i === runs.length - 1 ? 1 : 0, ...run.map(newToken));
          this.watchdog.heard();
          if (result[0] === 0) break;
        }
        return result;
      };
      // The worker (strict) throws instead: its job is retried, with backoff.
      const result = (await this.timed('invalidate', this.guarded(call))) ?? (options.strict ? undefined : await this.retryWrite(call, span));
      if (result) {
        // False when the event had been applied already (by the write, or an earlier delivery).
        span.setAttribute('cache.applied_now', result[0] === 1);
        return { applied: result[0] === 1, appliedAt: Number(result[1]) };
      }
      if (options.strict) throw new Error(`cache Redis unavailable (${this.redis.status}, breaker ${this.breaker.state})`);
      span.setAttribute('cache.owed', true);
      this.owe(unique);
      return undefined;
    });
  }

  /** Applies invalidations owed from an outage (retrying every 200 ms) before anything is served from the cache again. */
  private async settleOwed(): Promise<void> {
    if (this.owedTags.size === 0 || this.settling) return;
    this.settling = true;
    const tags = [...this.owedTags];
    try {
      if (this.redis.status !== 'ready') throw new Error(`redis is ${this.redis.status}`);
      await this.setNewTokens(tags);
      tags.forEach((t) => this.owedTags.delete(t));
      this.breaker.success();
      this.options.logger.info({ tags }, 'owed cache invalidations applied');
    } catch {
      this.breaker.failure();
      void this.refreshClusterView(OWED_RETRY_MS);
    } finally {
      this.settling = false;
    }
    if (this.owedTags.size > 0 && !this.closed) setTimeout(() => void this.settleOwed(), OWED_RETRY_MS).unref();
  }

  /**
   * Takes the right to fill `key` for this instance. Only one instance across all replicas gets it;
   * the others wait for its entry (`waitForFill`) instead of querying the database too.
   */
  async acquireFill(key: string): Promise<string | null | undefined> {
    const token = newToken();
    const ok = await this.guarded(() => this.redis.set(`${this.entryKey(key)}:fill`, token, 'PX', this.fillLockMs, 'NX'));
    if (ok === undefined) return undefined; // Redis unavailable: fill without coordination
    return ok === 'OK' ? token : null;
  }

  async releaseFill(key: string, token: string): Promise<void> {
    // Delete only our own lock (it may have expired and been taken by another instance).
    await this.guarded(() => this.redis.eval(
      "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0",
      1, `${this.entryKey(key)}:fill`, token,
    ));
  }

  /** Polls for the entry another instance is filling; null after `fillWaitMs` or when the fill lock is gone without an entry. */
  async waitForFill(key: string, tags: string[]): Promise<Entry | null> {
    const deadline = Date.now() + this.fillWaitMs;
    let delay = 5;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 50);
      // The lock first, then the entry: a filler stores before it releases, so a lock seen gone means the entry
      // (if any) is already there for the lookup after it. The other order gives up on a fill that ended between
      // the two reads, and every waiter polling in step with it reads the database (entry and lock sit on
      // different masters of a cluster, which widens that gap).
      const lockHeld = await this.guarded(() => this.redis.exists(`${this.entryKey(key)}:fill`));
      const found = await this.lookup(key, tags);
      if (found.state === 'hit') return found.entry;
      if (found.state === 'unavailable' || !lockHeld) return null;
    }
    return null;
  }

  /**
   * Deletes this application's keys under `<prefix>` (admin path, never a request path): SCAN in batches, UNLINK.
   * On a cluster, on each master (SCAN sees one node's keys), one key per UNLINK (a batch would span slots).
   */
  async deletePrefix(prefix = ''): Promise<number> {
    let deleted = 0;
    // `organisations` matches `organisations:*` and nothing like `organisations-x`; the stats hash is never deleted.
    const patterns = prefix ? [`${this.namespace}:${prefix}:*`] : [`${this.namespace}:*`, `{${this.namespace}:tags}:*`];
    const cluster = isCluster(this.redis);
    for (const node of dataNodes(this.redis)) {
      for (const match of patterns) {
        let cursor = '0';
        do {
          const [next, keys] = await node.scan(cursor, 'MATCH', match, 'COUNT', 500);
          cursor = next;
          const deletable = keys.filter((k) => k !== this.statsKey);
          if (deletable.length === 0) continue;
          deleted += cluster
            ? (await Promise.all(deletable.map((k) => node.unlink(k)))).reduce((a, b) => a + b, 0)
            : await node.unlink(...deletable);
        } while (cursor !== '0');
      }
    }
    return deleted;
  }

  /**
   * System-wide stats: counters from every replica, plus Redis keys and memory. On a cluster, keys, memory and
   * evictions are summed over the masters (replicas hold copies). keysCount is DBSIZE: every key of the cache
   * Redis, as on a single server; counting only this namespace would take a SCAN of the whole keyspace per call.
   */
  async readStats(): Promise<CacheStats> {
    await this.stats.flush();
    const counters = (await this.guarded(() => this.redis.hgetall(this.statsKey))) ?? null;
    const nodes = dataNodes(this.redis);
    const perNode = await this.guarded(() => Promise.all(nodes.map((node) => Promise.all([node.info('memory'), node.info('stats'), node.dbsize()]))));
    const byPrefix: Record<string, { hits: number; misses: number; hitRate: number }> = {};
    let hits = 0;
    let misses = 0;
    for (const [field, value] of Object.entries(counters ?? {})) {
      const split = field.lastIndexOf(':');
      const prefix = field.slice(0, split);
      const kind = field.slice(split + 1);
      const entry = (byPrefix[prefix] ??= { hits: 0, misses: 0, hitRate: 0 });
      if (kind === 'hit') { entry.hits += Number(value); hits += Number(value); }
      if (kind === 'miss') { entry.misses += Number(value); misses += Number(value); }
    }
    for (const entry of Object.values(byPrefix)) entry.hitRate = rate(entry.hits, entry.misses);
    const field = (info: string | undefined, name: string) => info?.match(new RegExp(`^${name}:(.*)$`, 'm'))?.[1]?.trim();
    const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
    const memoryUsedBytes = perNode ? sum(perNode.map(([memory]) => Number(field(memory, 'used_memory') ?? 0))) : 0;
    return {
      available: counters !== null,
      hits,
      misses,
      totalRequests: hits + misses,
      hitRate: rate(hits, misses),
      keysCount: perNode ? sum(perNode.map(([, , keys]) => keys)) : 0,
      memoryUsed: !perNode ? 'unknown' : perNode.length === 1 ? (field(perNode[0]![0], 'used_memory_human') ?? 'unknown') : humanBytes(memoryUsedBytes),
      memoryUsedBytes,
      evictedKeys: perNode ? sum(perNode.map(([, stats]) => Number(field(stats, 'evicted_keys') ?? 0))) : 0,
      byPrefix,
    };
  }

  record(prefix: string, result: CacheResult): void {
    this.stats.record(prefix, result);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watchdog.stop();
    this.stats.stop();
    await this.stats.flush();
  }
}

export interface CacheStats {
  available: boolean;
  hits: number;
  misses: number;
  totalRequests: number;
  hitRate: number;
  keysCount: number;
  memoryUsed: string;
  memoryUsedBytes: number;
  evictedKeys: number;
  byPrefix: Record<string, { hits: number; misses: number; hitRate: number }>;
}

/** Bytes as Redis writes `used_memory_human` (`1.05M`). */
function humanBytes(bytes: number): string {
  if (bytes < 1_024) return `${bytes}B`;
  const units = ['K', 'M', 'G', 'T', 'P'];
  let value = bytes / 1_024;
  let unit = 0;
  while (value >= 1_024 && unit < units.length - 1) { value /= 1_024; unit++; }
  return `${value.toFixed(2)}${units[unit]}`;
}

const rate = (hits: number, misses: number) => (hits + misses === 0 ? 0 : Math.round((hits / (hits + misses)) * 10_000) / 100);

/** Span attributes naming invalidated tags: the first 100 (an organisation's people can be tens of thousands) and how many. */
function tagAttributes(tags: string[]): Record<string, string[] | number> {
  return { 'cache.tags': tags.length > 100 ? tags.slice(0, 100) : tags, 'cache.tags_count': tags.length };
}

/** A strong ETag: the body's hash. */
export function etagOf(body: Buffer): string {
  return `"${createHash('sha1').update(body).digest('base64url')}"`;
}
