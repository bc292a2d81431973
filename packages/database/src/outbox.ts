import type { EntityManager } from '@mikro-orm/postgresql';
import { tagsForChange, type Change } from './cache-tags';

/** A row of `cache_outbox`: one committed change, as the cache worker needs it. */
export interface OutboxEvent {
  /** The row id (bigint, as a string): unique, so it names the event everywhere (job ids, applied markers). */
  eventId: string;
  /** `<entity>.<created|updated|deleted>`, or `cache.invalidated` for an admin's invalidation. */
  event: string;
  entity: string;
  /** The written entity's id (0 for an admin invalidation). */
  id: number;
  tags: string[];
  /** Extra facts the warm-up needs (e.g. a mandat's organisationId) or an admin's key prefix. */
  payload: Record<string, unknown>;
  /** W3C trace context of the write, so the worker's spans join its trace. */
  trace: Record<string, string> | null;
  occurredAt: string;
}

/** What a write records: the database gives the id and the commit time. */
export type NewOutboxEvent = Pick<OutboxEvent, 'event' | 'entity' | 'id' | 'tags'> & Partial<Pick<OutboxEvent, 'payload' | 'trace'>>;

interface OutboxRow {
  id: string;
  event: string;
  entity: string;
  entity_id: string;
  tags: string[];
  payload: Record<string, unknown>;
  trace: Record<string, string> | null;
  occurred_at: Date;
}

const COLUMNS = 'id, event, entity, entity_id, tags, payload, trace, occurred_at';

const toEvent = (row: OutboxRow): OutboxEvent => ({
  eventId: String(row.id),
  event: row.event,
  entity: row.entity,
  id: Number(row.entity_id),
  tags: row.tags,
  payload: row.payload ?? {},
  trace: row.trace,
  occurredAt: new Date(row.occurred_at).toISOString(),
});

/** The outbox event of a committed change: its tags come from the one declaration in cache-tags.ts. */
export function eventForChange(change: Change): NewOutboxEvent {
  return {
    event: `${change.entity}.${change.kind}`,
    entity: change.entity,
    id: change.id,
    tags: tagsForChange(change),
    // The row's fields before and after: what the invalidation matched, for the worker and for whoever reads the event.
    payload: {
      before: change.before, after: change.after,
      ...(change.entity === 'mandat' ? { organisationId: (change.after ?? change.before)?.organisationId ?? null } : {}),
    },
  };
}

/**
 * Inserts an event in the caller's transaction (`em` must be the transaction's manager): it commits or rolls
 * back with the change it describes.
 */
export async function recordEvent(em: EntityManager, event: NewOutboxEvent): Promise<OutboxEvent> {
  const rows = await em.execute<OutboxRow[]>(
    // Arrays are passed as JSON: the driver would spread a JS array into separate parameters.
    `insert into cache_outbox (event, entity, entity_id, tags, payload, trace)
     values (?, ?, ?, array(select jsonb_array_elements_text(?::jsonb)), ?, ?) returning ${COLUMNS}`,
    [event.event, event.entity, event.id, JSON.stringify(event.tags), JSON.stringify(event.payload ?? {}), event.trace ? JSON.stringify(event.trace) : null],
  );
  return toEvent(rows[0]!);
}

/**
 * Locks and returns the oldest unpublished events. Concurrent relays (every replica runs one) skip each
 * other's rows instead of waiting: call inside a transaction, then `markPublished` before it commits.
 */
export async function claimUnpublished(em: EntityManager, limit: number): Promise<OutboxEvent[]> {
  const rows = await em.execute<OutboxRow[]>(
    `select ${COLUMNS} from cache_outbox where published_at is null order by id limit ? for update skip locked`,
    [limit],
  );
  return rows.map(toEvent);
}

export async function markPublished(em: EntityManager, eventIds: string[]): Promise<void> {
  if (eventIds.length === 0) return;
  await em.execute('update cache_outbox set published_at = clock_timestamp() where id in (select jsonb_array_elements_text(?::jsonb)::bigint)', [JSON.stringify(eventIds)]);
}

/**
 * One page of the events committed since `since` (published or not), by id: what a replica re-applies after a
 * cache outage. The next page starts after the last id of this one, so a long outage is read (and retried) a page
 * at a time rather than in one query that fails as a whole.
 */
export async function eventsSince(em: EntityManager, since: Date, page: { afterId?: string | null; limit?: number } = {}): Promise<OutboxEvent[]> {
  const rows = await em.execute<OutboxRow[]>(
    `select ${COLUMNS} from cache_outbox where occurred_at >= ? and id > ? order by id limit ?`,
    [since, page.afterId ?? '0', page.limit ?? 1_000],
  );
  return rows.map(toEvent);
}

/** Retention: deletes published events older than `before`. Returns how many. */
export async function deletePublishedBefore(em: EntityManager, before: Date): Promise<number> {
  const result = await em.execute<{ affectedRows: number }>(
    'delete from cache_outbox where published_at is not null and occurred_at < ?',
    [before],
    'run',
  );
  return result.affectedRows;
}

/** How many events wait to be published. */
export async function unpublishedCount(em: EntityManager): Promise<number> {
  const rows = await em.execute<{ count: number }[]>('select count(*)::int as count from cache_outbox where published_at is null');
  return rows[0]?.count ?? 0;
}
