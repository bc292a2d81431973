// `npm run test:cluster`: the invalidation, warm-up and refill suites again, cache and queues on a Redis Cluster
// (../scripts/jest-redis-cluster.cjs). Not here: outages.test.ts hangs and kills Redis servers of its own;
// cluster.test.ts starts a cluster of its own; tracing, dashboard-and-shutdown and browser are about spans, the
// dashboard and the pages, not the cache. replicas.test.ts (several workers and replicas) would fit but has not
// been run on a cluster yet.
// forceExit comes with jest.config.cjs (BullMQ's cluster recovery can keep a stopped cluster's client alive).
module.exports = require('../scripts/jest-redis-cluster.cjs').clusterConfig(require('./jest.config.cjs'), [
  'flow.test.ts',
  'refills.test.ts',
  'freshness.test.ts',
  'worker-killed.test.ts',
]);
