/**
 * The read-only sweep after each mix: closed loops on a few list, search and stats URLs (no writes), what a
 * cache does for those routes alone.
 */
import type autocannon from 'autocannon';
import { autocannonRun } from '../load';
import { SWEEP_CLASSES, type SweepFigures } from './figures';
import { headerOf, hitRateOf } from './recorder';
import { SWEEP_SECONDS } from './settings';
import { CATEGORIES, TERMS } from './workload';

/** Each class swept for a second (every URL read once at least), then measured for SWEEP_SECONDS. */
export async function sweep(orgUrl: string, reader: string): Promise<Record<string, SweepFigures>> {
  const urls: Record<(typeof SWEEP_CLASSES)[number], string[]> = {
    'org list': CATEGORIES.flatMap((c) => [`/api/v1/organisations?limit=20&page=1&activeOnly=true&category=${c}`, `/api/v1/organisations?limit=20&page=2&activeOnly=false&category=${c}`]),
    'org search': TERMS.map((t) => `/api/v1/organisations/search?q=${t}&limit=20`),
    'org stats': ['/api/v1/organisations/stats'],
  };
  const out: Record<string, SweepFigures> = {};
  for (const cls of SWEEP_CLASSES) {
    const list = urls[cls];
    const run = (seconds: number, onHeaders?: (x: string) => void) => autocannonRun({
      url: orgUrl, connections: 32, duration: seconds, timeout: 10,
      headers: { authorization: `Bearer ${reader}` },
      requests: [{
        setupRequest: (req: autocannon.Request) => ({ ...req, path: list[Math.floor(Math.random() * list.length)]! }) as autocannon.Request,
        onResponse: (_s: number, _b: string, _c: unknown, headers: Record<string, string>) => onHeaders?.(headerOf(headers, 'x-cache') ?? 'none'),
      } as unknown as autocannon.Request],
    });
    await run(1); // each URL read once at least: the cache's fill is not what this measures
    const x: Record<string, number> = {};
    const result = await run(SWEEP_SECONDS, (h) => { x[h] = (x[h] ?? 0) + 1; });
    out[cls] = { rps: Math.round(result.requests.average), p50Ms: result.latency.p50, p99Ms: result.latency.p99, hitRate: hitRateOf(x), errors: result.errors + result.timeouts + result.non2xx };
  }
  return out;
}
