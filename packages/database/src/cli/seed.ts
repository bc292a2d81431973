import { loadEnv } from '@crm/config';
import { ensureDatabase, migrate } from '../orm';
import { parseSeedArgs, SeedUsageError, SEED_USAGE } from '../seed/args';
import { seedDatabase, seedDemo, DEMO_SIZES, InvalidSeedOptionsError, type SeedCounts } from '../seed/seed';

// `npm run seed -- --organisations 100000 --people 500000 …`: migrates, then bulk-loads generated rows.
async function main(): Promise<void> {
  let command;
  try {
    command = parseSeedArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof SeedUsageError)) throw error;
    process.stderr.write(`${error.message}\n\n${SEED_USAGE}`);
    process.exit(2);
  }
  if (command.kind === 'help') {
    process.stdout.write(SEED_USAGE);
    return;
  }

  const env = loadEnv();
  const started = performance.now();
  await ensureDatabase(env.DATABASE_URL);
  await migrate(env.DATABASE_URL);
  const seconds = () => ((performance.now() - started) / 1000).toFixed(1);

  if (command.kind === 'demo') {
    const seeded = await seedDemo(env.DATABASE_URL);
    process.stdout.write(seeded
      ? `Demo data loaded: ${formatCounts(DEMO_SIZES)} in ${seconds()}s.\n`
      : 'Organisations already exist: demo data not loaded.\n');
    return;
  }

  const { kind: _kind, ...sizes } = command;
  try {
    const counts = await seedDatabase({ databaseUrl: env.DATABASE_URL, ...sizes, progress: true });
    process.stdout.write(`Seeded ${formatCounts(counts)} in ${seconds()}s (seed ${command.seed}).\n`);
  } catch (error) {
    if (!(error instanceof InvalidSeedOptionsError)) throw error;
    process.stderr.write(`${error.message}\nNothing was written.\n`);
    process.exit(2);
  }
}

function formatCounts(counts: SeedCounts): string {
  const n = (v: number) => v.toLocaleString('en-US');
  return `${n(counts.organisations)} organisations, ${n(counts.people)} people, ${n(counts.mandats)} mandats, `
    + `${n(counts.interactions)} interactions, ${n(counts.produits)} produits`;
}

main().catch((error: unknown) => {
  process.stderr.write(`Seeding failed (nothing was written): ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
