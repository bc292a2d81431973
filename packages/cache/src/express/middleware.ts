/**
 * The response cache as Express middleware for one cacheable GET route: lookup, fill lock, a wait for another
 * instance's fill, serving (ETag/304, X-Cache), storing the handler's JSON, and offering an expired entry for
 * stale serving (stale.ts) should the database fail.
 */
import type { Request, RequestHandler, Response } from 'express';
import { etagOf, type Entry } from '../entry';
import { cacheKey } from '../keys';
import { tracer } from '../observe';
import type { ResponseCache } from '../response-cache';
import type { CacheResult } from '../stats';
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
  /** The tags of what the response shows, from the validated input. */
  tags: (input: { params: any; query: any }) => string[]; // eslint-disable-line @typescript-eslint/no-explicit-any
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
}

function notModified(req: Request, etag: string): boolean {
  const header = req.headers['if-none-match'];
  if (!header) return false;
  return header === '*' || header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

function sendBody(req: Request, res: Response, status: number, body: Buffer, contentType: string, etag: string, result: CacheResult): void {
  res.setHeader('X-Cache', result.toUpperCase());
  res.setHeader('ETag', etag);
  res.setHeader('Cache-Control', 'private, no-cache');
  if (status === 200 && notModified(req, etag)) {
    res.status(304).end();
    return;
  }
  res.status(status);
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', body.length);
  res.end(body);
}

const sendEntry = (req: Request, res: Response, entry: Entry, result: CacheResult) =>
  sendBody(req, res, 200, entry.body, entry.header.c, entry.header.e, result);

const JSON_TYPE = 'application/json; charset=utf-8';

/** The `cache.get` span of a request: from the lookup until the cache knows what it serves (a wait for another fill included). */
function startGetSpan(key: string, prefix: string): (result: CacheResult) => void {
  const span = tracer.startSpan('cache.get', { attributes: { 'cache.key': key, 'cache.prefix': prefix } });
  return (result) => {
    span.setAttributes({ 'cache.hit': result === 'hit', 'cache.result': result });
    span.end();
  };
}

/** A `cache.get` span for a request the cache did not look up (bypass) or answered late (stale). */
function markResult(key: string | null, prefix: string, result: 'bypass' | 'stale'): void {
  tracer.startSpan('cache.get', { attributes: { ...(key ? { 'cache.key': key } : {}), 'cache.prefix': prefix, 'cache.hit': result === 'stale', 'cache.result': result } }).end();
}

/**
 * Replaces `res.json` for this request: the handler's result is serialised once, sent with an ETag
 * and X-Cache, and (when `store` is given and the status is 200) stored in the cache.
 */
function captureJson(req: Request, res: Response, result: CacheResult, store?: (body: Buffer) => Promise<unknown>): void {
  res.json = (value: unknown) => {
    const body = Buffer.from(JSON.stringify(value));
    const status = res.statusCode;
    sendBody(req, res, status, body, JSON_TYPE, etagOf(body), result);
    if (store && status === 200) void store(body);
    return res;
  };
}

/**
 * The response cache as Express middleware, for the cacheable GET routes: cache-aside with
 * `X-Cache: HIT | MISS | STALE | BYPASS`, ETag/304, tags, one fill per key across all replicas,
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
      captureJson(req, res, 'bypass');
      return next();
    }
    const input = res.locals.input as ValidatedInput;
    const vary = options.varyBy?.(req);
    const key = cacheKey(options.keyPrefix, options.operation, vary === undefined ? input : { ...input, vary });
    const tags = options.tags(input as { params: any; query: any }); // eslint-disable-line @typescript-eslint/no-explicit-any

    const endGet = startGetSpan(key, options.keyPrefix);
    const found = await cache.lookup(key, tags);
    if (found.state === 'hit') {
      endGet('hit');
      record('hit');
      return sendEntry(req, res, found.entry, 'hit');
    }
    if (found.state === 'unavailable') {
      // Redis down, hanging or owed invalidations: answer from the database, store nothing.
      endGet('error');
      record('error');
      captureJson(req, res, 'miss');
      return next();
    }

    if (found.state === 'expired') {
      // If the database fails while refreshing, this entry (past its TTL, never invalidated) is served.
      const stale = found.entry;
      offerStale(res, () => {
        markResult(key, options.keyPrefix, 'stale');
        record('stale');
        sendEntry(req, res, stale, 'stale');
      });
    }

    let versions = found.versions;
    const fill = await cache.acquireFill(key);
    if (fill.state === 'acquired') {
      // Another fill may have stored and released between this request's lookup and its lock: serve that entry
      // rather than read the database again (one more round trip, on misses only).
      const again = await cache.lookup(key, tags);
      if (again.state === 'hit') {
        void cache.releaseFill(key, fill.token);
        endGet('hit');
        record('hit');
        return sendEntry(req, res, again.entry, 'hit');
      }
      if (again.state !== 'unavailable') versions = again.versions;
    }
    if (fill.state === 'held') {
      // Another request (here or on another replica) is filling this key: wait for its entry, else read the
      // database without a lock.
      const filled = await cache.waitForFill(key, tags);
      if (filled) {
        endGet('hit');
        record('hit');
        return sendEntry(req, res, filled, 'hit');
      }
    }
    endGet('miss');
    record('miss');
    const token = fill.state === 'acquired' ? fill.token : null;
    captureJson(req, res, 'miss', async (body) => {
      await cache.store(key, body, JSON_TYPE, versions, options.ttl, req.originalUrl);
      if (token) await cache.releaseFill(key, token);
    });
    if (token) {
      // Release the fill lock if the handler fails, so waiters stop waiting at once.
      res.once('finish', () => { if (res.statusCode !== 200) void cache.releaseFill(key, token); });
    }
    next();
  };
}
