import type { RequestHandler } from 'express';

export type PartStatus = 'up' | 'down' | 'disabled';

export interface PartHealth {
  status: PartStatus;
  latencyMs: number;
  error?: string;
}

/** A probe resolves when the part answers, rejects when it does not; `null` means not used by this process. */
export type Probe = (() => Promise<void>) | null;

export interface HealthProbes {
  database: Probe;
  cache: Probe;
  queue: Probe;
}

const PROBE_TIMEOUT_MS = 1_000;

async function run(probe: Probe): Promise<PartHealth> {
  if (!probe) return { status: 'disabled', latencyMs: 0 };
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS); }),
    ]);
    return { status: 'up', latencyMs: Math.round((performance.now() - started) * 100) / 100 };
  } catch (error) {
    return { status: 'down', latencyMs: Math.round(performance.now() - started), error: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * GET /health: the database down makes the service unhealthy (503); Redis or the queue down only
 * degrades it (200), since reads still answer from the database. `runtime` is the Node version, so a
 * process started on the wrong Node shows it.
 */
export function healthHandler(service: string, probes: HealthProbes): RequestHandler {
  return async (_req, res) => {
    const [database, cache, queue] = await Promise.all([run(probes.database), run(probes.cache), run(probes.queue)]);
    const status = database.status === 'down' ? 'unhealthy' : cache.status === 'down' || queue.status === 'down' ? 'degraded' : 'healthy';
    res.status(status === 'unhealthy' ? 503 : 200).json({ status, service, database, cache, queue, runtime: process.version });
  };
}
