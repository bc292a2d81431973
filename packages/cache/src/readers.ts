/**
 * Read-driven refills: who read which entries recently, per tag, so that after a write the worker refills the
 * invalidated entries clients were reading, ahead of their next read. A reader is what the worker needs to refill an
 * entry (`<service> <path?query>`, see @crm/jobs readerOf). Everything lives in the tags' slot (keys.ts): a bounded,
 * expiring sorted set of readers per tag, and per reader a burst marker and when (and by whom) its entry was last
 * stored: a refill is taken only for an entry read again since, so refills cost no more than the misses they save.
 *
 * Counted in the stats hash: refills stored (done), refills whose entry was hit before the next invalidation
 * (used, once across replicas), refills invalidated unread (wasted, when the worker next takes that reader).
 */
import type { RedisClient } from '@crm/redis';
import { chunked } from './chunks';
import type { RedisGuard } from './guard';
import type { CacheKeys } from './keys';
import { loadScript, runScript } from './lua';
import type { StatsRecorder } from './stats';

const RECORD = loadScript('record-reader');
const TAKE = loadScript('take-readers');
const MARK = loadScript('mark-refilled');

/** Readers this process remembers having recorded (throttle) or counted (used); past it, it forgets them all. */
const REMEMBERED = 10_000;

/** How a ReaderLog is set up; every default but the first four suits production. */
export interface ReaderLogOptions {
  redis: RedisClient;
  keys: CacheKeys;
  guard: RedisGuard;
  stats: StatsRecorder;
  /** Readers kept per tag, the newest (default 64). */
  keepPerTag?: number;
  /** A tag's readers expire this long after its last recorded read, and so do refill markers (default 10 minutes). */
  idleMs?: number;
  /**
   * A reader is refilled at most once per burst of writes: from the write that takes it until its refill starts (the
   * writes meanwhile are all covered by that refill), and at most this long (default 2 s) if the refill never starts.
   */
  burstMs?: number;
  /** This process records a reader's hits at most once per this long (default 5 s); fills and first hits of a refill always. */
  recordEveryMs?: number;
}

/**
 * A client's read of an entry: a fill that read the database and stored it, a read of the database that stored
 * nothing (a write raced it), or a hit on an entry stored at `storedAt` (epoch ms; unknown for old entries).
 */
export type ClientRead = { kind: 'fill' } | { kind: 'unstored' } | { kind: 'hit'; storedAt: number | undefined };

/** What taking an event's readers gave: the readers to refill, and how many refills were found wasted. */
export interface TakenReaders {
  readers: string[];
  wasted: number;
}

/** The recent readers of each tag, and the refill counters (see the opening comment). */
export class ReaderLog {
  private readonly keepPerTag: number;
  private readonly idleMs: number;
  private readonly burstMs: number;
  private readonly recordEveryMs: number;
  private readonly lastRecorded = new Map<string, number>();
  private readonly used = new Set<string>();

  constructor(private readonly options: ReaderLogOptions) {
    this.keepPerTag = options.keepPerTag ?? 64;
    this.idleMs = options.idleMs ?? 10 * 60_000;
    this.burstMs = options.burstMs ?? 2_000;
    this.recordEveryMs = options.recordEveryMs ?? 5_000;
  }

