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
export function captureJson(req: Request, res: Response, outcome: CacheOutcome, store?: (body: Buffer) => Promise<boolean>): void {
  res.json = (value: unknown) => {
    const body = Buffer.from(JSON.stringify(value));
    const status = res.statusCode;
    const send = (stored: boolean) => sendBody(req, res, status, body, JSON_TYPE, etagOf(body),
      stored && 'fwd' in outcome.status ? { ...outcome, status: { ...outcome.status, stored: true } } : outcome);
    if (store && status === 200) void store(body).catch(() => false).then(send);
    else send(false);
    return res;
  };
}
