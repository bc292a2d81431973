/**
 * The middleware's part in read-driven refills (see ../readers.ts): a client's hit or fill records its reader; the
 * worker's refill GET stores its entry marked with a refill id, after noting when; the first hit on such an entry
 * counts that refill as used.
 */
import type { Request } from 'express';
import type { Entry, EntryHeader } from '../entry';
import type { ResponseCache, StoreResult } from '../response-cache';
import { newToken } from '../tokens';

/** Who sends a request: a client, the worker refilling what clients read, or the worker's fixed warm-up. */
export type ReadBy = 'client' | 'refill' | 'warmup';

/** How an API names a request's reader (service-kit: its service name, the path, the worker's credential). */
export interface ReaderTracking {
  /** The request's reader (`<service> <path?query>`) and who sends it; null: not tracked. */
  identify: (req: Request) => { reader: string; by: ReadBy } | null;
  /** Counts refills stored (`done`) and first hit (`used`), e.g. for Prometheus. */
  onRefill?: (kind: 'done' | 'used') => void;
}

/** One request's part: `roleScoped` responses (keyed by role) record nothing, since a refill reads as a reader. */
export function trackReaders(cache: ResponseCache, tracking: ReaderTracking | undefined, req: Request, roleScoped: boolean) {
  const who = tracking && !roleScoped ? tracking.identify(req) : null;
  return {
    /**
     * A refill's step before its lookup, which ends the burst of writes it covers (ReaderLog.refillStarts); null
     * for any other request, so a client's hit awaits nothing more.
     */
    beforeLookup: who?.by === 'refill' ? () => cache.readers.refillStarts(who.reader) : null,
    /** The request is served `entry` from the cache. */
    hit(key: string, tags: string[], entry: Entry): void {
      if (who?.by !== 'client') return;
      const id = entry.header.w;
      void cache.readers.recordHit(who.reader, tags, entry.header.a, id === undefined ? undefined : { key, id })
        .then((first) => { if (first) tracking?.onRefill?.('used'); });
    },
    /** The request read the database: `store` its response (a refill's marked), and record a client's read. True once stored. */
    async store(tags: string[], store: (marks: Pick<EntryHeader, 'w'>) => Promise<StoreResult>): Promise<boolean> {
      if (who?.by !== 'refill') {
        const stored = await store({});
        if (who?.by === 'client') cache.readers.record(who.reader, tags, { kind: stored.state === 'stored' ? 'fill' : 'unstored' });
        return stored.state === 'stored';
      }
      if (!(await cache.readers.markRefilled(who.reader))) return false;
      const stored = await store({ w: newToken() });
      if (stored.state !== 'stored') return false;
      cache.readers.countDone();
      tracking?.onRefill?.('done');
      return true;
    },
  };
}
