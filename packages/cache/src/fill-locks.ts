/**
 * Fill locks: one instance across all replicas fills a missing key (reads the database, stores the entry); the
 * others wait for its entry instead of querying the database too. A lock is `SET NX PX` with a random owner token,
 * released only by its owner; Redis unavailable, each request fills without coordination.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisClient } from '@crm/redis';
import type { Entry } from './entry';
import type { RedisGuard } from './guard';
import type { CacheKeys } from './keys';
import type { Lookup } from './lookup';
import { luaScript } from './lua';
import { newToken } from './tokens';

/** Who fills a key: this request (with the token to release it), another one, or nobody knows (Redis unavailable). */
export type FillLock = { state: 'acquired'; token: string } | { state: 'held' } | { state: 'unavailable' };

const RELEASE_FILL = luaScript('release-fill');

/** What fill locks work with. */
export interface FillLocksOptions {
  redis: RedisClient;
  keys: CacheKeys;
  guard: RedisGuard;
  /** How long one instance holds the right to fill a missing key. */
  lockMs: number;
  /** How long a request waits for another instance's fill before reading the database itself. */
  waitMs: number;
  /** The cache's lookup (what a waiter polls for the entry). */
  lookup: (key: string, tags: string[]) => Promise<Lookup>;
}

/** Takes, releases and waits on fill locks (see the opening comment). */
export class FillLocks {
  constructor(private readonly options: FillLocksOptions) {}

  /** Takes the right to fill `key` for this instance; `held` when another instance has it. */
  async acquire(key: string): Promise<FillLock> {
    const { redis, keys, guard, lockMs } = this.options;
    const token = newToken();
    const set = await guard.run(() => redis.set(keys.fillLock(key), token, 'PX', lockMs, 'NX'));
    if (!set.ok) return { state: 'unavailable' }; // fill without coordination
    return set.value === 'OK' ? { state: 'acquired', token } : { state: 'held' };
  }

  /** Deletes the lock if it is still ours (it may have expired and been taken by another instance). */
  async release(key: string, token: string): Promise<void> {
    const { redis, keys, guard } = this.options;
    await guard.run(() => redis.eval(RELEASE_FILL, 1, keys.fillLock(key), token));
  }

  /** Polls for the entry another instance is filling; null after `waitMs` or when the fill lock is gone without an entry. */
  async waitFor(key: string, tags: string[]): Promise<Entry | null> {
    const { redis, keys, guard, waitMs } = this.options;
    const deadline = Date.now() + waitMs;
    let pause = 5;
    while (Date.now() < deadline) {
      await sleep(pause);
      pause = Math.min(pause * 2, 50);
      // The lock first, then the entry: a filler stores before it releases, so a lock seen gone means the entry
      // (if any) is already there for the lookup after it. The other order gives up on a fill that ended between
      // the two reads, and every waiter polling in step with it reads the database (entry and lock sit on
      // different masters of a cluster, which widens that gap).
      const lock = await guard.run(() => redis.exists(keys.fillLock(key)));
      const found = await this.options.lookup(key, tags);
      if (found.state === 'hit') return found.entry;
      if (found.state === 'unavailable' || !lock.ok || !lock.value) return null;
    }
    return null;
  }
}
