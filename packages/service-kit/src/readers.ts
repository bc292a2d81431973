/**
 * Who reads what, as the cache middleware records it for the worker's read-driven refills: a client's read is the
 * reader `<service> <path below /api/v1, query sorted>` (the worker GETs exactly that). The worker's own requests
 * (its WARMUP_TOKEN credential) are never recorded as reads: with REFILL_HEADER they are refills, else fixed warm-up.
 */
import type { Request } from 'express';
import type { ReaderTracking } from '@crm/cache/express';
import { API_BASE } from '@crm/http';
import { readerOf, REFILL_HEADER, type ApiService } from '@crm/jobs';

/** Longer paths are not recorded: readers are Redis members, kept short. */
const MAX_READER_PATH = 512;

/** The path a worker would GET for the same response (query sorted, so parameter order makes one reader), or null. */
function readerPath(req: Request): string | null {
  let url: URL;
  try {
    url = new URL(req.originalUrl, 'http://reader.invalid');
  } catch {
    return null;
  }
  if (!url.pathname.startsWith(`${API_BASE}/`)) return null;
  url.searchParams.sort();
  const query = url.searchParams.toString();
  const path = `${url.pathname.slice(API_BASE.length)}${query ? `?${query}` : ''}`;
  return path.length > MAX_READER_PATH ? null : path;
}

/** The reader tracking of one API's cached routes; `onRefill` counts refills stored and first hit. */
export function readerTracking(service: ApiService, onRefill?: (kind: 'done' | 'used') => void): ReaderTracking {
  return {
    identify: (req) => {
      const path = readerPath(req);
      if (!path) return null;
      const by = !req.principal?.internal ? 'client' : req.get(REFILL_HEADER) === '1' ? 'refill' : 'warmup';
      return { reader: readerOf({ service, path }), by };
    },
    ...(onRefill ? { onRefill } : {}),
  };
}
