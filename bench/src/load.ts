/** Driving load with autocannon: every run stoppable at once, and bench:cache's fixed-path runs. */
import { join } from 'node:path';
import autocannon from 'autocannon';

export interface LoadOptions {
  baseUrl: string;
  /** Paths requested in turn by every connection, each connection starting at a random one. */
  paths: string[];
  token: string;
  connections: number;
  durationSeconds: number;
  /** Worker threads for autocannon: one thread driving 64 connections delays its own reading of replies. */
  workers: number;
}

export interface Measurement {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  requests: number;
  /** Responses outside 2xx (their latencies are not in the percentiles). */
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  statusCodes: Record<string, number>;
}

const running = new Set<autocannon.Instance>();

/** Stops every autocannon run in progress (SIGINT, a failed benchmark). */
export function stopLoad(): void {
  for (const instance of running) instance.stop();
}

/** Runs autocannon, stoppable by stopLoad; `started` sees the instance (to listen to its events). */
export function autocannonRun(options: autocannon.Options, started?: (instance: autocannon.Instance) => void): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(options, (error: unknown, result) => {
      running.delete(instance);
      if (error) reject(error instanceof Error ? error : new Error(String(error)));
      else resolve(result);
    });
    running.add(instance);
    started?.(instance);
  });
}

/** One route's paths at a fixed number of connections (bench:cache), summed up as a Measurement. */
export async function runLoad(options: LoadOptions): Promise<Measurement> {
  const result = await autocannonRun({
    url: options.baseUrl,
    connections: options.connections,
    duration: options.durationSeconds,
    ...(options.workers > 1 ? { workers: options.workers } : {}),
    headers: { authorization: `Bearer ${options.token}` },
    requests: options.paths.map((path) => ({ path })),
    // A path, not a function: it has to be loadable inside autocannon's worker threads.
    setupClient: join(__dirname, 'rotate-client.js') as unknown as autocannon.Options['setupClient'],
  });
  return {
    requestsPerSecond: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    p999Ms: result.latency.p99_9,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => [code, s.count ?? 0])),
  };
}
