// `npm run test:cluster`: the cache and invalidation suites again, on a Redis Cluster (../../scripts/jest-redis-cluster.cjs).
// Not here: redis-outage.test.ts hangs and kills a Redis server of its own; replica.test.ts is about PostgreSQL
// replicas (a primary and a replica of its own); the others do not use the cache.
module.exports = require('../../scripts/jest-redis-cluster.cjs').clusterConfig(require('./jest.config.cjs'), [
  'cache.test.ts',
  'stale-set.test.ts',
  'metrics.test.ts',
]);
