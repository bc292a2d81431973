import { UnrecoverableError, type Job } from 'bullmq';
import { context, propagation } from '@opentelemetry/api';
import { mintToken } from '@crm/http';
import { warmupJob, type ApiService } from '@crm/jobs';
import type { Logger } from '@crm/telemetry';

export interface WarmupDeps {
  /** Base URL of each API (e.g. http://organisations-api:3001). */
  apiUrls: Record<ApiService, string>;
  jwtSecret: string;
  /** Parallel GETs per job. */
  parallelism?: number;
  timeoutMs?: number;
  /** One summary line per job (the APIs log each warm-up GET at debug level only). */
  logger?: Logger;
}

/**
 * Runs one `cache-warmup` job: GETs each target through its API with a reader token, so the API fills its
 * own cache with exactly the bytes and key a reader would get (through its fill lock, with tag versions read
 * before the data). A 404 is fine (deleted meanwhile); a 5xx or no answer throws, and BullMQ retries.
 */
export function warmupProcessor(deps: WarmupDeps) {
  return async (job: Job) => {
    const parsed = warmupJob.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid cache-warmup job: ${parsed.error.message}`);
    const token = mintToken(deps.jwtSecret, 'reader', { sub: 'cache-worker', expiresInSeconds: 300 });
    const results: { path: string; status: number; cache: string | null }[] = [];
    const pending = [...parsed.data.targets];
    const failures: string[] = [];
    const next = async (): Promise<void> => {
      for (let target = pending.shift(); target; target = pending.shift()) {
        const url = `${deps.apiUrls[target.service]}/api/v1${target.path}`;
        try {
          // The job's trace continues into the API's request (fetch is not instrumented: propagate by hand).
          const headers: Record<string, string> = { authorization: `Bearer ${token}` };
          propagation.inject(context.active(), headers);
          const res = await fetch(url, { headers, signal: AbortSignal.timeout(deps.timeoutMs ?? 10_000) });
          await res.arrayBuffer();
          results.push({ path: target.path, status: res.status, cache: res.headers.get('x-cache') });
          if (res.status >= 500) failures.push(`${url}: ${res.status}`);
        } catch (error) {
          failures.push(`${url}: ${(error as Error).message}`);
        }
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: deps.parallelism ?? 4 }, next));
    deps.logger?.info({
      jobId: job.id,
      targets: parsed.data.targets.length,
      stored: results.filter((r) => r.status === 200 && r.cache !== 'HIT').length,
      alreadyCached: results.filter((r) => r.cache === 'HIT').length,
      notFound: results.filter((r) => r.status === 404).length,
      failed: failures.length,
      durationMs: Math.round(performance.now() - started),
    }, 'warm-up job done');
    if (failures.length > 0) throw new Error(`warm-up failed for ${failures.length} target(s): ${failures.slice(0, 3).join('; ')}`);
    return results;
  };
}
