import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import {
  interactionGenerator, mandatGenerator, organisationGenerator, personGenerator, poolSize, produitGenerator,
  type GeneratorContext, type IdPool, type RowGenerator, type SeedTable,
} from './generators';

export interface SeedOptions {
  databaseUrl: string;
  organisations: number;
  people: number;
  mandats: number;
  interactions: number;
  /** Default 50. */
  produits?: number;
  /** Same seed, same starting rows and same reference date: same data. Default 1. */
  seed?: number;
  /** Dates are spread backwards from this instant. Default: today 00:00 UTC, so a seed is stable for a day. */
  referenceDate?: Date;
  /** Draw a progress bar per table on stderr. */
  progress?: boolean;
  /**
   * Drop a table's secondary indexes and foreign keys before COPY and rebuild them after (inside the
   * same transaction): a bulk build beats row-by-row maintenance of trigram indexes by a wide margin.
   * 'auto' (default) does it when a batch is at least 10,000 rows and no smaller than the table already is.
   */
  rebuildIndexes?: boolean | 'auto';
}

/** Rows inserted per table. */
export interface SeedCounts {
  organisations: number;
  people: number;
  mandats: number;
  interactions: number;
  produits: number;
}

/** The demo data set `seedDemo` loads. */
export const DEMO_SIZES = { organisations: 200, people: 1_000, mandats: 400, interactions: 2_000, produits: 50 } as const;
const DEMO_SEED = 2024;

const TABLES: readonly SeedTable[] = ['organisation', 'produit', 'person', 'mandat', 'interaction'];
const COUNT_KEYS = { organisation: 'organisations', produit: 'produits', person: 'people', mandat: 'mandats', interaction: 'interactions' } as const;
const MAX_ID = 2_147_483_647; // serial is int4
const ROWS_PER_CHUNK = 2_000;
const AUTO_REBUILD_MIN_ROWS = 10_000;

/** Bad sizes or seed: nothing was written. */
export class InvalidSeedOptionsError extends Error {
  override readonly name = 'InvalidSeedOptionsError';
}

/**
 * Fills the CRM tables with deterministic, realistic rows through COPY FROM STDIN, in one transaction:
 * either every table gets its rows or none does. Appends to existing rows (ids continue after the
 * current maximum; parents are this batch's rows, or the existing ones when the batch adds none).
 */
export async function seedDatabase(options: SeedOptions): Promise<SeedCounts> {
  return (await runSeed(options, false)) as SeedCounts;
}

/**
 * Loads the small demo data set (see DEMO_SIZES) when the organisation table is empty; the schema must
 * exist already. Returns whether it seeded. Safe to call from several processes at once: the check runs
 * under the seeder's table lock.
 */
export async function seedDemo(databaseUrl: string): Promise<boolean> {
  return (await runSeed({ databaseUrl, ...DEMO_SIZES, seed: DEMO_SEED }, true)) !== null;
}

function validate(options: SeedOptions): Required<Pick<SeedOptions, 'seed' | 'produits'>> {
  for (const key of ['organisations', 'people', 'mandats', 'interactions', 'produits'] as const) {
    const value = options[key];
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 0 || value > MAX_ID)) {
      throw new InvalidSeedOptionsError(`${key} must be an integer between 0 and ${MAX_ID}, got ${String(value)}`);
    }
  }
  const seed = options.seed ?? 1;
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffff_ffff) {
    throw new InvalidSeedOptionsError(`seed must be an integer between 0 and ${0xffff_ffff}, got ${String(seed)}`);
  }
  if (options.referenceDate !== undefined && Number.isNaN(options.referenceDate.getTime())) {
    throw new InvalidSeedOptionsError('referenceDate is not a valid date');
  }
  return { seed, produits: options.produits ?? 50 };
}

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

