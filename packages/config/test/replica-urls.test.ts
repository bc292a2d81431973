import { InvalidEnvironmentError, parseEnv } from '../src/env';

describe('DATABASE_REPLICA_URLS', () => {
  it('defaults to no replicas', () => {
    expect(parseEnv({}).DATABASE_REPLICA_URLS).toEqual([]);
    expect(parseEnv({ DATABASE_REPLICA_URLS: '' }).DATABASE_REPLICA_URLS).toEqual([]);
  });

  it('splits a comma-separated list, ignoring spaces and empty items', () => {
    expect(parseEnv({ DATABASE_REPLICA_URLS: 'postgres://r1:5432/crm, postgresql://r2/crm,' }).DATABASE_REPLICA_URLS)
      .toEqual(['postgres://r1:5432/crm', 'postgresql://r2/crm']);
  });

  it('names the variable when an item is not a postgres URL', () => {
    expect(() => parseEnv({ DATABASE_REPLICA_URLS: 'postgres://r1/crm,mysql://r2/crm' })).toThrow(InvalidEnvironmentError);
    expect(() => parseEnv({ DATABASE_REPLICA_URLS: 'postgres://r1/crm,mysql://r2/crm' })).toThrow(/DATABASE_REPLICA_URLS must be comma-separated postgres/);
  });
});
