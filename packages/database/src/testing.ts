import type { MikroORM } from '@mikro-orm/postgresql';
import { migrate } from './orm';

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
