export * from './entities';
export { createOrm, ensureDatabase, migrate, DEFAULT_ACQUIRE_TIMEOUT_MS, DEFAULT_STATEMENT_TIMEOUT_MS, type OrmOptions } from './orm';
export { findPage, type FoundPage, type KeyValue, type PageWindow } from './keyset';
export { isoTimestamp, readJson } from './json-sql';
export { countKeys, readCount, type CountKey } from './list-counts';
export { MIGRATIONS } from './migrations';
export { MikroORM, EntityManager, RequestContext, raw, LockMode, UniqueConstraintViolationException, ForeignKeyConstraintViolationException } from '@mikro-orm/postgresql';
export { requestContext, databaseProbe } from './request-context';
export { ReplicaRouter, replicaRouter, withReadRouting, type ReadTarget, type ReplicaRoutingOptions } from './replicas';
export * from './seed';
export { FAMILIES, ROWS, TAGS, tagsForChange, type Change, type ChangeKind, type Entity } from './cache-tags';
export { byteOrderedFamilies, comparesBytes, configureSortOrder } from './sort-order';
export {
  eventForChange, recordEvent, claimUnpublished, markPublished, eventsSince, deletePublishedBefore, unpublishedCount,
  type OutboxEvent, type NewOutboxEvent,
} from './outbox';
