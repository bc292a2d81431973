/**
 * How many tags one Redis command carries at most. An organisation with tens of thousands of people invalidates
 * one `person:<id>` tag each: one command with all of them would block Redis (and every other client) while it
 * runs, and its arguments would fill the client's and the server's buffers.
 */
export const TAG_CHUNK = 500;

/** Splits `items` into runs of at most `size` (at least one run, empty when `items` is). */
export function chunked<T>(items: T[], size = TAG_CHUNK): T[][] {
  if (items.length <= size) return [items];
  const runs: T[][] = [];
  for (let i = 0; i < items.length; i += size) runs.push(items.slice(i, i + size));
  return runs;
}
