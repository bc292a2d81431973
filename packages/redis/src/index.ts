export type { RedisNode, RedisTarget } from '@crm/config';
export { createRedis, clusterOptions, type RedisClient, type RedisClientOptions, type RedisProfile } from './client';
export { isCluster, dataNodes, pingRedis, checkCacheEvictionPolicy, checkQueueEvictionPolicy } from './nodes';
