/** The figures of `npm run bench`, phase by phase: the shape of docs/benchmarks/bench.json's `phases`. */

export type CacheKind = 'none' | 'ours' | 'apicache' | 'bentocache';

/** The freshness checker's reads of one route class: checked, of those served from the cache (X-Cache HIT or STALE), stale. */
export interface FreshnessClass { checked: number; fromCache: number; stale: number }

/** The page checker (./pages.ts): its writes, its checked reads, and its self-checks. */
export interface PageChecks {
  writes: number;
  /** Writes by kind: rename, category, activity, create, delete. */
  ops: Record<string, number>;
  checked: number;
  fromCache: number;
  stale: number;
  /** Rounds of reads done again because its own rows changed meanwhile, and writes given up after three such rounds. */
  retries: number;
  unsettled: number;
  /** Answers read from PostgreSQL (MISS, BYPASS) that differ from its model: the checker's own error; 0 when it is right. */
  uncachedMismatches: number;
  /** Cells of the rest of the table (count, average revenue per category and activity) that changed during the phase: 0 when its model held. */
  drift: number;
  /** The first few wrong answers (`stale: ...`, `uncached: ...`) and drifts. */
  examples: string[];
}

/** What the freshness checker saw: `writes`, `reads`, `stale` and `staleByView` cover both of its halves. */
export interface Freshness {
  writes: number; reads: number; stale: number; staleByView: Record<string, number>; errors: number; examples: string[];
  /** Per route class (org detail, org list, org search, org stats, person detail). */
  byClass: Record<string, FreshnessClass>;
  pages: PageChecks;
}

export interface Latency { p50Ms: number; p95Ms: number; p99Ms: number }

export interface ClassFigures extends Latency {
  requests: number;
  rps: number;
  non2xx: number;
  hitRate?: number;
  /** Reads only: the share of this class's measured reads whose URL had been read before in the phase (its repeat ceiling). */
  repeatShare?: number;
  /** Latency of the requests the cache answered (X-Cache: HIT). */
  hits?: Latency & { requests: number };
}

/** The route classes of the read-only sweep. */
export const SWEEP_CLASSES = ['org list', 'org search', 'org stats'] as const;

export interface SweepFigures { rps: number; p50Ms: number; p99Ms: number; hitRate: number | null; errors: number }

/**
 * Our cache's invalidations over the measured window (the increase of the services' /metrics from its start to the
 * phase's end; see counters.ts). A tag stands for the entries stored under it: the cache keeps no reverse index, so
 * entries are not counted one by one.
 */
export interface InvalidationFigures {
  /** Events applied (writes, each counted once by the process that applied it). */
  events: number;
  /** Per applied event, its tags that had a token (an entry may depend on them): mean, and p99 as its bucket's upper bound. */
  tagsPerEvent: { mean: number | null; p99: number | null };
  /**
   * Read-driven refill targets enqueued (worker), refills that read the database and stored an entry (APIs; a target a
   * client had filled already is a hit), first read by a client before the next write (APIs), invalidated unread (worker).
   */
  refills: { enqueued: number; stored: number; used: number; wasted: number };
}

/** Our cache's dependency index at the end of a phase: tag tokens, and apart the reader logs (keys.ts). */
export interface DependencyIndex {
  tagTokens: { keys: number; bytes: number; sampled: number };
  readerLogs: { keys: number; bytes: number; sampled: number };
}

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
  /** pg_stat_database's tup_fetched over the measured window, per second. */
  dbTuplesFetchedPerSecond: number;
  /** The window's transactions and tuples divided by the mix's requests (the checker's and the worker's work included). */
  dbTransactionsPerRequest: number;
  dbTuplesReturnedPerRequest: number;
  dbTuplesFetchedPerRequest: number;
  invalidationLag: { count: number; p50Ms: number | null; p99Ms: number | null };
  freshness: Freshness;
  redis: { usedMemoryBytes: number; keysDb: number };
  /** Our cache's phases only (null for no cache and the peers; invalidation also when a process's /metrics did not answer). */
  invalidation: InvalidationFigures | null;
  dependencyIndex: DependencyIndex | null;
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
