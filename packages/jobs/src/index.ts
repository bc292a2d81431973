export {
  QUEUES, QUEUE_PREFIX, JOB_OPTIONS, API_SERVICES, invalidationJob, warmupJob, warmupTarget, invalidationJobId, warmupJobId,
  invalidationJobOf, warmupTargetsFor, type InvalidationJob, type WarmupJob, type WarmupTarget, type ApiService,
} from './contracts';
export { createQueueConnection, openQueue, jobTelemetry } from './queues';
export { OutboxRelay, type OutboxRelayOptions } from './relay';
export { ChangeWriter, type ChangeWriterOptions } from './writer';
export { createApiRuntime, type ApiRuntime, type ApiRuntimeOptions } from './runtime';
export { runApiService, type ApiServiceOptions, type ApiAppDeps } from './api-process';
export { startApiHarness, type ApiHarness, type ApiHarnessOptions } from './testing';
