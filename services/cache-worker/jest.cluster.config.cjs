// `npm run test:cluster`: the invalidation and warm-up suites again, cache and queues on a Redis Cluster
// (../../scripts/jest-redis-cluster.cjs). Not here: outages.test.ts hangs and kills Redis servers of its own;
// cluster.test.ts starts a cluster of its own; tracing, dashboard-and-shutdown and browser are about spans, the
// dashboard and the pages, not the cache. replicas.test.ts (several workers and replicas) would fit but has not
// been run on a cluster yet.
const config = require('../../scripts/jest-redis-cluster.cjs').clusterConfig(require('./jest.config.cjs'), [
  'worker.test.ts',
  'flow.test.ts',
  'freshness.test.ts',
  'worker-killed.test.ts',
]);
module.exports = {
  ...config,
  // On a loaded machine, BullMQ 6.7's cluster recovery (RedisConnection.connectClusterWithTimeout) can reconnect a
  // worker's blocking connection while the worker closes; that Cluster then refreshes its slots every second for
  // good, and jest never exits once the cluster is stopped. The services exit explicitly after shutting down (and
  // so must this run), after the global teardown stopped the cluster.
  forceExit: true,
};
