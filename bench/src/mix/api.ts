/** One JSON request of the freshness checkers (./freshness.ts, ./pages.ts), with the X-Cache it was answered with. */

export interface ApiAnswer {
  status: number;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** X-Cache (HIT, MISS, STALE, BYPASS), `none` when the route sent none. */
  xCache: string;
}

/** `method` `url` as the bearer of `token`, 10 s at most; the body parsed as JSON. */
export async function api(url: string, token: string, method = 'GET', body?: unknown): Promise<ApiAnswer> {
  const response = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined, xCache: response.headers.get('x-cache') ?? 'none' };
}

/** Served from the cache: a hit, or an entry past its TTL served while the database failed. */
export const fromCache = (xCache: string) => xCache === 'HIT' || xCache === 'STALE';
