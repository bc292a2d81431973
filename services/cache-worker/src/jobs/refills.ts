import type { ResponseCache } from '@crm/cache';
import { readerOf, refillTargetOf, type WarmupTarget } from '@crm/jobs';
import type { WorkerMetrics } from '../metrics';

/** Read-driven refills per event at most: a write touching a hot list does not turn into thousands of GETs. */
export const MAX_REFILLS = 100;

/**
 * A warm-up job with refills waits this long, so writes a few milliseconds apart (one client's successive edits)
 * are covered by one refill: a reader is taken again only once its pending refill has started (see ReaderLog). Short,
 * since every client read of the entry until the refill is a miss.
 */
export const REFILL_DELAY_MS = 50;

/** What an event's warm-up GETs: its targets (fixed ones first, each path once), how many are refills, and its delay. */
export interface EventWarmup {
  targets: WarmupTarget[];
  refills: number;
  delayMs: number;
}

/**
 * After an event was applied: the fixed targets (the policy's, which the contract requires) plus the invalidated
 * entries clients read recently (taken from the cache's reader log, once per burst), deduplicated by path; a
 * target in both is marked as a refill, since a client did read it.
 */
export async function refillTargets(cache: ResponseCache, tags: string[], fixed: WarmupTarget[], metrics: Pick<WorkerMetrics, 'refillTargets' | 'refillsWasted'>): Promise<EventWarmup> {
  const taken = await cache.readers.take(tags, MAX_REFILLS);
  if (taken.wasted > 0) metrics.refillsWasted.inc(taken.wasted);
  const refills = taken.readers.flatMap((reader) => refillTargetOf(reader) ?? []);
  metrics.refillTargets.inc(refills.length);
  const byPath = new Map<string, WarmupTarget>(fixed.map((t) => [readerOf(t), t]));
  for (const target of refills) byPath.set(readerOf(target), target);
  return { targets: [...byPath.values()], refills: refills.length, delayMs: refills.length > 0 ? REFILL_DELAY_MS : 0 };
}
