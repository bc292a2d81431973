/**
 * The consistency auditor: continuously samples cached entries, reads each again from its API with the cache
 * bypassed (so from PostgreSQL, as its route computes it), and compares. An entry a request would still serve
 * (every tag token and the generation current, within its TTL) whose body differs from the fresh read is an
 * inconsistency: counted (`cache_inconsistent_total{prefix}`, the stats' `auditor.inconsistencies`), logged with its
 * key, age and which fields differ, and deleted, so the next read refills it.
 *
 * No false positives: a write commits, then invalidates its tags before it answers (retrying for up to 1 s when
 * Redis does not take it). An entry read before such a write and compared after its commit differs while its tokens
 * are still current for that short while. So the entry must be valid both before the fresh read and after it, a
 * confirmation delay later (longer than a write's invalidation retry), with the very same header (ETag, expiry, every
 * tag token and the generation): a token that moved, a refilled or deleted entry, means a write was in flight, and
 * nothing is counted. Entries younger than a margin are skipped too. See docs/operations.md#consistency-auditor.
 *
 * Roles: no cached view differs by role (no `varyBy`: one entry serves every role), so the worker's reader credential
 * with `Cache-Control: no-cache` (a bypass only that internal principal gets, like an admin's read) sees what the
 * entry's readers see. A view keyed by role would have to record the role in its entry and be re-read as it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ResponseCache } from '@crm/cache';
import { allViews, ttlOf, type ServedView } from '@crm/cache-policy';
import type { ApiService } from '@crm/jobs';
import type { RedisClient } from '@crm/redis';
import type { Logger } from '@crm/telemetry';
import type { WorkerMetrics } from '../metrics';
import { diffSummary, jsonDiff } from './json-diff';
import { sampleEntryKey } from './sample';

export interface AuditorOptions {
  cache: ResponseCache;
  /** The cache's Redis (the same client as `cache`), for sampling keys. */
  redis: RedisClient;
  apiUrls: Record<ApiService, string>;
  /** The worker's reader credential (WARMUP_TOKEN). */
  token: string;
  /** Checks per second at most (CACHE_AUDIT_PER_SECOND): one fresh GET each, so this bounds the database load. */
  perSecond: number;
  /** `CACHE_TTL_<PREFIX>` overrides, as the APIs have them: an entry's age is its expiry minus its TTL. */
  ttlOverrides?: Record<string, number>;
  /** Entries younger than this are not checked (default 2 s). */
  minAgeMs?: number;
  /** How long a difference must outlive the fresh read, with the entry unchanged and valid, to count (default 1.5 s). */
  confirmMs?: number;
  /** How long a sampled key is left alone after its check (default 5 s), so a small cache is covered evenly. */
  revisitAfterMs?: number;
  timeoutMs?: number;
  metrics: Pick<WorkerMetrics, 'inconsistent' | 'auditChecks'>;
  logger: Logger;
}

/** What one check concluded; `skipped` made no fresh read (nothing to compare, or the API did not answer). */
export type AuditOutcome = 'consistent' | 'inconsistent' | 'write-in-flight' | 'skipped';

/** Samples and checks entries at a bounded rate until stopped (see the opening comment). */
export class ConsistencyAuditor {
  private readonly views = new Map<string, ServedView>(allViews().map((served) => [`${served.view.prefix}:${served.view.operation}`, served]));
  /** Keys checked lately, oldest first (a Map keeps insertion order). */
  private readonly recent = new Map<string, number>();
  private readonly stopping = new AbortController();
  private running: Promise<void> | null = null;
  private lastWarnAt = 0;

  constructor(private readonly options: AuditorOptions) {}

  /** Starts the sampling loop (once). */
  start(): this {
    this.running ??= this.loop();
    return this;
  }

  /** Stops sampling; resolves when the check in progress has ended. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.running;
  }

  /** One tick: sample a key and check it. Resolves with what was checked (null: nothing sampled). */
  async tick(): Promise<{ key: string; outcome: AuditOutcome } | null> {
    const { cache, redis } = this.options;
    if (!cache.available) return null;
    const now = Date.now();
    const revisitAfterMs = this.options.revisitAfterMs ?? 5_000;
    for (const [key, at] of this.recent) {
      if (now - at < revisitAfterMs) break;
      this.recent.delete(key);
    }
    const key = await sampleEntryKey(redis, cache.namespace, (k) => !this.recent.has(k) && this.viewOf(k) !== undefined);
    if (!key) return null;
    this.recent.set(key, now);
    return { key, outcome: await this.check(key) };
  }

