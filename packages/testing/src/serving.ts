import { waitFor } from './wait';

/**
 * What waitUntilServing needs of a cache (the ResponseCache of @crm/cache fits): a namespace, and a lookup that
 * answers `unavailable` while the cache cannot serve. Structural, so this package does not depend on the cache.
 */
export interface ServingCache {
  readonly namespace: string;
  lookup(key: string, tags: string[]): Promise<{ state: string }>;
}

/**
 * Waits until a cache serves: its client is connected, nothing is owed, and the outbox replay that any dropped
 * connection calls for is done. A cluster client's first connection can drop and retry on a loaded machine, and
 * each drop is an outage to replay before serving; a harness waits for that before its tests start. Polls a lookup
 * of a key nothing stores (a lookup is what runs the replay).
 */
export async function waitUntilServing(cache: ServingCache, timeoutMs = 15_000): Promise<void> {
  await waitFor(async () => (await cache.lookup('~serving', [])).state !== 'unavailable', `the cache (${cache.namespace}) to serve`, timeoutMs);
}
