/**
 * Which entry the auditor checks next: a bounded SCAN from a random cursor on one master (a cluster spreads entries
 * over its masters: each is picked at random), then one of the entries found, drawn with a weight of 1 / (1 + seconds
 * since it was last read). No record of recently read keys exists, but Redis keeps each key's idle time for its LRU
 * (OBJECT IDLETIME, which does not touch the key): hot entries are drawn far more often (a stale hot entry is the one
 * that does harm) and cold ones still now and then. Under an LFU policy Redis keeps no idle time: all weigh the same.
 */
import { randomInt } from 'node:crypto';
import { dataNodes, type RedisClient } from '@crm/redis';

/** How many keys one SCAN call looks at (a hint to Redis): the bound of a tick's work. */
const SCAN_COUNT = 64;
/** How many of the entries found are compared by idle time (one pipelined round trip). */
const CANDIDATES = 16;

/**
 * Samples one entry key (without its namespace, as the cache's methods take it) of those `accept` admits, or null
 * when the SCAN found none this time. `match` is the SCAN pattern of the namespace's entries.
 */
export async function sampleEntryKey(redis: RedisClient, namespace: string, accept: (key: string) => boolean): Promise<string | null> {
  const nodes = dataNodes(redis);
  const node = nodes[randomInt(nodes.length || 1)];
  if (!node) return null;
  // Redis masks a cursor to its table's size: any number is a valid place to start (SCAN visits buckets, not keys).
  const scan = (cursor: string) => node.scan(cursor, 'MATCH', `${namespace}:*`, 'COUNT', SCAN_COUNT);
  const [next, found] = await scan(String(randomInt(2 ** 32)));
  // A start near the end of the table sees little: wrap around once, so the first buckets are not left out.
  if (next === '0' && found.length < CANDIDATES) found.push(...(await scan('0'))[1]);
  const keys = [...new Set(found)].map((k) => k.slice(namespace.length + 1)).filter(accept).slice(0, CANDIDATES);
  if (keys.length <= 1) return keys[0] ?? null;
  const pipeline = node.pipeline();
  for (const key of keys) pipeline.object('IDLETIME', `${namespace}:${key}`);
  const replies = (await pipeline.exec()) ?? [];
  const weights = keys.map((_, i) => {
    const [error, idle] = replies[i] ?? [new Error('no reply')];
    return error ? 1 : 1 / (1 + Number(idle));
  });
  let draw = Math.random() * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < keys.length; i++) {
    draw -= weights[i]!;
    if (draw <= 0) return keys[i]!;
  }
  return keys.at(-1)!;
}
