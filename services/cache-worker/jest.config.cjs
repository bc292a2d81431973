module.exports = {
  ...require('../../jest.preset.cjs'),
  // After cluster.test.ts stops its Redis Cluster, BullMQ 6.7's cluster recovery (RedisConnection
  // .connectClusterWithTimeout) may have reconnected a closing worker's blocking connection; that Cluster then
  // refreshes its slots every second for good and jest never exits (seen in a CI run: every test passed, then a
  // hang). The services exit explicitly after shutting down, and so does this run.
  forceExit: true,
};
