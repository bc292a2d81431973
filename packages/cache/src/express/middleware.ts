/**
 * The response cache as Express middleware for one cacheable GET route: lookup, fill lock, a wait for another
 * instance's fill, serving (respond.ts: ETag/304, X-Cache, Cache-Status), storing the handler's JSON, and offering
 * an expired entry for stale serving (stale.ts) should the database fail.
 */
import type { Request, RequestHandler } from 'express';
import type { Entry } from '../entry';
import { cacheKey } from '../keys';
import { tracer } from '../observe';
import { linkTo } from '../trace-links';
import type { ResponseCache } from '../response-cache';
import type { CacheResult } from '../stats';
import { freshnessLeft, type CacheStatusFwd } from './cache-status';
import { captureJson, hitOf, JSON_TYPE, sendEntry } from './respond';
import { trackReaders, type ReaderTracking } from './readers';
import { offerStale } from './stale';

/** What the validation step left in `res.locals.input` (see @crm/http defineRoute). */
interface ValidatedInput {
  params: unknown;
  query: unknown;
}

/** One cached route: its key, TTL and tags. */
export interface CacheResponseOptions {
  /** The first part of the key, e.g. `organisations`; also the stats and TTL prefix. */
  keyPrefix: string;
  /** The second part of the key, e.g. `detail`, `list`, `search`. */
  operation: string;
  /** Seconds an entry stays fresh. */
  ttl: number;
  /** The tags of what the response shows, known from the validated input before the data is read. */
  tags: (input: { params: any; query: any }) => string[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  /**
   * The tags of what the response shows that only its data tells (the entities on a page), from the input and the
   * handler's JSON; read and checked when the response is stored (see ResponseCache.store).
   */
  shows?: (input: { params: any; query: any }, result: any) => string[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Serve from the database, uncached, when this returns true. */
  skipIf?: (req: Request) => boolean;
  /** Extra key material for responses that differ by caller (e.g. role). */
  varyBy?: (req: Request) => unknown;
}

/** What every cached route of a service shares: the cache, who bypasses it, where results are counted. */
export interface CacheMiddlewareContext {
  /** null when CACHE_ENABLED=false: every read goes to the database, marked BYPASS. */
  cache: ResponseCache | null;
  /** Who bypasses the cache (admins: always fresh). */
  bypass?: (req: Request) => boolean;
  onResult?: (prefix: string, result: CacheResult) => void;
  /** Records who reads what, for the worker's read-driven refills (see readers.ts); unset: nothing recorded. */
  readers?: ReaderTracking;
}

/** The tags of the rows an entry's data showed (see ResponseCache.store). */
const shownTagsOf = (entry: Entry): string[] => Object.keys(entry.header.p ?? {});

/**
 * The `cache.get` span of a request: from the lookup until the cache knows what it serves (a wait for another fill
 * included). A hit's span links to the fill that stored the entry (trace-links.ts) and carries the entry's age.
 */
function startGetSpan(key: string, prefix: string): (result: CacheResult, served?: Entry) => void {
  const span = tracer.startSpan('cache.get', { attributes: { 'cache.key': key, 'cache.prefix': prefix } });
  return (result, served) => {
    span.setAttributes({ 'cache.hit': result === 'hit', 'cache.result': result });
    if (served) {
      const fill = linkTo(served.header.s, 'fill');
      if (fill) span.addLink(fill);
      if (served.header.a !== undefined) span.setAttribute('cache.age_ms', Math.max(0, Date.now() - served.header.a));
    }
    span.end();
  };
}

/** A `cache.get` span for a request the cache did not look up (bypass) or answered late (stale). */
function markResult(key: string | null, prefix: string, result: 'bypass' | 'stale'): void {
  tracer.startSpan('cache.get', { attributes: { ...(key ? { 'cache.key': key } : {}), 'cache.prefix': prefix, 'cache.hit': result === 'stale', 'cache.result': result } }).end();
}

/**
 * The response cache as Express middleware, for the cacheable GET routes: cache-aside with
 * `X-Cache: HIT | MISS | STALE | BYPASS` and `Cache-Status` (RFC 9211), ETag/304, tags, one fill per key across all replicas,
 * grace on database failure, and a plain database read whenever Redis is unavailable.
 */
export function cacheResponse(ctx: CacheMiddlewareContext, options: CacheResponseOptions): RequestHandler {
  const record = (result: CacheResult) => {
    ctx.cache?.record(options.keyPrefix, result);
    ctx.onResult?.(options.keyPrefix, result);
  };

  return async (req, res, next) => {
    const cache = ctx.cache;
    if (!cache || ctx.bypass?.(req) || options.skipIf?.(req)) {
      markResult(null, options.keyPrefix, 'bypass');
      record('bypass');
      captureJson(req, res, { result: 'bypass', status: { fwd: 'bypass' } });
      return next();
    }
    const input = res.locals.input as ValidatedInput;
    const vary = options.varyBy?.(req);
    const key = cacheKey(options.keyPrefix, options.operation, vary === undefined ? input : { ...input, vary });
    const tags = options.tags(input as { params: any; query: any }); // eslint-disable-line @typescript-eslint/no-explicit-any
    const readers = trackReaders(cache, ctx.readers, req, vary !== undefined);

    if (readers.beforeLookup) await readers.beforeLookup();
    const endGet = startGetSpan(key, options.keyPrefix);
    const found = await cache.lookup(key, tags);
    if (found.state === 'hit') {
      endGet('hit', found.entry);
      record('hit');
      readers.hit(key, [...tags, ...shownTagsOf(found.entry)], found.entry);
      return sendEntry(req, res, found.entry, hitOf(found.entry));
    }
    if (found.state === 'unavailable') {
      // Redis down, hanging or owed invalidations: answer from the database, store nothing.
      endGet('error');
      record('error');
      captureJson(req, res, { result: 'miss', status: { fwd: 'miss', detail: 'cache-unavailable' } });
      return next();
    }

    if (found.state === 'expired') {
      // If the database fails while refreshing, this entry (past its TTL, never invalidated) is served.
      const stale = found.entry;
      offerStale(res, () => {
        markResult(key, options.keyPrefix, 'stale');
        record('stale');
        sendEntry(req, res, stale, { result: 'stale', status: { hit: true, ttl: freshnessLeft(stale.header.f), detail: 'stale' } });
      });
    }

    // RFC 9211: `uri-miss` when nothing was stored under the key, `miss` when what was is expired or invalidated.
    const fwd: CacheStatusFwd = found.state === 'miss' && !found.invalidated ? 'uri-miss' : 'miss';
    let versions = found.versions;
    const fill = await cache.acquireFill(key);
    if (fill.state === 'acquired') {
      // Another fill may have stored and released between this request's lookup and its lock: serve that entry
      // rather than read the database again (one more round trip, on misses only).
      const again = await cache.lookup(key, tags);
      if (again.state === 'hit') {
        void cache.releaseFill(key, fill.token);
        endGet('hit', again.entry);
        record('hit');
        readers.hit(key, [...tags, ...shownTagsOf(again.entry)], again.entry);
        return sendEntry(req, res, again.entry, hitOf(again.entry));
      }
      if (again.state !== 'unavailable') versions = again.versions;
    }
    if (fill.state === 'held') {
      // Another request (here or on another replica) is filling this key: wait for its entry, else read the
      // database without a lock.
      const filled = await cache.waitForFill(key, tags);
      if (filled) {
        endGet('hit', filled);
        record('hit');
        readers.hit(key, [...tags, ...shownTagsOf(filled)], filled);
        return sendEntry(req, res, filled, { result: 'hit', status: { fwd, collapsed: true } });
      }
    }
    endGet('miss');
    record('miss');
    const token = fill.state === 'acquired' ? fill.token : null;
    captureJson(req, res, { result: 'miss', status: { fwd } }, async (body, value) => {
      // The rows the page shows are read with the reader too: a write to one of them refills the page.
      const shows = options.shows?.(input as { params: any; query: any }, value) ?? []; // eslint-disable-line @typescript-eslint/no-explicit-any
      const stored = await readers.store([...tags, ...shows], (marks) => cache.store(key, body, JSON_TYPE, versions, options.ttl, shows, { ...marks, u: req.originalUrl }));
      if (token) void cache.releaseFill(key, token);
      return stored;
    });
    if (token) {
      // Release the fill lock if the handler fails, so waiters stop waiting at once.
      res.once('finish', () => { if (res.statusCode !== 200) void cache.releaseFill(key, token); });
    }
    next();
  };
}