  /** Checks one entry (see the opening comment for when a difference counts). */
  async check(key: string): Promise<AuditOutcome> {
    const { cache, metrics, logger } = this.options;
    const served = this.viewOf(key);
    const before = await cache.inspect(key);
    const path = before.state === 'valid' ? before.entry.header.u : undefined;
    if (!served || before.state !== 'valid' || !path) return 'skipped';
    const { header, body } = before.entry;
    const ageMs = Date.now() - (header.f - ttlOf(served.view, this.options.ttlOverrides) * 1_000);
    if (ageMs < (this.options.minAgeMs ?? 2_000)) return 'skipped';
    const fresh = await this.readFresh(served.service, path);
    if (!fresh) return 'skipped';
    const prefix = served.view.prefix;
    metrics.auditChecks.inc({ prefix });
    cache.stats.recordAudit('checks');
    const diff = fresh.status === 200 ? jsonDiff(parseJson(body), fresh.body) : { paths: [`status ${fresh.status}`], count: 1 };
    if (diff.count === 0) return 'consistent';
    await sleep(this.options.confirmMs ?? 1_500, undefined, { signal: this.stopping.signal });
    const after = await cache.inspect(key);
    if (after.state !== 'valid' || !sameHeader(after.entry.header, header)) return 'write-in-flight';
    metrics.inconsistent.inc({ prefix });
    cache.stats.recordAudit('inconsistencies');
    // Deleted, not refilled: the next read fills it from PostgreSQL. Should a fill have stored a fresh entry since
    // the check, deleting it costs one miss.
    await this.options.redis.unlink(cache.keys.entry(key));
    logger.warn({ key, ageMs: Math.round(ageMs), path, diff: diffSummary(diff) }, 'cache inconsistency: a valid entry differs from PostgreSQL; entry deleted');
    return 'inconsistent';
  }

  private viewOf(key: string): ServedView | undefined {
    const [prefix, operation, hash, extra] = key.split(':');
    return hash && extra === undefined ? this.views.get(`${prefix}:${operation}`) : undefined;
  }

  /** The route's answer read from PostgreSQL (cache bypassed): 200 or 404, else null (the API failed: no check). */
  private async readFresh(service: ApiService, path: string): Promise<{ status: number; body: unknown } | null> {
    const { apiUrls, token, timeoutMs } = this.options;
    try {
      const res = await fetch(`${apiUrls[service]}${path}`, {
        headers: { authorization: `Bearer ${token}`, 'cache-control': 'no-cache' },
        signal: AbortSignal.any([this.stopping.signal, AbortSignal.timeout(timeoutMs ?? 10_000)]),
      });
      const text = await res.text();
      if (res.status === 200 || res.status === 404) return { status: res.status, body: res.status === 200 ? parseJson(text) : null };
      this.warn({ service, status: res.status }, 'consistency auditor: the API refused its fresh read (401/403: WARMUP_TOKEN is wrong)');
    } catch (error) {
      if (!this.stopping.signal.aborted) this.warn({ service, err: (error as Error).message }, 'consistency auditor: the API did not answer');
    }
    return null;
  }

  private async loop(): Promise<void> {
    const intervalMs = 1_000 / this.options.perSecond;
    while (!this.stopping.signal.aborted) {
      const started = performance.now();
      try {
        await this.tick();
      } catch (error) {
        if (!this.stopping.signal.aborted) this.warn({ err: (error as Error).message }, 'consistency auditor: check failed');
      }
      // One tick per interval at most, however fast the checks: the rate is a ceiling.
      const waitMs = started + intervalMs - performance.now();
      if (waitMs > 0) await sleep(waitMs, undefined, { signal: this.stopping.signal }).catch(() => undefined);
    }
  }

  /** At most one warning a minute: a wrong token or a down API would otherwise log at the check rate. */
  private warn(fields: Record<string, unknown>, message: string): void {
    if (Date.now() - this.lastWarnAt < 60_000) return;
    this.lastWarnAt = Date.now();
    this.options.logger.warn(fields, message);
  }
}

/** The same stored entry: ETag, expiry, and every tag token (the generation's included). */
function sameHeader(a: { e: string; f: number; t: Record<string, string> }, b: { e: string; f: number; t: Record<string, string> }): boolean {
  const tags = Object.keys(a.t);
  return a.e === b.e && a.f === b.f && tags.length === Object.keys(b.t).length && tags.every((tag) => a.t[tag] === b.t[tag]);
}

/** A body as JSON; a body that is not JSON compares as its text. */
function parseJson(body: Buffer | string): unknown {
  const text = body.toString();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
