/** The write path: a change and its outbox event in one transaction, then the invalidation before the write answers. */
import type { ResponseCache } from '@crm/cache';
import { eventForChange, recordEvent, type Change, type EntityManager, type MikroORM, type OutboxEvent } from '@crm/database';
import type { OutboxRelay } from '@crm/jobs';

/** What the write path needs: the ORM, the cache it invalidates, the relay it kicks. */
export interface ChangeWriterOptions {
  orm: MikroORM;
  /** null when CACHE_ENABLED=false. */
  cache: ResponseCache | null;
  /** null when no queue is configured (tests of the HTTP layer alone). */
  relay: OutboxRelay | null;
  /** The current trace context (W3C headers), stored with the event so the worker joins the write's trace. */
  traceContext?: () => Record<string, string> | null;
}

/**
 * The write path: runs a change in a transaction together with its outbox event, then, once committed,
 * applies the event's invalidation at once (so the write answers only when no replica can serve older data)
 * and kicks the relay so the worker re-applies it (a no-op when done) and warms the cache up.
 * If Redis is away at that moment, the event is still in the outbox: the worker applies it when Redis returns,
 * and every replica replays the outage's events before it serves from the cache again.
 */
export class ChangeWriter {
  constructor(private readonly options: ChangeWriterOptions) {}

  /** `work` makes the change with the transaction's manager and says what changed (after its flush, so ids exist). */
  async write<T>(work: (em: EntityManager) => Promise<[T, Change]>): Promise<T> {
    const [result, event] = await this.options.orm.em.transactional(async (em) => {
      const [result, change] = await work(em);
      await em.flush();
      const event = await recordEvent(em, { ...eventForChange(change), trace: this.options.traceContext?.() ?? null });
      return [result, event] as const;
    });
    await this.afterCommit(event, true);
    return result;
  }

  /** An admin's invalidation (tags and/or a key prefix): recorded, then done by the worker. */
  async requestInvalidation(tags: string[], prefix: string | null): Promise<OutboxEvent> {
    const event = await this.options.orm.em.fork().transactional((em) => recordEvent(em, {
      event: 'cache.invalidated', entity: 'cache', id: 0, tags, payload: prefix ? { prefix } : {},
      trace: this.options.traceContext?.() ?? null,
    }));
    await this.afterCommit(event, false);
    return event;
  }

  private async afterCommit(event: OutboxEvent, applyNow: boolean): Promise<void> {
    if (applyNow) await this.options.cache?.applyEvent(event);
    this.options.relay?.kick();
  }
}
