// `npm run test:cluster`: the worker's HTTP side again, its cache and queue Redis on a Redis Cluster
// (../../scripts/jest-redis-cluster.cjs). The system tests (both APIs and the worker together) have their own
// cluster run in system-tests/.
module.exports = require('../../scripts/jest-redis-cluster.cjs').clusterConfig(require('./jest.config.cjs'), [
  'worker.test.ts',
]);
