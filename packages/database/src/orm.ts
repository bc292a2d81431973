import { MikroORM, defineConfig } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { Client } from 'pg';
import { ALL_ENTITIES } from './entities';
import { ReservedProbe } from './health-probe';
import { MIGRATIONS } from './migrations';
import { pinPrimaryAfterCommit, registerRouter, replicaRoutingDriver, ReplicaRouter, type ReplicaRoutingOptions } from './replicas';
import { requestEntityManager } from './request-scope';

export interface OrmOptions {
  databaseUrl: string;
  poolMax?: number;
  /** Called once per SQL statement sent: counts queries for metrics and tests. */
  onQuery?: (sql: string) => void;
  /** Streaming replicas of `databaseUrl`; requests read one only when it has caught up (see ReplicaRouter). */
  replicaUrls?: string[];
  /** How reads are routed to the replicas (metrics, logging, timeouts). */
  replicaRouting?: ReplicaRoutingOptions;
  /** PostgreSQL cancels a statement running longer (SQLSTATE 57014). 0 turns the limit off (migrations). Default 5 s. */
  statementTimeoutMs?: number;
  /** How long a query waits for a pooled connection before failing ("timeout exceeded when trying to connect"). Default 2 s. */
  acquireTimeoutMs?: number;
}

/** One slow query must not hold a connection for long: the defaults bound every statement and every pool wait. */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 5_000;
export const DEFAULT_ACQUIRE_TIMEOUT_MS = 2_000;

/** A replica that does not answer must not hold a read for long: it falls back to the primary. */
const REPLICA_CONNECT_TIMEOUT_MS = 2_000;

/** Connects MikroORM to PostgreSQL. Never syncs the schema: migrations do that. */
export async function createOrm(options: OrmOptions): Promise<MikroORM> {
  const replicaUrls = options.replicaUrls ?? [];
  const router = replicaUrls.length > 0 ? new ReplicaRouter(options.replicaRouting) : null;
  const statementTimeout = options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  // pg-pool applies connectionTimeoutMillis to a wait for a free pooled client as well as to a new connection;
  // statement_timeout is a startup parameter, so it holds for every session of the pool.
  const poolOptions = {
    connectionTimeoutMillis: options.acquireTimeoutMs ?? DEFAULT_ACQUIRE_TIMEOUT_MS,
    ...(statementTimeout > 0 ? { statement_timeout: statementTimeout } : {}),
  };
  const config = defineConfig({
    clientUrl: options.databaseUrl,
    entities: ALL_ENTITIES,
    extensions: [Migrator],
    migrations: { migrationsList: MIGRATIONS, tableName: 'mikro_orm_migrations', transactional: true, allOrNothing: true, silent: true, snapshot: false },
    pool: { min: 0, max: options.poolMax ?? 20 },
    driverOptions: poolOptions,
    // Loading a relation costs one extra query per relation, never one per row.
    loadStrategy: 'select-in',
    forceUtcTimezone: true,
    // Inside a request, `orm.em` is the request's own fork, made on first use (request-scope.ts).
    context: requestEntityManager,
    ...(options.onQuery
      ? { onQuery: (sql: string) => { options.onQuery!(sql); return sql; } }
      : {}),
    ...(router
      ? {
          driver: replicaRoutingDriver(router),
          replicas: replicaUrls.map((url, i) => ({
            name: `replica-${i + 1}`, clientUrl: url,
            driverOptions: { ...poolOptions, connectionTimeoutMillis: Math.min(poolOptions.connectionTimeoutMillis, REPLICA_CONNECT_TIMEOUT_MS) },
          })),
          subscribers: [pinPrimaryAfterCommit(router)],
        }
      : {}),
  });
  const orm = await MikroORM.init(config);
  if (router) registerRouter(orm, router);
  const probe = new ReservedProbe(options.databaseUrl);
  probes.set(orm, probe);
  const close = orm.close.bind(orm);
  orm.close = async (force?: boolean) => {
    await probe.close();
    return close(force);
  };
  return orm;
}

const probes = new WeakMap<MikroORM, ReservedProbe>();

/** The health probe of an ORM made by createOrm: a connection of its own, so a saturated pool cannot starve it. */
export function reservedProbe(orm: MikroORM): ReservedProbe | null {
  return probes.get(orm) ?? null;
}

/** Creates the database named in the URL if it does not exist (connecting to the `postgres` database). */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new Error(`Refusing to create a database named ${JSON.stringify(name)}`);
  url.pathname = '/postgres';
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount) return false;
    try {
      await client.query(`create database "${name}"`);
    } catch (error) {
      // Another process created it in the meantime.
      if ((error as { code?: string }).code !== '42P04') throw error;
      return false;
    }
    return true;
  } finally {
    await client.end();
  }
}

/** Creates the database if needed and applies every pending migration. Returns the names applied. */
export async function migrate(databaseUrl: string): Promise<string[]> {
  await ensureDatabase(databaseUrl);
  // Building an index on a large table takes longer than any request may: no statement timeout here.
  const orm = await createOrm({ databaseUrl, poolMax: 2, statementTimeoutMs: 0 });
  try {
    const applied = await orm.migrator.up();
    return applied.map((m) => m.name);
  } finally {
    await orm.close(true);
  }
}
