// The package's own entry (a self-reference), so the built subpath shares the one ORM module with its users.
import { Client } from 'pg';
import { migrate, type MikroORM } from '@crm/database';

/** The database the tests use; never the one `npm start` fills. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/crm_test';

const migrated = new Map<string, Promise<string[]>>();

/** Creates and migrates a test database once per process. */
export function prepareTestDatabase(url = TEST_DATABASE_URL): Promise<string[]> {
  let done = migrated.get(url);
  if (!done) migrated.set(url, done = migrate(url));
  return done;
}

/** Empties every table and restarts ids, so each test file starts from nothing. */
export async function truncateAll(orm: MikroORM): Promise<void> {
  await orm.em.getConnection().execute(
    'truncate table interaction, mandat, person, produit, organisation, cache_outbox restart identity cascade',
  );
}

/** A connection of its own to `databaseUrl`, outside any ORM pool and its timeouts: for tests' seeding and locks. */
export async function connectClient(databaseUrl: string): Promise<Client> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  return client;
}

/** Runs `use` on a connection of its own (connectClient), closed after, also when `use` throws: a test's seeding. */
export async function withClient<T>(databaseUrl: string, use: (client: Client) => Promise<T>): Promise<T> {
  const client = await connectClient(databaseUrl);
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}
