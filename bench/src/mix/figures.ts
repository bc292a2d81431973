/** The figures of `npm run bench`, phase by phase: the shape of docs/benchmarks/bench.json's `phases`. */

export type CacheKind = 'none' | 'ours' | 'apicache' | 'bentocache';

export interface Freshness { writes: number; reads: number; stale: number; staleByView: Record<string, number>; errors: number; examples: string[] }

export interface Latency { p50Ms: number; p95Ms: number; p99Ms: number }

export interface ClassFigures extends Latency {
  requests: number;
  rps: number;
  non2xx: number;
  hitRate?: number;
  /** Latency of the requests the cache answered (X-Cache: HIT). */
  hits?: Latency & { requests: number };
}

/** The route classes of the read-only sweep. */
export const SWEEP_CLASSES = ['org list', 'org search', 'org stats'] as const;

export interface SweepFigures { rps: number; p50Ms: number; p99Ms: number; hitRate: number | null; errors: number }

export interface PhaseResult {
  phase: string;
  cache: CacheKind;
  durationSeconds: number;
  rps: number;
  requests: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  overall: Latency;
  classes: Record<string, ClassFigures>;
  xCache: Record<string, number>;
  hitRate: number | null;
  /** Share of the measured reads whose URL had been read before in the phase: the best any cache could do without prefetching. */
  repeatShare: number;
  dbTransactionsPerSecond: number;
  dbTuplesReturnedPerSecond: number;
  invalidationLag: { count: number; p50Ms: number | null; p99Ms: number | null };
  freshness: Freshness;
  redis: { usedMemoryBytes: number; keysDb: number };
  /** Peak resident memory of each process of the phase (MiB). */
  peakRssMiB: Record<string, number | null>;
  outage?: { kind: 'hang' | 'kill'; seconds: number; requests: number; non2xx: number; errors: number; p50Ms: number; p99Ms: number; maxMs: number };
  /** Read-only closed loops on a few list, search and stats URLs, after the mix. */
  sweep?: Record<string, SweepFigures>;
  connections?: {
    users: number; establishedAtEnd: number; establishedPeak: number; requests: number; rps: number;
    errors: number; timeouts: number; non2xx: number; hitRate: number | null; p50Ms: number; p99Ms: number; maxMs: number;
  };
}
