/**
 * Invalidation by tag tokens: one committed event's tags get new tokens at most once, whoever applies it (the
 * write after its commit, the worker, a replay), through a script that sets a marker with the last chunk. The write
 * path retries what Redis did not take, then owes it; the worker's variant throws instead, so its job is retried.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Span } from '@opentelemetry/api';
import type { RedisClient } from '@crm/redis';
import { chunked } from './chunks';
import type { Guarded, RedisGuard } from './guard';
import type { CacheKeys } from './keys';
import { loadScript, runScript } from './lua';
import { tagAttributes, traced, type Timed } from './observe';
import type { ReplayableEvent } from './replay';
import { tokenSuffix, UNREAD_TOKEN_MS } from './tokens';
import { linkTo, spanRef, WRITE_TRACE_MS } from './trace-links';

/**
 * An event's invalidation done, by this call (`applied`) or an earlier one (`already-applied`), at `appliedAt` (epoch ms).
 * `invalidatedTags`: how many of the event's tags already had a token, so a live entry may have depended on them (a
 * reader's first token, or a write's: a write's to a tag nobody read lives a minute, for the fills in flight); the others
 * got a short-lived one. With no reverse index, a tag stands for the entries stored under it: they are not counted.
 */
export type AppliedEvent =
  | { state: 'applied'; appliedAt: number; invalidatedTags: number }
  | { state: 'already-applied'; appliedAt: number };

/** What the write path's application did: done, or owed by this process until Redis takes it. */
export type EventApplication = AppliedEvent | { state: 'owed' };

const APPLY_EVENT = loadScript('apply-event');
const SET_TOKENS = loadScript('set-tokens');
/**
 * The apply-event script's answer: 1, now and how many of the chunk's tags had a token when applied now; 0 and when
 * it was when applied before.
 */
type ScriptAnswer = [1, string, number] | [0, string];

/** Pause between a write's retries of its invalidation (see owedWaitMs). */
const WRITE_RETRY_MS = 50;

/** What invalidation works with. */
export interface InvalidationOptions {
  redis: RedisClient;
  keys: CacheKeys;
  guard: RedisGuard;
  timed: Timed;
  /** How long an applied-event marker is kept. */
  appliedMarkerMs: number;
  /** How long a tag token lives (the longest entry plus grace). */
  tokenTtlMs: number;
  /** How long a write retries an invalidation Redis did not take before it answers with it owed. */
  owedWaitMs: number;
  /** Tags Redis did not take: owed by this process until it does. */
  owe: (tags: string[]) => void;
  /** Told, for each event this process applies now, how many of its tags had a token (see AppliedEvent). */
  countInvalidated?: (tags: number) => void;
}

/** Applies events' invalidations and sets new tokens (see the opening comment). */
export class Invalidation {
  constructor(private readonly options: InvalidationOptions) {}

  /** The write path's: on failure, retries for up to `owedWaitMs`, then owes the tags. */
  apply(event: ReplayableEvent): Promise<EventApplication> {
    return this.applying(event, async (call, span, tags) => {
      const first = await this.options.timed('invalidate', this.options.guard.run(call));
      const result = first.ok ? first : await this.retryWrite(call, span);
      if (result.ok) return this.applied(result.value, span);
      span.setAttribute('cache.owed', true);
      this.options.owe(tags);
      return { state: 'owed' };
    });
  }

  /** The worker's: on failure, throws CacheUnavailableError (its job is retried, with backoff). */
  applyOrThrow(event: ReplayableEvent): Promise<AppliedEvent> {
    return this.applying(event, async (call, span) => {
      const result = await this.options.timed('invalidate', this.options.guard.run(call));
      if (result.ok) return this.applied(result.value, span);
      throw this.options.guard.unavailable(result.cause);
    });
  }

