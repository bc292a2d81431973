/**
 * Cache statistics: hits and misses counted per prefix by every replica into one Redis hash, and the system-wide
 * view the stats route shows (those counters plus keys, memory and evictions from Redis INFO and DBSIZE).
 */
import { dataNodes, type RedisClient } from '@crm/redis';
import type { RedisGuard } from './guard';

/** How a cached route answered (X-Cache); `error` when the cache was unavailable. */
export type CacheResult = 'hit' | 'miss' | 'stale' | 'bypass' | 'error';

/** Read-driven refills (readers.ts): stored, first hit before the next invalidation, invalidated unread. */
export type RefillCount = 'done' | 'used' | 'wasted';

/** The stats hash's fields of the refill counters (`~` sorts them apart from the `<prefix>:<result>` fields). */
const REFILL_FIELD = '~refills:';

/**
 * Counts hits and misses per prefix in memory and adds them to one Redis hash every second
 * (one pipelined round trip per flush, never one per request), so counts are system-wide. One key: on a
 * cluster the pipeline goes to one master.
 */
export class StatsRecorder {
  private pending = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly redis: RedisClient, readonly statsKey: string, flushMs = 1_000) {
    this.timer = setInterval(() => void this.flush(), flushMs);
    this.timer.unref();
  }

  /** Counts one result (a stale answer counts as a hit; bypass and error are not lookups). */
  record(prefix: string, result: CacheResult): void {
    if (result !== 'hit' && result !== 'miss' && result !== 'stale') return;
    const field = `${prefix}:${result === 'stale' ? 'hit' : result}`;
    this.pending.set(field, (this.pending.get(field) ?? 0) + 1);
  }

  /** Counts refills (see RefillCount). */
  recordRefill(kind: RefillCount, n = 1): void {
    const field = `${REFILL_FIELD}${kind}`;
    this.pending.set(field, (this.pending.get(field) ?? 0) + n);
  }

  /** Counts the consistency auditor's work (system-wide, like hits: see AuditorCounts). */
  recordAudit(kind: keyof AuditorCounts, n = 1): void {
    const field = `${AUDITOR_FIELD}${kind}`;
    this.pending.set(field, (this.pending.get(field) ?? 0) + n);
  }

  /** Sends what is pending; on failure keeps it for the next flush, so no count is lost. */
  async flush(): Promise<void> {
    if (this.pending.size === 0 || this.redis.status !== 'ready') return;
    const batch = this.pending;
    this.pending = new Map();
    const pipeline = this.redis.pipeline();
    for (const [field, n] of batch) pipeline.hincrby(this.statsKey, field, n);
    try {
      const results = await pipeline.exec();
      if (results?.some(([error]) => error)) throw new Error('stats flush failed');
    } catch {
      for (const [field, n] of batch) this.pending.set(field, (this.pending.get(field) ?? 0) + n);
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** The stats hash's fields of the consistency auditor (`~` cannot start a prefix, so none collides with `<prefix>:hit`). */
const AUDITOR_FIELD = '~auditor:';

/**
 * The consistency auditor's counters, from every worker: entries compared with a fresh read of their route, and
 * those found to differ while still valid (each also counted in `cache_inconsistent_total{prefix}`).
 */
export interface AuditorCounts {
  checks: number;
  inconsistencies: number;
}

/** The stats route's answer. */
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
  /** Read-driven refills, system-wide (see RefillCount). */
  refills: Record<RefillCount, number>;
  auditor: AuditorCounts;
}

/**
 * System-wide stats: counters from every replica, plus Redis keys and memory. On a cluster, keys, memory and
 * evictions are summed over the masters (replicas hold copies). keysCount is DBSIZE: every key of the cache
 * Redis, as on a single server; counting only this namespace would take a SCAN of the whole keyspace per call.
 */
export async function readStats(redis: RedisClient, guard: RedisGuard, recorder: StatsRecorder): Promise<CacheStats> {
  await recorder.flush();
  const read = await guard.run(() => redis.hgetall(recorder.statsKey));
  const counters = read.ok ? read.value : null;
  const nodes = dataNodes(redis);
  const infos = await guard.run(() => Promise.all(nodes.map((node) => Promise.all([node.info('memory'), node.info('stats'), node.dbsize()]))));
  const perNode = infos.ok ? infos.value : undefined;
  const byPrefix: CacheStats['byPrefix'] = {};
  let hits = 0;
  let misses = 0;
  const refills: CacheStats['refills'] = { done: 0, used: 0, wasted: 0 };
  const auditor: AuditorCounts = { checks: 0, inconsistencies: 0 };
  for (const [field, value] of Object.entries(counters ?? {})) {
    if (field.startsWith(REFILL_FIELD)) {
      const kind = field.slice(REFILL_FIELD.length);
      if (kind === 'done' || kind === 'used' || kind === 'wasted') refills[kind] += Number(value);
      continue;
    }
    if (field.startsWith(AUDITOR_FIELD)) {
      const kind = field.slice(AUDITOR_FIELD.length);
      if (kind === 'checks' || kind === 'inconsistencies') auditor[kind] += Number(value);
      continue;
    }
    const split = field.lastIndexOf(':');
    const prefix = field.slice(0, split);
    const kind = field.slice(split + 1);
    const entry = (byPrefix[prefix] ??= { hits: 0, misses: 0, hitRate: 0 });
    if (kind === 'hit') { entry.hits += Number(value); hits += Number(value); }
    if (kind === 'miss') { entry.misses += Number(value); misses += Number(value); }
  }
  for (const entry of Object.values(byPrefix)) entry.hitRate = rate(entry.hits, entry.misses);
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  const memoryUsedBytes = perNode ? sum(perNode.map(([memory]) => Number(infoField(memory, 'used_memory') ?? 0))) : 0;
  return {
    available: counters !== null,
    hits,
    misses,
    totalRequests: hits + misses,
    hitRate: rate(hits, misses),
    keysCount: perNode ? sum(perNode.map(([, , keys]) => keys)) : 0,
    memoryUsed: !perNode ? 'unknown' : perNode.length === 1 ? (infoField(perNode[0]![0], 'used_memory_human') ?? 'unknown') : humanBytes(memoryUsedBytes),
    memoryUsedBytes,
    evictedKeys: perNode ? sum(perNode.map(([, stats]) => Number(infoField(stats, 'evicted_keys') ?? 0))) : 0,
    byPrefix,
    refills,
    auditor,
  };
}

/** One field of an INFO section (`used_memory:1234`), or undefined. */
function infoField(info: string | undefined, name: string): string | undefined {
  return info?.match(new RegExp(`^${name}:(.*)$`, 'm'))?.[1]?.trim();
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

/** Hits as a percentage of lookups, two decimals. */
const rate = (hits: number, misses: number) => (hits + misses === 0 ? 0 : Math.round((hits / (hits + misses)) * 10_000) / 100);