async function runSeed(options: SeedOptions, onlyIfEmpty: boolean): Promise<SeedCounts | null> {
  const { seed, produits } = validate(options);
  const counts: SeedCounts = {
    organisations: options.organisations, people: options.people, mandats: options.mandats,
    interactions: options.interactions, produits,
  };
  const nowMs = options.referenceDate?.getTime() ?? Math.floor(Date.now() / 86_400_000) * 86_400_000;
  const ctx: GeneratorContext = { seed, nowMs };

  const client = new Client({ connectionString: options.databaseUrl });
  await client.connect();
  const bars = options.progress
    ? new MultiBar({
      stream: process.stderr,
      format: '{table} [{bar}] {percentage}% | {value}/{total} rows | {phase}',
      hideCursor: true,
      clearOnComplete: false,
      noTTYOutput: true,
      notTTYSchedule: 5_000,
      etaBuffer: 50,
    }, Presets.shades_classic)
    : undefined;
  try {
    await client.query('begin');
    // Bulk index builds are memory-hungry; the default 64MB spills trigram indexes to disk.
    await client.query(`set local maintenance_work_mem = '512MB'`);
    // Blocks concurrent writers (and a second seeder) so the max ids read below stay the max; readers go on.
    await client.query('lock table organisation, produit, person, mandat, interaction in share row exclusive mode');

    if (onlyIfEmpty) {
      const { rows } = await client.query<{ any: boolean }>('select exists (select 1 from organisation) as any');
      if (rows[0]?.any) {
        await client.query('rollback');
        return null;
      }
    }

    const { rows: [state] } = await client.query<Record<`${SeedTable}_${'max' | 'count'}`, string>>(
      `select ${TABLES.map((t) => `(select coalesce(max(id), 0) from ${t}) as ${t}_max, (select count(*) from ${t}) as ${t}_count`).join(', ')}`,
    );
    const maxId = (t: SeedTable) => Number(state?.[`${t}_max`] ?? 0);
    const existing = (t: SeedTable) => Number(state?.[`${t}_count`] ?? 0);
    for (const t of TABLES) {
      if (maxId(t) + counts[COUNT_KEYS[t]] > MAX_ID) throw new InvalidSeedOptionsError(`${t}: ids would exceed ${MAX_ID}`);
    }

    // Parents: this batch's rows when it adds some (contiguous ids), otherwise the rows already there.
    let organisations: IdPool = { first: maxId('organisation') + 1, size: counts.organisations };
    if (counts.organisations === 0 && (counts.people > 0 || counts.mandats > 0)) {
      const { rows } = await client.query<[number]>({ text: 'select id from organisation order by id', rowMode: 'array' });
      organisations = { ids: Int32Array.from(rows, (r) => r[0]) };
    }
    if (counts.mandats > 0 && poolSize(organisations) === 0) {
      throw new InvalidSeedOptionsError('mandats need organisations: add some with this batch or seed them first');
    }
    let people: IdPool = { first: maxId('person') + 1, size: counts.people };
    const personOrg = new Int32Array(counts.people);
    let orgOfPerson = (index: number) => personOrg[index] ?? 0;
    if (counts.people === 0 && counts.interactions > 0) {
      const { rows } = await client.query<[number, number]>({ text: 'select id, coalesce(organisation_id, 0) from person order by id', rowMode: 'array' });
      people = { ids: Int32Array.from(rows, (r) => r[0]) };
      const orgs = Int32Array.from(rows, (r) => r[1]);
      orgOfPerson = (index) => orgs[index] ?? 0;
    }
    if (counts.interactions > 0 && poolSize(people) === 0) {
      throw new InvalidSeedOptionsError('interactions need people: add some with this batch or seed them first');
    }

    const generators: Record<SeedTable, () => RowGenerator> = {
      organisation: () => organisationGenerator(ctx, maxId('organisation') + 1),
      produit: () => produitGenerator(ctx, maxId('produit') + 1),
      person: () => personGenerator(ctx, maxId('person') + 1, organisations, personOrg),
      mandat: () => mandatGenerator(ctx, maxId('mandat') + 1, organisations),
      interaction: () => interactionGenerator(ctx, maxId('interaction') + 1, people, orgOfPerson),
    };

    const loaded: SeedTable[] = [];
    for (const table of TABLES) {
      const count = counts[COUNT_KEYS[table]];
      if (count === 0) continue;
      const rebuild = options.rebuildIndexes === 'auto' || options.rebuildIndexes === undefined
        ? count >= AUTO_REBUILD_MIN_ROWS && count >= existing(table)
        : options.rebuildIndexes;
      const bar = bars?.create(count, 0, { table: table.padEnd(11), phase: rebuild ? 'dropping indexes' : 'copying' });
      const restore = rebuild ? await dropSecondaryIndexes(client, table) : [];
      bar?.update(0, { phase: 'copying' });
      await copyRows(client, generators[table](), maxId(table) + 1, count, bar);
      if (restore.length > 0) {
        bar?.update(count, { phase: `rebuilding ${restore.length} indexes/constraints` });
        for (const statement of restore) await client.query(statement);
      }
      bar?.update(count, { phase: 'done' });
      loaded.push(table);
    }

    // Planner statistics for tables that grew a lot, so the first queries after a big seed are not blind; the
    // counts table grew with them: each COPY is one statement, so its statement triggers (migration 004) added
    // every row's keys in one upsert per key, and the totals stay exact without a recount.
    const grown = loaded.filter((t) => counts[COUNT_KEYS[t]] >= AUTO_REBUILD_MIN_ROWS);
    if (grown.length > 0) await client.query(`analyze ${[...grown, 'list_count'].join(', ')}`);
    // Last step before commit: setval is not transactional, so a failure earlier leaves sequences alone.
    for (const table of loaded) {
      await client.query(`select setval(pg_get_serial_sequence($1, 'id'), $2)`, [table, maxId(table) + counts[COUNT_KEYS[table]]]);
    }
    await client.query('commit');
    return counts;
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    bars?.stop();
    await client.end().catch(() => undefined);
  }
}

