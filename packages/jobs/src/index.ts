/** The cache's job plumbing: queue names and job contracts, BullMQ queues and connections, and the outbox relay. */
export {
  QUEUES, QUEUE_PREFIX, JOB_OPTIONS, API_SERVICES, invalidationJob, warmupJob, warmupTarget, invalidationJobId, warmupJobId,
  invalidationJobOf, REFILL_HEADER, readerOf, refillTargetOf, type InvalidationJob, type WarmupJob, type WarmupTarget, type ApiService,
} from './contracts';
export { createQueueConnection, openQueue, jobTelemetry } from './queues';
export { OutboxRelay, type OutboxRelayOptions } from './relay';
