/// <reference types="@types/jest" />
// listSeqScans asserts with jest's expect: the reference keeps that true for a program without jest's types (the benchmarks).
import type { Pool, PoolClient } from 'pg';
import type { MikroORM } from '@crm/database';
import { withClient } from './database';

/** A statement as the driver sent it: SQL with $n placeholders and its values. */
export interface SentStatement {
  sql: string;
  params: unknown[];
}

/**
 * Records every statement the ORM's pool sends (with its values, which onQuery does not give), from now until
 * `stop`. For tests that EXPLAIN exactly what a route ran.
 */
export async function recordStatements(orm: MikroORM): Promise<{ statements: SentStatement[]; stop: () => void }> {
  const pool = (await orm.em.getConnection().getNativeClient()) as Pool;
  const statements: SentStatement[] = [];
  let recording = true;
  const wrapped = new WeakSet<PoolClient>();
  const wrap = (client: PoolClient) => {
    if (wrapped.has(client)) return;
    wrapped.add(client);
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (...args: unknown[]) => {
      if (recording && typeof args[0] === 'string') statements.push({ sql: args[0], params: Array.isArray(args[1]) ? args[1] : [] });
      return query(...args);
    };
  };
  pool.on('acquire', wrap);
  return { statements, stop: () => { recording = false; pool.off('acquire', wrap); } };
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

/** What a statement's plan reads: tables scanned in full, and indexes used. */
export interface PlanReads {
  sql: string;
  tables: string[];
  indexes: string[];
}

function* nodes(plan: PlanNode): Generator<PlanNode> {
  yield plan;
  for (const child of plan.Plans ?? []) yield* nodes(child);
}

/**
 * The tables each statement reads with a sequential scan, and the indexes it uses, as PostgreSQL plans it now
 * (EXPLAIN, not run). `withoutSeqScan` plans with enable_seqscan off: whether an index can serve the statement
 * at all, for tables too small in a test for the planner to prefer it.
 */
export async function sequentialScans(databaseUrl: string, statements: SentStatement[], options: { withoutSeqScan?: boolean } = {}): Promise<PlanReads[]> {
  return withClient(databaseUrl, async (client) => {
    if (options.withoutSeqScan) await client.query('set enable_seqscan = off');
    const found: PlanReads[] = [];
    for (const { sql, params } of statements) {
      const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`explain (format json) ${sql}`, params);
      const plan = [...nodes(rows[0]!['QUERY PLAN'][0].Plan)];
      found.push({
        sql,
        tables: plan.filter((n) => n['Node Type'] === 'Seq Scan').map((n) => n['Relation Name']!),
        indexes: plan.flatMap((n) => (n['Index Name'] ? [n['Index Name']] : [])),
      });
    }
    return found;
  });
}

/**
 * Tables a sequential scan may read: a few rows by construction (organisation_stat: categories x shards). The
 * list_count table is not one of them: it grows with the search terms and is read by primary key.
 */
const TINY_TABLES = new Set(['organisation_stat', 'mikro_orm_migrations']);

/** `table: sql` for each sequential scan of a table not tiny in the statements' plans. */
async function largeSeqScans(databaseUrl: string, statements: SentStatement[], options: { withoutSeqScan?: boolean }): Promise<string[]> {
  const scans = await sequentialScans(databaseUrl, statements, options);
  return scans.flatMap((s) => s.tables.filter((table) => !TINY_TABLES.has(table)).map((table) => `${table}: ${s.sql}`));
}

/** Records the statements the GETs of `urls` send (each must answer 200). */
async function statementsOfGets(api: PlannedApi, urls: string[]): Promise<SentStatement[]> {
  const recorder = await recordStatements(api.orm);
  try {
    for (const url of urls) expect({ url, status: (await api.get(url)).status }).toEqual({ url, status: 200 });
  } finally {
    recorder.stop();
  }
  return recorder.statements;
}

/**
 * The large tables any statement of the GETs of `urls` reads in full (detail, stats, nested lists: every statement,
 * counts included), as `table: sql` lines.
 */
export async function routeSeqScans(api: PlannedApi, urls: string[], options: { withoutSeqScan?: boolean } = {}): Promise<string[]> {
  return largeSeqScans(api.databaseUrl, await statementsOfGets(api, urls), options);
}

/** What listSeqScans needs of an API under test: its ORM (whose statements it records), its database, a reader's GET. */
export interface PlannedApi {
  orm: MikroORM;
  databaseUrl: string;
  get: (url: string) => PromiseLike<{ status: number; body: { nextCursor?: string | null } }>;
}

/**
 * The large tables a list URL's statements read in full, as `table: sql` lines (none is what an index-backed list
 * answers): its first page, its deepest page and, when there is one, the page after the first by cursor, 100 rows
 * each; every statement, the total's included. `withoutSeqScan` plans with sequential scans off (see sequentialScans).
 */
export async function listSeqScans(api: PlannedApi, path: string, options: { withoutSeqScan?: boolean } = {}): Promise<string[]> {
  const urls = [`${path}&limit=100`, `${path}&limit=100&page=101`];
  const first = await api.get(urls[0]!);
  expect(first.status).toBe(200);
  if (first.body.nextCursor) urls.push(`${path}&limit=100&cursor=${first.body.nextCursor}`);
  const statements = await statementsOfGets(api, urls);
  expect(statements.filter((s) => /\blimit\b/i.test(s.sql)).length).toBeGreaterThanOrEqual(urls.length);
  return largeSeqScans(api.databaseUrl, statements, options);
}
