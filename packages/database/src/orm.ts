import { MikroORM, defineConfig } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { Client } from 'pg';
import { ALL_ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';
import { pinPrimaryAfterCommit, registerRouter, replicaRoutingDriver, ReplicaRouter, type ReplicaRoutingOptions } from './replicas';

export interface OrmOptions {
  databaseUrl: string;
  poolMax?: number;
  /** Called once per SQL statement sent: counts queries for metrics and tests. */
  onQuery?: (sql: string) => void;
  /** Streaming replicas of `databaseUrl`; requests read one only when it has caught up (see ReplicaRouter). */
  replicaUrls?: string[];
  /** How reads are routed to the replicas (metrics, logging, timeouts). */
  replicaRouting?: ReplicaRoutingOptions;
}

/** A replica that does not answer must not hold a read for long: it falls back to the primary. */
const REPLICA_CONNECT_TIMEOUT_MS = 2_000;

/** Connects MikroORM to PostgreSQL. Never syncs the schema: migrations do that. */
export async function createOrm(options: OrmOptions): Promise<MikroORM> {
  const replicaUrls = options.replicaUrls ?? [];
  const router = replicaUrls.length > 0 ? new ReplicaRouter(options.replicaRouting) : null;
  const config = defineConfig({
    clientUrl: options.databaseUrl,
    entities: ALL_ENTITIES,
    extensions: [Migrator],
    migrations: { migrationsList: MIGRATIONS, tableName: 'mikro_orm_migrations', transactional: true, allOrNothing: true, silent: true, snapshot: false },
    pool: { min: 0, max: options.poolMax ?? 20 },
    // Loading a relation costs one extra query per relation, never one per row.
    loadStrategy: 'select-in',
    forceUtcTimezone: true,
    ...(options.onQuery
      ? { onQuery: (sql: string) => { options.onQuery!(sql); return sql; } }
      : {}),
    ...(router
      ? {
          driver: replicaRoutingDriver(router),
          replicas: replicaUrls.map((url, i) => ({
            name: `replica-${i + 1}`, clientUrl: url, driverOptions: { connectionTimeoutMillis: REPLICA_CONNECT_TIMEOUT_MS },
          })),
          subscribers: [pinPrimaryAfterCommit(router)],
        }
      : {}),
  });
  const orm = await MikroORM.init(config);
  if (router) registerRouter(orm, router);
  return orm;
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
  const orm = await createOrm({ databaseUrl, poolMax: 2 });
  try {
    const applied = await orm.migrator.up();
    return applied.map((m) => m.name);
  } finally {
    await orm.close(true);
  }
}
