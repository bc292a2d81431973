/**
 * Deleting this application's keys under a prefix: the admin path (DELETE /cache, an admin's invalidation of a
 * prefix), never a request path. SCAN in batches and UNLINK, never FLUSHDB; the stats hash is never deleted.
 */
import { dataNodes, isCluster, type RedisClient } from '@crm/redis';
import type { CacheKeys } from './keys';

/**
 * Deletes the keys under `<prefix>` (every key of the namespace when empty) and answers how many. On a cluster,
 * on each master (SCAN sees one node's keys), one key per UNLINK (a batch would span slots). Rejects when Redis does.
 */
export async function deletePrefix(redis: RedisClient, keys: CacheKeys, prefix: string): Promise<number> {
  let deleted = 0;
  const cluster = isCluster(redis);
  for (const node of dataNodes(redis)) {
    for (const match of keys.scanPatterns(prefix)) {
      let cursor = '0';
      do {
        const [next, found] = await node.scan(cursor, 'MATCH', match, 'COUNT', 500);
        cursor = next;
        const deletable = found.filter((k) => k !== keys.stats);
        if (deletable.length === 0) continue;
        deleted += cluster
          ? (await Promise.all(deletable.map((k) => node.unlink(k)))).reduce((a, b) => a + b, 0)
          : await node.unlink(...deletable);
      } while (cursor !== '0');
    }
  }
  return deleted;
}
