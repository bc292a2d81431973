import { Client } from 'pg';
import { createOrm, type MikroORM } from '../src';
import { prepareTestDatabase, truncateAll, TEST_DATABASE_URL } from '../test-support';

/** What a test file of this package works with: the ORM and a plain client on the test database, emptied before each test. */
export interface TestDatabase {
  readonly orm: MikroORM;
  sql<T = Record<string, unknown>>(query: string, params?: unknown[]): Promise<T[]>;
}

/** Registers the hooks that migrate the test database, empty it before each test and close the connections after. */
export function useTestDatabase(poolMax: number): TestDatabase {
  let orm: MikroORM | undefined;
  let client: Client | undefined;
  beforeAll(async () => {
    await prepareTestDatabase();
    orm = await createOrm({ databaseUrl: TEST_DATABASE_URL, poolMax });
    client = new Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
  });
  beforeEach(() => truncateAll(orm!));
  afterAll(async () => {
    await truncateAll(orm!);
    await client!.end();
    await orm!.close(true);
  });
  return {
    get orm() { return orm!; },
    sql: async <T = Record<string, unknown>>(query: string, params: unknown[] = []) => (await client!.query(query, params)).rows as T[],
  };
}