/**
 * Drops the table's foreign keys and the indexes no constraint depends on; returns the statements that
 * recreate them. Definitions come from the catalog, so whatever a later migration adds is kept as is.
 */
async function dropSecondaryIndexes(client: Client, table: SeedTable): Promise<string[]> {
  const { rows: fks } = await client.query<{ name: string; def: string }>(
    `select conname as name, pg_get_constraintdef(oid) as def from pg_constraint
     where conrelid = $1::regclass and contype = 'f' order by conname`, [table]);
  const { rows: indexes } = await client.query<{ name: string; def: string }>(
    `select i.indexrelid::regclass::text as name, pg_get_indexdef(i.indexrelid) as def from pg_index i
     where i.indrelid = $1::regclass and not i.indisprimary
       and not exists (select 1 from pg_constraint c where c.conindid = i.indexrelid)
     order by 1`, [table]);
  for (const fk of fks) await client.query(`alter table ${table} drop constraint ${quoteIdent(fk.name)}`);
  for (const index of indexes) await client.query(`drop index ${index.name}`);
  // Unique indexes first: a duplicate should fail fast, before minutes of trigram builds.
  const unique = indexes.filter((i) => /^create unique/i.test(i.def));
  const other = indexes.filter((i) => !/^create unique/i.test(i.def));
  return [
    ...[...unique, ...other].map((i) => i.def),
    ...fks.map((fk) => `alter table ${table} add constraint ${quoteIdent(fk.name)} ${fk.def}`),
  ];
}

/** Streams `count` rows into the table with one COPY, a chunk of rows at a time, under back-pressure. */
async function copyRows(client: Client, generator: RowGenerator, firstId: number, count: number, bar: SingleBar | undefined): Promise<void> {
  function* chunks(): Generator<string> {
    const end = firstId + count;
    for (let start = firstId; start < end; start += ROWS_PER_CHUNK) {
      const stop = Math.min(end, start + ROWS_PER_CHUNK);
      let text = '';
      for (let id = start; id < stop; id++) text += `${generator.row(id)}\n`;
      yield text;
      bar?.increment(stop - start);
    }
  }
  const sql = `copy ${generator.table} (${generator.columns.join(', ')}) from stdin`;
  await pipeline(Readable.from(chunks()), client.query(copyFrom(sql)));
}
