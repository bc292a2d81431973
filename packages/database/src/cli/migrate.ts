import { loadEnv } from '@crm/config';
import { migrate } from '../orm';

// `npm run db:migrate`: creates the database if missing and applies pending migrations.
async function main(): Promise<void> {
  const env = loadEnv();
  const applied = await migrate(env.DATABASE_URL);
  process.stdout.write(applied.length ? `Applied migrations: ${applied.join(', ')}\n` : 'Database is up to date.\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`Migration failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