  /** Gives each tag a new, never-reused token (expiring with the longest entry), 500 tags per command. */
  async setNewTokens(tags: string[]): Promise<void> {
    const { redis, keys, tokenTtlMs } = this.options;
    for (const run of chunked(tags)) {
      await runScript(redis, SET_TOKENS, [keys.sequence, ...run.map((t) => keys.tag(t))], [tokenTtlMs, UNREAD_TOKEN_MS, ...run.map(tokenSuffix)]);
      this.options.guard.heard();
    }
  }

  /** Runs `settle` in the event's `cache.invalidate` span with the call that applies it, chunk by chunk. */
  private applying<R>(event: ReplayableEvent, settle: (call: () => Promise<ScriptAnswer>, span: Span, tags: string[]) => Promise<R>): Promise<R> {
    const { redis, keys, guard, appliedMarkerMs, tokenTtlMs } = this.options;
    const { eventId, tags } = event;
    const unique = [...new Set(tags)];
    return traced('cache.invalidate', { ...tagAttributes(unique), 'cache.event_id': eventId }, (span) => {
      // Applied away from the write (the worker, a replay): link to the write's span, which the event carries.
      const write = linkTo(event.trace?.traceparent, 'write');
      if (write) span.addLink(write);
      // The span fills after this write link to (trace-links.ts): the write's own, or this one in its trace.
      const writeSpan = write ? event.trace!.traceparent! : spanRef(span) ?? '';
      const marker = keys.applied(eventId, Date.parse(event.occurredAt));
      const runs = chunked(unique);
      // Chunk by chunk, in order: the first that finds the marker (applied already) ends it; the last sets it.
      const call = async (): Promise<ScriptAnswer> => {
        const now = Date.now();
        let result: ScriptAnswer = [0, ''];
        let invalidated = 0;
        for (const [i, run] of runs.entries()) {
          const last = i === runs.length - 1 ? 1 : 0;
          result = await runScript<ScriptAnswer>(redis, APPLY_EVENT, [marker, keys.sequence, ...run.map((t) => keys.tag(t))],
            [now, appliedMarkerMs, tokenTtlMs, UNREAD_TOKEN_MS, last, writeSpan, keys.writeSpans, WRITE_TRACE_MS, ...run.map(tokenSuffix)]);
          guard.heard();
          if (result[0] === 0) break;
          invalidated += result[2];
        }
        // The whole event's count (every chunk's), with the last chunk's answer.
        return result[0] === 1 ? [1, result[1], invalidated] : result;
      };
      return settle(call, span, unique);
    });
  }

  /** The script's answer as an AppliedEvent, noted on the span (false when the event had been applied already) and counted. */
  private applied(answer: ScriptAnswer, span: Span): AppliedEvent {
    span.setAttribute('cache.applied_now', answer[0] === 1);
    if (answer[0] === 0) return { state: 'already-applied', appliedAt: Number(answer[1]) };
    span.setAttribute('cache.invalidated_tags', answer[2]);
    this.options.countInvalidated?.(answer[2]);
    return { state: 'applied', appliedAt: Number(answer[1]), invalidatedTags: answer[2] };
  }

  /**
   * A write's invalidation failed: retries it, past the breaker, every 50 ms for up to `owedWaitMs`, on a cluster
   * after refreshing the slot map (a promoted replica this process has not heard of yet). Unavailable when Redis
   * still fails: the write then answers with its invalidation owed.
   */
  private async retryWrite<T>(call: () => Promise<T>, span: Span): Promise<Guarded<T>> {
    const { guard, timed } = this.options;
    const deadline = performance.now() + this.options.owedWaitMs;
    let attempts = 0;
    let cause: unknown;
    while (!guard.closed) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      await Promise.all([sleep(Math.min(left, WRITE_RETRY_MS)), guard.refreshClusterView(left)]);
      attempts++;
      try {
        const result = await timed('invalidate', call());
        span.setAttribute('cache.retries', attempts);
        guard.succeeded();
        return { ok: true, value: result };
      } catch (error) {
        cause = error; // Redis still fails: try again until the deadline.
      }
    }
    span.setAttribute('cache.retries', attempts);
    return { ok: false, cause };
  }
}
