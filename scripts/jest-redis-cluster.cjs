// The cluster runs (`npm run test:cluster`, each package's jest.cluster.config.cjs): the cache and invalidation
// suites again, on a real Redis Cluster instead of the local Redis server. This module is their jest globalSetup:
// it starts a throwaway cluster (RedisCluster from @crm/testing: three masters, three replicas on ports 7201-7206, the
// cluster bus on 17201-17206, each node in a temporary directory) and sets TEST_REDIS_CLUSTER_NODES, the switch the
// test harnesses read (testRedisCluster in @crm/testing). jest-redis-cluster-teardown.cjs stops it and removes the
// directories; should jest die first, the nodes are killed and the directories removed as its process exits.
'use strict';
const path = require('node:path');
const { createRequire } = require('node:module');

/** Not the ports of the cluster tests (7101-7106): both may run on one machine at once. */
const PORTS = [7201, 7202, 7203, 7204, 7205, 7206];
const KEY = Symbol.for('crm.test.redisCluster');

/**
 * A package's cluster-run jest config: its own config, limited to `testFiles` (under test/), with the cluster
 * started before them and stopped after. Reporters are the package's own, so the summary line counts this run too.
 */
function clusterConfig(base, testFiles) {
  return {
    ...base,
    testMatch: testFiles.map((file) => `<rootDir>/test/${file}`),
    globalSetup: require.resolve('./jest-redis-cluster.cjs'),
    globalTeardown: require.resolve('./jest-redis-cluster-teardown.cjs'),
    // The suites run in jest's own process (maxWorkers 1): a client a suite leaves reconnecting to the cluster, which
    // the teardown has just stopped, would hold that process open for ever. Each suite closes its clients; this is the
    // backstop, so a leak shows as jest's "did not exit" warning rather than a hung CI.
    forceExit: true,
  };
}

async function setup(_globalConfig, projectConfig) {
  // @crm/testing as the package under test resolves it (a devDependency of each; its build: turbo builds before test:cluster).
  const { RedisCluster } = createRequire(path.join(projectConfig.rootDir, 'package.json'))('@crm/testing');
  const cluster = await RedisCluster.start({ ports: PORTS });
  globalThis[KEY] = cluster;
  process.env.TEST_REDIS_CLUSTER_NODES = cluster.nodesEnv;
}

async function teardown() {
  const cluster = globalThis[KEY];
  delete globalThis[KEY];
  delete process.env.TEST_REDIS_CLUSTER_NODES;
  await cluster?.stop();
}

module.exports = setup;
module.exports.clusterConfig = clusterConfig;
module.exports.teardown = teardown;
