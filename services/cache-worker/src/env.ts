import { randomBytes } from 'node:crypto';
import { loadEnv, type Env } from '@crm/config';

/** The worker's own settings, from the shared configuration. */
export interface WorkerSettings {
  warmupToken: string | null;
  adminQueuesToken: string | null;
  /** BullMQ's `removeOnFail` for both queues: age in seconds, and count. */
  failedJobs: { age: number; count: number };
}

/** The worker's settings from a parsed configuration. */
export function workerSettings(env: Env): WorkerSettings {
  return {
    warmupToken: env.WARMUP_TOKEN ?? null,
    adminQueuesToken: env.ADMIN_QUEUES_TOKEN ?? null,
    failedJobs: { age: Math.round(env.FAILED_JOBS_MAX_AGE_HOURS * 3_600), count: env.FAILED_JOBS_MAX_COUNT },
  };
}

/**
 * The worker's configuration, parsed once (a bad value stops the process with the variable's name). The worker
 * mints and verifies no JWT, so it never reads JWT_SECRET: a random value of this process takes its place before
 * the shared parser runs (which requires one in production, for the APIs), so a JWT_SECRET left in the worker's
 * environment or .env is never used.
 */
export function loadWorkerEnv(): { env: Env; worker: WorkerSettings } {
  process.env.JWT_SECRET = randomBytes(32).toString('base64url');
  const env = loadEnv();
  return { env, worker: workerSettings(env) };
}