  /**
   * Notes, fire-and-forget, that a client read `reader`'s entry (tagged `tags`). A hot entry does not write on every
   * hit: this process records a reader at most once per `recordEveryMs`, except a read of the database (which cost far
   * more) and the first hit it sees after the entry was stored (which must be newer than the store's marker, or the
   * reader would look unread and go without refills).
   */
  record(reader: string, tags: string[], read: ClientRead): void {
    const now = Date.now();
    const last = this.lastRecorded.get(reader) ?? -Infinity;
    const fill = read.kind === 'fill';
    const firstSinceStored = read.kind === 'hit' && read.storedAt !== undefined && read.storedAt >= last;
    if (read.kind === 'hit' && !firstSinceStored && now - last < this.recordEveryMs) return;
    if (this.lastRecorded.size >= REMEMBERED) this.lastRecorded.clear();
    // After a fill, the next hit is the first since the store: never throttled.
    if (fill) this.lastRecorded.delete(reader);
    else this.lastRecorded.set(reader, now);
    const { redis, keys, guard } = this.options;
    void guard.run(async () => {
      for (const [i, run] of chunked(tags).entries()) {
        // A fill also sets the reader's stored marker, with its first chunk (same slot, one script).
        const marker = fill && i === 0;
        await runScript(redis, RECORD, [...run.map((t) => keys.readers(t)), ...(marker ? [keys.stored(reader)] : [])],
          [reader, this.keepPerTag, this.idleMs, marker ? '1' : '0']);
      }
    });
  }

  /**
   * A refill of `reader`'s entry is about to look its entry up: it will read the database after every write taken so
   * far, so the burst those writes made ends here, and the next write takes the reader again (see take-readers.lua).
   * Waited for, so the lookup comes after it; Redis unavailable: nothing to do (the marker expires with the burst).
   */
  async refillStarts(reader: string): Promise<void> {
    const { redis, keys, guard } = this.options;
    await guard.run(() => redis.del(keys.taken(reader)));
  }

  /**
   * A refill of `reader`'s entry is about to be stored: notes when, before the store, so that any read of the refilled
   * entry is recorded after it. Resolves false when Redis did not take it (the refill is then not stored).
   */
  async markRefilled(reader: string): Promise<boolean> {
    const { redis, keys, guard } = this.options;
    const marked = await guard.run(() => runScript(redis, MARK, [keys.stored(reader)], [this.idleMs]));
    return marked.ok;
  }

  /** A refill was stored. */
  countDone(): void {
    this.options.stats.recordRefill('done');
  }

  /**
   * A client's hit on an entry of `reader` stored at `storedAt`: recorded (throttled, see record), and when the entry
   * is a refill (`refill`), the first hit on it in this process counts the refill as used if it is the first across
   * all replicas (one SET NX): resolves true then.
   */
  async recordHit(reader: string, tags: string[], storedAt: number | undefined, refill?: { key: string; id: string }): Promise<boolean> {
    this.record(reader, tags, { kind: 'hit', storedAt });
    if (!refill || this.used.has(refill.id)) return false;
    if (this.used.size >= REMEMBERED) this.used.clear();
    this.used.add(refill.id);
    const { redis, keys, guard } = this.options;
    const set = await guard.run(() => redis.set(keys.refillUsed(refill.key, refill.id), '1', 'PX', this.idleMs, 'NX'));
    const first = set.ok && set.value === 'OK';
    if (first) this.options.stats.recordRefill('used');
    return first;
  }

  /**
   * The worker, after applying an event: takes the readers of its tags to refill (at most `cap`, newest first, each
   * at most once per burst), and counts the refills found invalidated unread. Redis unavailable: none (the fixed
   * warm-up still runs; a refill is an optimisation).
   */
  async take(tags: string[], cap: number): Promise<TakenReaders> {
    const { redis, keys, guard } = this.options;
    const unique = [...new Set(tags)];
    const taken = await guard.run(async () => {
      const readers: string[] = [];
      let wasted = 0;
      for (const run of chunked(unique)) {
        const answer = await runScript<[number, ...string[]]>(redis, TAKE, run.map((t) => keys.readers(t)), [keys.readerMarkers, this.burstMs, cap - readers.length]);
        wasted += Number(answer[0]);
        readers.push(...answer.slice(1).map(String));
        guard.heard();
      }
      return { readers, wasted };
    });
    if (!taken.ok) return { readers: [], wasted: 0 };
    if (taken.value.wasted > 0) this.options.stats.recordRefill('wasted', taken.value.wasted);
    return taken.value;
  }
}
