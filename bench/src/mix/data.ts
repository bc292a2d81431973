/** `npm run bench`'s data set: bench:cache's database grown to a million interactions. */
import { createOrm, seedDatabase } from '@crm/database';
import { prepareDatabase } from '../data';

/** The issue's sizes: bench:cache's database (organisations, people, mandats) plus 1,000,000 interactions. */
export const MIX_SIZES = { organisations: 100_000, people: 500_000, mandats: 200_000, interactions: 1_000_000 } as const;

/**
 * Reuses bench:cache's `crm_bench` (seeding organisations, people and mandats if missing), then tops up
 * interactions to MIX_SIZES.interactions once (the seeder appends, over the existing people).
 */
export async function prepareMixDatabase(databaseUrl: string, log: (line: string) => void): Promise<Record<string, number>> {
  await prepareDatabase(databaseUrl, log);
  const orm = await createOrm({ databaseUrl, poolMax: 1 });
  try {
    const connection = orm.em.getConnection();
    const count = async (table: string) => (await connection.execute<{ n: number }[]>(`select count(*)::int as n from ${table}`))[0]?.n ?? 0;
    const interactions = await count('interaction');
    if (interactions < MIX_SIZES.interactions * 0.99) {
      const missing = MIX_SIZES.interactions - interactions;
      log(`database: ${interactions.toLocaleString('en')} interactions, adding ${missing.toLocaleString('en')}`);
      const started = Date.now();
      await seedDatabase({ databaseUrl, organisations: 0, people: 0, mandats: 0, interactions: missing, produits: 0, seed: 6, progress: true });
      await connection.execute('vacuum (analyze) interaction');
      log(`database: interactions seeded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    const sizes: Record<string, number> = {};
    for (const table of ['organisation', 'person', 'mandat', 'interaction']) sizes[table] = await count(table);
    log(`database: ${Object.entries(sizes).map(([k, v]) => `${v.toLocaleString('en')} ${k}`).join(', ')}`);
    return sizes;
  } finally {
    await orm.close(true);
  }
}
