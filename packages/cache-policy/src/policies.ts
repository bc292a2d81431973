/**
 * Every API's policy in one table the compiler checks against the job contract's services, and what derives from
 * them: the list of all views and the TTL table (by prefix and operation).
 */
import type { ApiService } from '@crm/jobs';
import { organisationsApi } from './organisations-api';
import { peopleApi } from './people-api';
import { CachePrefix, PREFIX_TTLS } from './prefixes';
import type { ApiPolicy, CachedView } from './view';

/** Each API's policy; an API without one does not compile. */
export const API_POLICIES = {
  'organisations-api': organisationsApi,
  'people-api': peopleApi,
} as const satisfies Record<ApiService, ApiPolicy>;

/** A view with the API that serves it. */
export interface ServedView {
  service: ApiService;
  name: string;
  view: CachedView;
}

/** Every view of every API, in policy order (organisations-api first, each API's views as declared). */
export function allViews(): ServedView[] {
  return Object.values(API_POLICIES).flatMap((policy: ApiPolicy) =>
    Object.entries(policy.views).map(([name, view]) => ({ service: policy.service, name, view })));
}

/** TTLs in seconds by prefix, then operation; `*` is the prefix's own, for any operation no view names. */
export type TtlTable = Record<CachePrefix, Record<string, number>>;

/** The TTL table, derived from the views (before `CACHE_TTL_<PREFIX>` overrides). */
export function ttlTable(views: readonly CachedView[] = allViews().map((v) => v.view)): TtlTable {
  const table = {} as TtlTable;
  for (const prefix of Object.values(CachePrefix)) table[prefix] = { '*': PREFIX_TTLS[prefix] };
  for (const view of views) table[view.prefix][view.operation] = view.ttl;
  return table;
}
