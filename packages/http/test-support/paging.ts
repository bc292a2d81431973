import type request from 'supertest';

/** A GET as a reader. */
export type ReaderGet = (url: string) => PromiseLike<request.Response>;

const withQuery = (path: string) => (path.includes('?') ? '&' : '?');

/**
 * Every id of a list, walked with cursors `limit` at a time; `onCursorPage` sees each page fetched by cursor.
 * Stops past 1,000 ids: a cursor that repeats rows would walk for ever.
 */
export async function walkCursors(get: ReaderGet, path: string, limit: number, onCursorPage?: (res: request.Response) => void): Promise<number[]> {
  const ids: number[] = [];
  let res = await get(`${path}${withQuery(path)}limit=${limit}`);
  for (;;) {
    expect(res.status).toBe(200);
    ids.push(...res.body.items.map((o: { id: number }) => o.id));
    if (!res.body.nextCursor || ids.length > 1_000) return ids;
    res = await get(`${path}${withQuery(path)}limit=${limit}&cursor=${res.body.nextCursor}`);
    onCursorPage?.(res);
  }
}

/** The ids of a list's first offset page of 500: the order a cursor walk must give. */
export async function offsetIds(get: ReaderGet, path: string): Promise<number[]> {
  const res = await get(`${path}${withQuery(path)}limit=500`);
  expect(res.status).toBe(200);
  return res.body.items.map((o: { id: number }) => o.id);
}
