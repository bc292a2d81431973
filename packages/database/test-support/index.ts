// `@crm/database/testing`: the database helpers of the tests (and the benchmarks' data set-up), never of the
// services: the test database, emptying it, connections of a test's own, and what PostgreSQL plans for a route.
export { TEST_DATABASE_URL, prepareTestDatabase, truncateAll, connectClient, withClient } from './database';
export { recordStatements, sequentialScans, listSeqScans, routeSeqScans, type PlanReads, type PlannedApi, type SentStatement } from './plans';
