// `npm run test:cluster`: the cache and invalidation suite again, on a Redis Cluster (../../scripts/jest-redis-cluster.cjs).
module.exports = require('../../scripts/jest-redis-cluster.cjs').clusterConfig(require('./jest.config.cjs'), [
  'cache.test.ts',
]);
