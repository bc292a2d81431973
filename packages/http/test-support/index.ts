// `@crm/http/test-support`: what the APIs' tests share (tests only; never shipped): property-based fuzzing of every
// documented route, the Location and cached-detail suite, cursor walks. The OpenAPI checks, whose tools are heavier,
// are `@crm/http/openapi-check`.
export * from './fuzz';
export { fuzzSuite, type FuzzSuite } from './fuzz-suite';
export { locationSuite, type CachedDetail, type Located, type LocationSuite } from './locations';
export { walkCursors, offsetIds, type ReaderGet } from './paging';
export { apiForTests, type ApiUnderTest } from './api';
