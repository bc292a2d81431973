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

  it('builds the cache URL from REDIS_HOST/PORT/PASSWORD/DB when REDIS_URL is unset', () => {
    const env = parseEnv({ REDIS_HOST: 'cache', REDIS_PORT: '6380', REDIS_PASSWORD: 'p@ss', REDIS_DB: '2' });
    expect(env.REDIS_URL).toBe('redis://:p%40ss@cache:6380/2');
    expect(env.QUEUE_REDIS_URL).toBe('redis://:p%40ss@cache:6380/3');
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
