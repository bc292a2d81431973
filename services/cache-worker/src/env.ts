import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { InvalidEnvironmentError, loadEnv, type Env } from '@crm/config';

/** A compact JWS: three base64url parts. The APIs verify it; the worker only carries it. */
const jwt = z.string().regex(/^[\w-]+\.[\w-]+\.[\w-]+$/, 'must be a JWT (mint a long-lived reader token with the token CLI)');

/** The worker's own variables, beside the shared ones (@crm/config). */
export const workerEnvSchema = z.object({
  /** The reader token warm-up GETs carry. Unset: no warm-up (invalidation runs as ever). */
  WARMUP_TOKEN: jwt.optional(),
  /** The queue dashboard's credential. Unset: the dashboard is off. */
  ADMIN_QUEUES_TOKEN: z.string().min(32, 'must be at least 32 characters (e.g. `openssl rand -base64 32`)').regex(/^\S+$/, 'must not contain spaces').optional(),
  /** Failed jobs are kept this long (visible in /admin/queues and the metrics), then removed. */
  FAILED_JOBS_MAX_AGE_HOURS: z.coerce.number().positive().max(24 * 365).default(24 * 7),
  /** At most this many failed jobs are kept per queue (the newest). */
  FAILED_JOBS_MAX_COUNT: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
});

/** The worker's settings, parsed. */
export interface WorkerEnv {
  warmupToken: string | null;
  adminQueuesToken: string | null;
  /** BullMQ's `removeOnFail` for both queues: age in seconds, and count. */
  failedJobs: { age: number; count: number };
}

/** Parses the worker's own variables. Throws InvalidEnvironmentError naming each bad one. */
export function parseWorkerEnv(source: NodeJS.ProcessEnv): WorkerEnv {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const result = workerEnvSchema.safeParse(cleaned);
  if (!result.success) {
    throw new InvalidEnvironmentError(result.error.issues.map((issue) => ({ variable: String(issue.path[0] ?? '?'), message: issue.message })));
  }
  const raw = result.data;
  return {
    warmupToken: raw.WARMUP_TOKEN ?? null,
    adminQueuesToken: raw.ADMIN_QUEUES_TOKEN ?? null,
    failedJobs: { age: Math.round(raw.FAILED_JOBS_MAX_AGE_HOURS * 3_600), count: raw.FAILED_JOBS_MAX_COUNT },
  };
}

/**
 * The worker's configuration: the shared variables and its own, parsed once; a bad value stops the process with
 * the variable's name. The worker mints and verifies no JWT, so it never reads JWT_SECRET: a random value of this
 * process takes its place before the shared parser runs (which requires one in production for the APIs' sake), so
 * a JWT_SECRET left in the worker's environment or .env is ignored.
 */
export function loadWorkerEnv(): { env: Env; worker: WorkerEnv } {
  process.env.JWT_SECRET = randomBytes(32).toString('base64url');
  const env = loadEnv();
  try {
    return { env, worker: parseWorkerEnv(process.env) };
  } catch (error) {
    if (error instanceof InvalidEnvironmentError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78); // EX_CONFIG, as the shared variables
    }
    throw error;
  }
}
