/**
 * The cache policy: each API's cached views (organisations-api.ts, people-api.ts), the closed set of prefixes
 * with their TTLs, and what derives from the views (TTL table, warm-up targets).
 */
export { CachePrefix, PREFIX_TTLS } from './prefixes';
export {
  view, apiPolicy, pathOf, paramNames, ttlOf,
  type CachedView, type ViewSpec, type ViewInput, type PathParams, type ApiPolicy, type RefillAfter, type StartupWarmup,
  type Write, type WrittenEntity,
} from './view';
export { writtenUnlessDeleted, anyWrite, mandatOrganisation } from './refills';
export { organisationsApi } from './organisations-api';
export { peopleApi } from './people-api';
export { API_POLICIES, allViews, ttlTable, type ServedView, type TtlTable } from './policies';
export { warmupTargetsFor, startupWarmupTargets } from './warmup';
