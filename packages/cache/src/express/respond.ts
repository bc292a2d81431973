/**
 * How a cached route's response leaves: the body with its strong ETag (or a 304), `X-Cache` and `Cache-Status`
 * (cache-status.ts) and `Cache-Control`, whether the body comes from an entry or from the handler's `res.json`.
 */
import type { Request, Response } from 'express';
import { etagOf, type Entry } from '../entry';
import type { CacheResult } from '../stats';
import { formatCacheStatus, freshnessLeft, type CacheStatus } from './cache-status';

/** What a response tells about the cache: `X-Cache` (the result, also counted) and `Cache-Status`. */
export interface CacheOutcome {
  result: CacheResult;
  status: CacheStatus;
}

/** The headers of every cached response, as OpenAPI 3.1 header objects (the route's 200; a 304 has them too). */
export const CACHE_RESPONSE_HEADERS = {
  'X-Cache': {
    description: 'HIT (from the cache), MISS (from the database), STALE (an expired entry served because the database failed), BYPASS (admin, or the cache off)',
    schema: { type: 'string', enum: ['HIT', 'MISS', 'STALE', 'BYPASS'] },
  },
  'Cache-Status': {
    description: 'RFC 9211, e.g. `crm-cache; hit; ttl=297`, `crm-cache; fwd=uri-miss; stored`, `crm-cache; fwd=miss; collapsed`, '
      + '`crm-cache; fwd=bypass`, `crm-cache; hit; ttl=-12; detail=stale`, `crm-cache; fwd=miss; detail=cache-unavailable`',
    schema: { type: 'string' },
  },
  ETag: { description: 'Strong; send it back in If-None-Match to get a 304', schema: { type: 'string' } },
  'Cache-Control': { description: '`private, no-cache`: revalidate with the ETag', schema: { type: 'string' } },
} as const;

/** A fresh entry served from the cache. */
export const hitOf = (entry: Entry): CacheOutcome => ({ result: 'hit', status: { hit: true, ttl: freshnessLeft(entry.header.f) } });

export const JSON_TYPE = 'application/json; charset=utf-8';

function notModified(req: Request, etag: string): boolean {
  const header = req.headers['if-none-match'];
  if (!header) return false;
  return header === '*' || header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

function sendBody(req: Request, res: Response, status: number, body: Buffer, contentType: string, etag: string, outcome: CacheOutcome): void {
  res.setHeader('X-Cache', outcome.result.toUpperCase());
  res.setHeader('Cache-Status', formatCacheStatus(outcome.status));
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

/** Sends a cached entry (200, or 304 when the client has it). */
export const sendEntry = (req: Request, res: Response, entry: Entry, outcome: CacheOutcome) =>
  sendBody(req, res, 200, entry.body, entry.header.c, entry.header.e, outcome);

/**
 * Replaces `res.json` for this request: the handler's result is serialised once and sent with an ETag and the
 * cache headers. With `store`, a 200 is stored first (it resolves true when the entry was written), so
 * `Cache-Status` says `stored` only of a response the cache really holds: one Redis round trip before a miss answers.
 */
export function captureJson(req: Request, res: Response, outcome: CacheOutcome, store?: (body: Buffer, value: unknown) => Promise<boolean>): void {
  res.json = (value: unknown) => {
    const body = Buffer.from(JSON.stringify(value));
    const status = res.statusCode;
    const send = (stored: boolean) => sendBody(req, res, status, body, JSON_TYPE, etagOf(body),
      stored && 'fwd' in outcome.status ? { ...outcome, status: { ...outcome.status, stored: true } } : outcome);
    if (store && status === 200) void store(body, value).catch(() => false).then(send);
    else send(false);
    return res;
  };
}
