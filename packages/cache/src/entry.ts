/**
 * A cached response as stored in Redis: one header line of JSON, then the body bytes unchanged,
 * so a hit sends the stored bytes without parsing or re-serialising the body.
 */
import { createHash } from 'node:crypto';

/** An entry's header line. */
export interface EntryHeader {
  /** Strong ETag of the body. */
  e: string;
  /** Epoch ms until which the entry is fresh; after it, it may only be served as STALE (grace). */
  f: number;
  /** The token of each tag when the data was read: the entry is valid only while they all still match. */
  t: Record<string, string>;
  /**
   * The token of each tag the data showed (the ids on a page), read once the data was: the entry is valid only
   * while they all still match too. Absent when the response's tags were all known before its data was read.
   */
  p?: Record<string, string>;
  /** When it was stored (epoch ms): its age, on a hit's span. Absent in entries stored before it was recorded. */
  a?: number;
  /** The fill's `cache.set` span, `<trace id>-<span id>`, when it was traced: a hit's span links to it. */
  s?: string;
  /** Content type. */
  c: string;
  /** Set when the worker's read-driven refill stored it: that refill's id, so its first hit counts as used. */
  w?: string;
  /**
   * The request it answered (path and query, e.g. `/api/v1/organisations/7`): the consistency auditor GETs it again
   * to compare (the key's prefix and operation name the API). Absent in entries stored before it was recorded.
   */
  u?: string;
}

/** An entry read back: its header and its body. */
export interface Entry {
  header: EntryHeader;
  body: Buffer;
}

const NEWLINE = 0x0a;

/** The bytes stored for a response. */
export function encodeEntry(header: EntryHeader, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(JSON.stringify(header)), Buffer.from([NEWLINE]), body]);
}

/** Returns null for anything that is not a well-formed entry (treated as a miss). */
export function decodeEntry(raw: Buffer | null): Entry | null {
  if (!raw) return null;
  const split = raw.indexOf(NEWLINE);
  if (split < 0) return null;
  try {
    const header = JSON.parse(raw.subarray(0, split).toString('utf8')) as EntryHeader;
    if (typeof header.e !== 'string' || typeof header.f !== 'number' || typeof header.t !== 'object') return null;
    return { header, body: raw.subarray(split + 1) };
  } catch {
    return null;
  }
}

/** A strong ETag: the body's hash. */
export function etagOf(body: Buffer): string {
  return `"${createHash('sha1').update(body).digest('base64url')}"`;
}
