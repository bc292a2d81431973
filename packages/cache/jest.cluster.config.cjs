// `npm run test:cluster`: the applied-once invalidation, tag-token (expiry, 500-tag chunks) and reader-log suites again, on a Redis Cluster (../../scripts/jest-redis-cluster.cjs).
// Not here: redis-faults, loop-stall and eviction-policy run servers of their own to hang, kill or configure;
// cluster.test.ts starts its own cluster.
module.exports = require('../../scripts/jest-redis-cluster.cjs').clusterConfig(require('./jest.config.cjs'), [
  'apply-event.test.ts',
  'tokens.test.ts',
  'readers.test.ts',
]);
