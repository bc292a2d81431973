import type { Logger } from '@crm/telemetry';

/** An event to apply: its id, when it committed, and the tags it invalidates. */
export interface ReplayableEvent {
  eventId: string;
  /** With the id, names the event even if ids restart (a restored or truncated outbox). */
  occurredAt: string;
  tags: string[];
  /** The write's trace context (W3C headers), when it was traced: the invalidation's span links to it. */
  trace?: Record<string, string> | null;
}

/** Which page of the events committed since a moment to read: those after `afterId` (by id), at most `limit`. */
export interface ReplayPage {
  afterId: string | null;
  limit: number;
}

/** Reads one page of the outbox: the events committed at or after `since` with an id above `page.afterId`, by id. */
export type ReplaySource = (since: Date, page: ReplayPage) => Promise<ReplayableEvent[]>;

/** Writes that committed just before an outage may not have invalidated yet: replay from this much earlier. */
export const REPLAY_MARGIN_MS = 60_000;
const REPLAY_PAGE_SIZE = 1_000;
const RETRY_MS = 1_000;

/**
 * The outbox replay a process owes after it lost a Redis that did not restart (a hang, a dropped connection):
 * another replica's write may have failed to invalidate meanwhile, and its entries must not come back to life.
 * (A restarted or rolled-back Redis needs none: the generation bump makes everything stored before a miss.)
 * Paged by id, resumable: a failing page is retried from where it stopped, and an outage during the replay
 * extends it (another pass from that outage's start) instead of being forgotten.
 */
export class OutageReplay {
  /** The pass under way: events since `since`, read up to `afterId`. */
  private pass: { since: number; afterId: string | null } | null = null;
  /** An outage noted while a pass runs: replayed by the next pass. */
  private nextSince: number | null = null;
  private failedAt = 0;
  private running: Promise<boolean> | null = null;

  constructor(
    private readonly source: ReplaySource,
    private readonly apply: (event: ReplayableEvent) => Promise<unknown>,
    private readonly logger: Logger,
    private readonly pageSize = REPLAY_PAGE_SIZE,
  ) {}

  /** True while a replay is owed. */
  get owed(): boolean {
    return this.pass !== null || this.nextSince !== null;
  }

  /** An outage: Redis last answered at `lastOkAt`. */
  note(lastOkAt: number): void {
    const since = lastOkAt - REPLAY_MARGIN_MS;
    if (this.running) this.nextSince = Math.min(this.nextSince ?? Infinity, since);
    else if (this.pass) this.pass = { since: Math.min(this.pass.since, since), afterId: since < this.pass.since ? null : this.pass.afterId };
    else this.pass = { since, afterId: null };
  }

  /** Nothing is owed any more (a new generation made everything stored before a miss). */
  cancel(): void {
    this.pass = null;
    this.nextSince = null;
  }

  /** Runs the owed replay (once, shared by concurrent callers). True when nothing is owed any more. */
  run(): Promise<boolean> {
    if (!this.owed) return Promise.resolve(true);
    if (Date.now() - this.failedAt < RETRY_MS) return Promise.resolve(false);
    this.running ??= this.replay().finally(() => { this.running = null; });
    return this.running;
  }

  private async replay(): Promise<boolean> {
    let applied = 0;
    try {
      while (this.owed) {
        if (!this.pass) {
          this.pass = { since: this.nextSince!, afterId: null };
          this.nextSince = null;
        }
        const pass = this.pass;
        const events = await this.source(new Date(pass.since), { afterId: pass.afterId, limit: this.pageSize });
        await Promise.all(events.map((e) => this.apply(e)));
        applied += events.length;
        const last = events[events.length - 1]?.eventId ?? null;
        if (this.pass !== pass) continue; // cancelled meanwhile
        // A short page (or one that does not move on) is the last of this pass.
        if (events.length < this.pageSize || last === null || last === pass.afterId) this.pass = null;
        else pass.afterId = last;
      }
      this.logger.info({ events: applied }, 'cache back: events since the outage re-applied');
      return true;
    } catch (error) {
      this.failedAt = Date.now();
      this.logger.warn({ err: (error as Error).message, applied }, 'cache replay after an outage failed; retrying from where it stopped');
      return false;
    }
  }
}
