import type { RedisClient } from '@crm/redis';

export type CacheResult = 'hit' | 'miss' | 'stale' | 'bypass' | 'error';

/**
 * Counts hits and misses per prefix in memory and adds them to one Redis hash every second
 * (one pipelined round trip per flush, never one per request), so counts are system-wide. One key: on a
 * cluster the pipeline goes to one master.
 */
export class StatsRecorder {
  private pending = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly redis: RedisClient, private readonly statsKey: string, flushMs = 1_000) {
    this.timer = setInterval(() => void this.flush(), flushMs);
    this.timer.unref();
  }

  record(prefix: string, result: CacheResult): void {
    if (result !== 'hit' && result !== 'miss' && result !== 'stale') return;
    const field = `${prefix}:${result === 'stale' ? 'hit' : result}`;
    this.pending.set(field, (this.pending.get(field) ?? 0) + 1);
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
