import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The contract's metrics, on one registry per process, labelled by service. */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly httpRequestDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly dbQueries: Counter<'service'>;
  readonly dbReads: Counter<'target'>;
  readonly cacheRequests: Counter<'prefix' | 'result'>;
  readonly cacheOperationDuration: Histogram<'operation'>;
  readonly cacheRefills: Counter;
  readonly cacheRefillsUsed: Counter;
  readonly cacheInvalidatedTags: Histogram;

  constructor(readonly service: string) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry });
    this.httpRequestDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration in seconds',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [this.registry],
    });
    this.dbQueries = new Counter({
      name: 'db_queries_total',
      help: 'SQL statements sent to PostgreSQL',
      labelNames: ['service'],
      registers: [this.registry],
    });
    this.dbReads = new Counter({
      name: 'db_reads_total',
      help: 'Reads outside transactions when read replicas are configured, by target (replica or primary)',
      labelNames: ['target'],
      registers: [this.registry],
    });
    this.cacheRequests = new Counter({
      name: 'cache_requests_total',
      help: 'Cached routes served, by key prefix and result',
      labelNames: ['prefix', 'result'],
      registers: [this.registry],
    });
    this.cacheOperationDuration = new Histogram({
      name: 'cache_operation_duration_seconds',
      help: 'Duration of cache operations against Redis',
      labelNames: ['operation'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5],
      registers: [this.registry],
    });
    this.cacheRefills = new Counter({
      name: 'cache_refills_total',
      help: "Entries stored by the worker's read-driven refills (invalidated entries clients had read recently)",
      registers: [this.registry],
    });
    this.cacheRefillsUsed = new Counter({
      name: 'cache_refills_used_total',
      help: 'Read-driven refills hit by a client before the next write invalidated them (counted once across replicas)',
      registers: [this.registry],
    });
    // Observed by whichever process applied the event (the write's API, else the worker or a replay), so once per
    // event across processes. A tag stands for the entries stored under it: the cache keeps no reverse index to count them.
    this.cacheInvalidatedTags = new Histogram({
      name: 'cache_invalidated_tags',
      help: 'Tags per applied event that live entries depended on (had a token when the event replaced it)',
      buckets: [0, 1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers: [this.registry],
    });
  }

  /** Counts one cached route's outcome (`hit`, `miss`, `stale`, `bypass`, `error`). */
  countCacheResult(prefix: string, result: string): void {
    this.cacheRequests.inc({ prefix, result });
  }

  /** Counts a read-driven refill stored (`done`) or first hit before the next write (`used`). */
  countRefill(kind: 'done' | 'used'): void {
    (kind === 'done' ? this.cacheRefills : this.cacheRefillsUsed).inc();
  }

  /** Observes an event this process applied: how many of its tags had a token (entries may depend on them). */
  observeInvalidatedTags(tags: number): void {
    this.cacheInvalidatedTags.observe(tags);
  }

  /** Times one cache operation against Redis (`get`, `set`, `invalidate`). */
  observeCacheOperation(operation: string, seconds: number): void {
    this.cacheOperationDuration.observe({ operation }, seconds);
  }

  /** Counts one SQL statement (wired to the ORM's onQuery hook). */
  countQuery(): void {
    this.dbQueries.inc({ service: this.service });
  }

  /** Counts one read by where it went (`replica`, `primary`); wired to the ORM's replica routing. */
  countRead(target: string): void {
    this.dbReads.inc({ target });
  }

  /** The Prometheus text exposition and its content type. */
  async expose(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
