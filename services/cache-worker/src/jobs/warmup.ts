import { UnrecoverableError, type Job } from 'bullmq';
import { context, propagation, SpanStatusCode, trace } from '@opentelemetry/api';
import { linkTo } from '@crm/cache';
import { REFILL_HEADER, warmupJob, type ApiService, type WarmupJob } from '@crm/jobs';
import type { WarmupFailure, WorkerMetrics } from '../metrics';
import type { Logger } from '@crm/telemetry';

export interface WarmupDeps {
  /** Base URL of each API (e.g. http://organisations-api:3001). */
  apiUrls: Record<ApiService, string>;
  /** The credential the APIs accept from the worker as a reader (WARMUP_TOKEN): the worker holds no signing key. */
  token: string;
  metrics: Pick<WorkerMetrics, 'warmupFailures'>;
  /** Parallel GETs per job. */
  parallelism?: number;
  timeoutMs?: number;
  /** One summary line per job (the APIs log each warm-up GET at debug level only). */
  logger?: Logger;
}

function failureOf(status: number): WarmupFailure | null {
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'server_error';
  return null;
}

/**
 * Runs one `cache-warmup` job: GETs each target through its API with the worker's reader token, so the API fills
 * its own cache with exactly the bytes and key a reader would get (through its fill lock, with tag versions read
 * before the data). A 404 is fine (deleted meanwhile). Every other failure is counted by reason and fails the job:
 * a 429, a 5xx or no answer throws and BullMQ retries with backoff; a 401 or 403 means WARMUP_TOKEN is wrong
 * (expired, another secret, not a reader), which no retry mends: the job fails for good at once, and its one log
 * line (the worker's `failed` handler) says what to fix.
 */
export function warmupProcessor(deps: WarmupDeps) {
  return async (job: Job) => {
    const parsed = warmupJob.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid cache-warmup job: ${parsed.error.message}`);
    // The warm-up's GETs run in its span, which links to the write that caused it (a startup warm-up has none).
    const write = linkTo(parsed.data.trace?.traceparent, 'write');
    const span = tracer.startSpan('cache.warmup', {
      attributes: { 'cache.warmup.reason': parsed.data.reason, 'cache.warmup.targets': parsed.data.targets.length, 'cache.warmup.refills': parsed.data.targets.filter((t) => t.refill).length },
      ...(write ? { links: [write] } : {}),
    });
    try {
      return await context.with(trace.setSpan(context.active(), span), () => runTargets(deps, job, parsed.data));
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end();
    }
  };
}

/** The warm-up tracer: its `cache.warmup` span holds a job's GETs. */
const tracer = trace.getTracer('@crm/cache-worker');

/** GETs a job's targets, `parallelism` at a time; throws as warmupProcessor says. */
async function runTargets(deps: WarmupDeps, job: Job, data: WarmupJob): Promise<{ path: string; status: number; cache: string | null }[]> {
  const results: { path: string; status: number; cache: string | null }[] = [];
  const pending = [...data.targets];
  const failures: string[] = [];
  let refused: { url: string; status: number } | null = null;
  const next = async (): Promise<void> => {
    // A refused token is refused for every target: stop at the first.
    for (let target = pending.shift(); target && !refused; target = pending.shift()) {
      const url = `${deps.apiUrls[target.service]}/api/v1${target.path}`;
      let status: number;
      try {
        // The job's trace continues into the API's request (fetch is not instrumented: propagate by hand).
        const headers: Record<string, string> = { authorization: `Bearer ${deps.token}`, ...(target.refill ? { [REFILL_HEADER]: '1' } : {}) };
        propagation.inject(context.active(), headers);
        const res = await fetch(url, { headers, signal: AbortSignal.timeout(deps.timeoutMs ?? 10_000) });
        await res.arrayBuffer();
        status = res.status;
        results.push({ path: target.path, status, cache: res.headers.get('x-cache') });
      } catch (error) {
        deps.metrics.warmupFailures.inc({ reason: 'unreachable' });
        failures.push(`${url}: ${(error as Error).message}`);
        continue;
      }
      const failure = failureOf(status);
      if (!failure) continue;
      deps.metrics.warmupFailures.inc({ reason: failure });
      failures.push(`${url}: ${status}`);
      if (failure === 'unauthorized' || failure === 'forbidden') refused = { url, status };
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: deps.parallelism ?? 4 }, next));
  deps.logger?.info({
    jobId: job.id,
    targets: data.targets.length,
    stored: results.filter((r) => r.status === 200 && r.cache !== 'HIT').length,
    alreadyCached: results.filter((r) => r.cache === 'HIT').length,
    notFound: results.filter((r) => r.status === 404).length,
    failed: failures.length,
    durationMs: Math.round(performance.now() - started),
    // How long the job waited for a free worker slot beyond its delay: refills that wait land after the reads they were for.
    queuedMs: Math.max(0, (job.processedOn ?? job.timestamp) - job.timestamp - (job.opts.delay ?? 0)),
  }, 'warm-up job done');
  if (refused) {
    const { url, status } = refused as { url: string; status: number };
    throw new UnrecoverableError(`warm-up token refused: ${url} answered ${status}; set WARMUP_TOKEN to the same value on the worker and both APIs`);
  }
  if (failures.length > 0) throw new Error(`warm-up failed for ${failures.length} target(s): ${failures.slice(0, 3).join('; ')}`);
  return results;
}
