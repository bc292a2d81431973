// Fixtures for tests and benchmarks only: a devDependency, never imported by production code (any src/ of
// packages/ or services/; test/no-testing-in-src.test.ts checks). Depends on nothing of the platform but its
// Redis client package, so every package's tests may use it without a dependency cycle.
export { waitFor, type WaitOptions } from './wait';
export {
  TEST_QUEUE_URL, testRedisCluster, testCacheRedis, testRedisEnv, clusterNodesEnv, unreachableTestRedis,
} from './env';
export { keysOnEveryNode, deleteNamespaceKeys } from './redis-keys';
export { waitUntilServing, type ServingCache } from './serving';
export { RedisServer, type RedisServerOptions } from './redis-server';
export { RedisCluster, type RedisClusterOptions, type KilledMaster } from './redis-cluster';
export { startReplicaCluster, type ReplicaCluster, type ReplicaClusterOptions } from './postgres-replica';
export {
  freePort, spawnCaptured, startServiceProcess, stopProcess, type Captured, type ServiceEntry, type ServiceProcess,
} from './processes';
