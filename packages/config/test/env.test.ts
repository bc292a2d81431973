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

  it("reads the consistency auditor's rate: 2 checks a second by default, 0 turns it off, a bad value names the variable", () => {
    expect(parseEnv({}).CACHE_AUDIT_PER_SECOND).toBe(2);
    expect(parseEnv({ CACHE_AUDIT_PER_SECOND: '0' }).CACHE_AUDIT_PER_SECOND).toBe(0);
    expect(parseEnv({ CACHE_AUDIT_PER_SECOND: '0.5' }).CACHE_AUDIT_PER_SECOND).toBe(0.5);
    for (const value of ['-1', 'fast', '5000']) expect(() => parseEnv({ CACHE_AUDIT_PER_SECOND: value })).toThrow(/CACHE_AUDIT_PER_SECOND/);
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
    expect(() => parseEnv({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET must be set when NODE_ENV=production/);
    expect(parseEnv({ NODE_ENV: 'production', JWT_SECRET: STRONG }).usingDevJwtSecret).toBe(false);
  });
});

// 32 random bytes, hex: what `openssl rand -hex 32` prints.
const STRONG = '5f1c9a0e7b3d4f2a8c6e1b0d9f7a5c3e2b4d6f8a0c1e3b5d7f9a2c4e6b8d0f1a';

describe('production secrets', () => {
  it('refuses a JWT secret shorter than 32 bytes, counting bytes rather than characters', () => {
    expect(() => parseEnv({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(31) })).toThrow(/JWT_SECRET must be at least 32 bytes/);
    expect(parseEnv({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) }).JWT_SECRET).toHaveLength(32);
    // 16 characters, 32 bytes in UTF-8.
    expect(parseEnv({ NODE_ENV: 'production', JWT_SECRET: 'é'.repeat(16) }).JWT_SECRET).toBe('é'.repeat(16));
    // Outside production a short secret (16+) still works, for local tries.
    expect(parseEnv({ NODE_ENV: 'development', JWT_SECRET: 'x'.repeat(16) }).JWT_SECRET).toHaveLength(16);
  });

  it.each([
    ['the dev default', DEV_JWT_SECRET],
    ["the old compose default", 'compose-local-jwt-secret-change-me-7f3a9c2e'],
    ['a k8s placeholder padded to length', `REPLACE-ME-${'x'.repeat(40)}`],
  ])('refuses %s as JWT_SECRET in production', (_what, secret) => {
    expect(() => parseEnv({ NODE_ENV: 'production', JWT_SECRET: secret })).toThrow(/JWT_SECRET is a value published in this repository/);
  });

  it.each([
    ['DATABASE_URL', 'postgres://crm:REPLACE-ME@postgres:5432/crm'],
    ['DATABASE_REPLICA_URLS', 'postgres://crm:REPLACE-ME@replica:5432/crm'],
    ['REDIS_URL', 'redis://:REPLACE-ME@redis-cache:6379/0'],
    ['QUEUE_REDIS_URL', 'redis://:REPLACE-ME@redis-queue:6379/0'],
    ['REDIS_PASSWORD', 'REPLACE-ME'],
  ])('refuses a placeholder password in %s in production, but not elsewhere', (variable, value) => {
    expect(() => parseEnv({ NODE_ENV: 'production', JWT_SECRET: STRONG, [variable]: value })).toThrow(new RegExp(`${variable} carries a password published`));
    expect(() => parseEnv({ NODE_ENV: 'test', [variable]: value })).not.toThrow();
  });
});

describe('tokens and rate limits', () => {
  it('bounds token lifetimes to 24 h with 30 s of clock tolerance, and checks iss/aud only when set', () => {
    const env = parseEnv({});
    expect([env.JWT_MAX_LIFETIME_SECONDS, env.JWT_CLOCK_TOLERANCE_SECONDS, env.JWT_ISSUER, env.JWT_AUDIENCE]).toEqual([86_400, 30, undefined, undefined]);
    const set = parseEnv({ JWT_MAX_LIFETIME_SECONDS: '3600', JWT_CLOCK_TOLERANCE_SECONDS: '5', JWT_ISSUER: 'https://id.example', JWT_AUDIENCE: 'crm' });
    expect([set.JWT_MAX_LIFETIME_SECONDS, set.JWT_CLOCK_TOLERANCE_SECONDS, set.JWT_ISSUER, set.JWT_AUDIENCE]).toEqual([3600, 5, 'https://id.example', 'crm']);
    expect(() => parseEnv({ JWT_MAX_LIFETIME_SECONDS: '10' })).toThrow(/JWT_MAX_LIFETIME_SECONDS/);
    expect(() => parseEnv({ JWT_CLOCK_TOLERANCE_SECONDS: '-1' })).toThrow(/JWT_CLOCK_TOLERANCE_SECONDS/);
  });

  it('limits rates by default in production only, with a tighter budget for expensive routes', () => {
    const production = parseEnv({ NODE_ENV: 'production', JWT_SECRET: STRONG });
    expect([production.RATE_LIMIT_PER_MINUTE, production.RATE_LIMIT_EXPENSIVE_PER_MINUTE]).toEqual([600, 30]);
    const development = parseEnv({});
    expect([development.RATE_LIMIT_PER_MINUTE, development.RATE_LIMIT_EXPENSIVE_PER_MINUTE]).toEqual([0, 0]);
    expect(parseEnv({ NODE_ENV: 'production', JWT_SECRET: STRONG, RATE_LIMIT_PER_MINUTE: '0' }).RATE_LIMIT_PER_MINUTE).toBe(0);
    // Never looser than the general budget; explicit values win.
    expect(parseEnv({ RATE_LIMIT_PER_MINUTE: '10' }).RATE_LIMIT_EXPENSIVE_PER_MINUTE).toBe(10);
    expect(parseEnv({ RATE_LIMIT_PER_MINUTE: '100', RATE_LIMIT_EXPENSIVE_PER_MINUTE: '7' }).RATE_LIMIT_EXPENSIVE_PER_MINUTE).toBe(7);
  });

  it.each([
    [undefined, false],
    ['false', false],
    ['0', false],
    ['1', 1],
    ['loopback', ['loopback']],
    ['10.0.0.0/8, 192.168.1.7,fd00::/8', ['10.0.0.0/8', '192.168.1.7', 'fd00::/8']],
  ])('reads TRUST_PROXY=%j as %j', (value, expected) => {
    expect(parseEnv(value === undefined ? {} : { TRUST_PROXY: value }).TRUST_PROXY).toEqual(expected);
  });

  it.each(['true', 'yes', '10.0.0.0/33', 'proxy.local', '1.2.3'])('refuses TRUST_PROXY=%j, naming it', (value) => {
    expect(() => parseEnv({ TRUST_PROXY: value })).toThrow(/TRUST_PROXY must be false, a hop count/);
  });
});
