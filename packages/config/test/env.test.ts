import { parseEnv, InvalidEnvironmentError, DEV_JWT_SECRET } from '../src/env';

describe('parseEnv', () => {
  it('applies the contract defaults', () => {
    const env = parseEnv({});
    expect(env.DATABASE_URL).toBe('postgres://postgres@127.0.0.1:5432/crm');
    expect(env.REDIS_URL).toBe('redis://127.0.0.1:6379/0');
    expect(env.QUEUE_REDIS_URL).toBe('redis://127.0.0.1:6379/1');
    expect(env.CACHE_ENABLED).toBe(true);
    expect([env.ORGANISATIONS_API_PORT, env.PEOPLE_API_PORT, env.CACHE_WORKER_PORT]).toEqual([3001, 3002, 3003]);
    expect(env.JWT_SECRET).toBe(DEV_JWT_SECRET);
    expect(env.usingDevJwtSecret).toBe(true);
    expect(env.LOG_LEVEL).toBe('info');
  });

  it('bounds every statement and every wait for a pooled connection, configurably', () => {
    expect(parseEnv({})).toMatchObject({ DATABASE_STATEMENT_TIMEOUT_MS: 5_000, DATABASE_ACQUIRE_TIMEOUT_MS: 2_000 });
    expect(parseEnv({ DATABASE_STATEMENT_TIMEOUT_MS: '30000', DATABASE_ACQUIRE_TIMEOUT_MS: '500' }))
      .toMatchObject({ DATABASE_STATEMENT_TIMEOUT_MS: 30_000, DATABASE_ACQUIRE_TIMEOUT_MS: 500 });
    for (const [variable, value] of [['DATABASE_STATEMENT_TIMEOUT_MS', '0'], ['DATABASE_STATEMENT_TIMEOUT_MS', '5s'], ['DATABASE_ACQUIRE_TIMEOUT_MS', '-1']]) {
      expect(() => parseEnv({ [variable!]: value })).toThrow(new RegExp(variable!));
    }
  });

  it('builds the cache URL from REDIS_HOST/PORT/PASSWORD/DB when REDIS_URL is unset', () => {
    const env = parseEnv({ REDIS_HOST: 'cache', REDIS_PORT: '6380', REDIS_PASSWORD: 'p@ss', REDIS_DB: '2' });
    expect(env.REDIS_URL).toBe('redis://:p%40ss@cache:6380/2');
    expect(env.QUEUE_REDIS_URL).toBe('redis://:p%40ss@cache:6380/3');
  });

  it('reads cluster seed nodes for the cache; the queues share that cluster unless told otherwise', () => {
    const env = parseEnv({ REDIS_CLUSTER_NODES: 'redis-0:7000, 10.0.0.2:7001,[::1]:7002', REDIS_PASSWORD: 'pw' });
    const nodes = [{ host: 'redis-0', port: 7000 }, { host: '10.0.0.2', port: 7001 }, { host: '::1', port: 7002 }];
    expect(env.REDIS_CLUSTER_NODES).toEqual(nodes);
    expect(env.cacheRedis).toEqual({ clusterNodes: nodes, password: 'pw' });
    expect(env.QUEUE_REDIS_CLUSTER_NODES).toEqual(nodes);
    expect(env.queueRedis).toEqual({ clusterNodes: nodes, password: 'pw' });
    // A queue cluster of its own, or a single queue server named explicitly.
    expect(parseEnv({ REDIS_CLUSTER_NODES: 'a:1', QUEUE_REDIS_CLUSTER_NODES: 'q:2' }).queueRedis).toEqual({ clusterNodes: [{ host: 'q', port: 2 }] });
    expect(parseEnv({ REDIS_CLUSTER_NODES: 'a:1', QUEUE_REDIS_URL: 'redis://q:6379/0' }).queueRedis).toBe('redis://q:6379/0');
    // Without a cluster, both stay URLs.
    const plain = parseEnv({});
    expect([plain.cacheRedis, plain.queueRedis, plain.REDIS_CLUSTER_NODES]).toEqual(['redis://127.0.0.1:6379/0', 'redis://127.0.0.1:6379/1', null]);
  });

  it.each(['redis-0', 'redis-0:', 'redis-0:7000,', 'redis-0:70000', 'redis://redis-0:7000', 'a:1 b:2'])('rejects REDIS_CLUSTER_NODES=%j with a message naming the bad node', (value) => {
    expect(() => parseEnv({ REDIS_CLUSTER_NODES: value })).toThrow(/REDIS_CLUSTER_NODES must be comma-separated host:port/);
    expect(() => parseEnv({ QUEUE_REDIS_CLUSTER_NODES: value })).toThrow(/QUEUE_REDIS_CLUSTER_NODES/);
  });

  it('reads CACHE_ENABLED=false and per-prefix TTLs', () => {
    const env = parseEnv({ CACHE_ENABLED: 'false', CACHE_TTL_ORGANISATIONS: '42' });
    expect(env.CACHE_ENABLED).toBe(false);
    expect(env.cacheTtlOverrides).toEqual({ organisations: 42 });
  });

  it.each([
    ['ORGANISATIONS_API_PORT', 'abc'],
    ['DATABASE_URL', 'mysql://x'],
    ['REDIS_URL', 'localhost:6379'],
    ['CACHE_ENABLED', 'maybe'],
    ['LOG_LEVEL', 'loud'],
    ['CACHE_TTL_PEOPLE', '-5'],
    ['JWT_SECRET', 'short'],
  ])('rejects a bad %s and names it', (variable, value) => {
    expect(() => parseEnv({ [variable]: value })).toThrow(InvalidEnvironmentError);
    expect(() => parseEnv({ [variable]: value })).toThrow(new RegExp(variable));
  });

  it('refuses the dev JWT secret in production', () => {
    expect(() => parseEnv({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET/);
    expect(parseEnv({ NODE_ENV: 'production', JWT_SECRET: 'a-real-secret-of-some-length' }).usingDevJwtSecret).toBe(false);
  });
});
