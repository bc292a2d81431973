/**
 * The cache worker's warm-up targets, derived from the policies: what to refill after a write (each view's
 * `refillAfter`) and at start (each view's `warmAtStartup`). Targets are GETs through the API, so the worker
 * stores exactly the bytes and key a reader would.
 */
import type { WarmupTarget } from '@crm/jobs';
import { allViews } from './policies';
import { pathOf, paramNames, type Write } from './view';

/** What to refill after a write, in policy order: e.g. an organisation's detail (unless deleted) and the first page of the list. */
export function warmupTargetsFor(write: Write): WarmupTarget[] {
  return allViews().flatMap(({ service, view }) => {
    // Own properties only: an entity named like an Object method (`constructor`) refills nothing.
    const refill = Object.hasOwn(view.refillAfter, write.entity) ? view.refillAfter[write.entity as keyof typeof view.refillAfter] : undefined;
    const params = refill?.(write);
    return params ? [{ service, path: pathOf(view, params) }] : [];
  });
}

/**
 * The start-up warm-up: first every view without parameters, then, for each view with an id, one target per id
 * its SQL selects (`selectIds` runs it; the queries run at once).
 */
export async function startupWarmupTargets(selectIds: (sql: string) => Promise<number[]>): Promise<WarmupTarget[]> {
  const views = allViews();
  const once = views.flatMap(({ service, view }) => (view.warmAtStartup === true ? [{ service, path: pathOf(view, {}) }] : []));
  const perId = await Promise.all(views.map(async ({ service, view }) => {
    const startup = view.warmAtStartup;
    if (startup === null || startup === true) return [];
    const ids = await selectIds(startup.ids);
    return ids.map((id) => ({ service, path: pathOf(view, Object.fromEntries(paramNames(view.path).map((name) => [name, id]))) }));
  }));
  return [...once, ...perId.flat()];
}
