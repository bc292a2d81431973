import { parseEnv, type Env } from '@crm/config';
import {
  createOrm, Organisation, prepareTestDatabase, truncateAll, TEST_DATABASE_URL, type MikroORM, type OrganisationCategory,
} from '@crm/database';
import { mintToken, type Role } from '@crm/http';
import { createLogger, ServiceMetrics } from '@crm/telemetry';
import type { Express } from 'express';
import { randomUUID } from 'node:crypto';
import type { ResponseCache } from '@crm/cache';
import { createApiRuntime, type ApiRuntime } from '@crm/jobs';
import type { Redis } from 'ioredis';
import { buildApp, SERVICE } from '../src/app';

/** A real people API on the real test database, with a count of the SQL it sends. */
export interface Harness {
  app: Express;
  orm: MikroORM;
  env: Env;
  sql: string[];
  /** The response cache, when the harness was started with `{ cache: true }` (its own key namespace). */
  cache: ResponseCache | null;
  redis: Redis | null;
  runtime: ApiRuntime;
  token: (role: Role) => string;
  auth: (role: Role) => { Authorization: string };
  close: () => Promise<void>;
}

export interface HarnessOptions {
  env?: Record<string, string>;
  /** Use a real response cache on the local Redis, in a namespace of its own. */
  cache?: boolean;
  redisUrl?: string;
  namespace?: string;
  /** Publish outbox events to this queue Redis (default: none; the events wait in the outbox). */
  queueRedisUrl?: string;
  /** Keep the tables' rows (a second instance of the API on the same data). */
  keepData?: boolean;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const overrides = options.env ?? {};
  await prepareTestDatabase();
  const env = parseEnv({ NODE_ENV: 'test', LOG_LEVEL: 'silent', DATABASE_URL: TEST_DATABASE_URL, ...overrides });
  const sql: string[] = [];
  const metrics = new ServiceMetrics(SERVICE);
  const orm = await createOrm({ databaseUrl: env.DATABASE_URL, onQuery: (s) => { sql.push(s); metrics.countQuery(); } });
  if (!options.keepData) await truncateAll(orm);
  const logger = createLogger(SERVICE, 'silent');
  const runtime = createApiRuntime({
    orm,
    logger,
    metrics,
    cacheRedisUrl: options.cache ? (options.redisUrl ?? env.REDIS_URL) : null,
    queueRedisUrl: options.queueRedisUrl ?? null,
    namespace: options.namespace ?? `crm-test-${randomUUID().slice(0, 8)}`,
    statsFlushMs: 100,
    relayPollMs: 200,
  });
  const { cache, cacheRedis: redis } = runtime;
  const app = buildApp({ env, orm, logger, metrics, runtime });
  const token = (role: Role) => mintToken(env.JWT_SECRET, role);
  return {
    app, orm, env, sql, token, cache, redis, runtime,
    auth: (role) => ({ Authorization: `Bearer ${token(role)}` }),
    close: async () => {
      await runtime.relay?.stop();
      if (cache) {
        await cache.deletePrefix('').catch(() => undefined);
        await cache.close();
        // deletePrefix('') keeps the stats hash on purpose; this namespace is the test's own, so drop it too.
        await redis?.unlink(cache.statsKey).catch(() => undefined);
      }
      await runtime.close();
      await orm.close(true);
    },
  };
}

/** Organisations have no route here: tests create them through the ORM, as organisations-api would. */
export async function seedOrganisation(
  h: Harness,
  data: { name: string; category?: OrganisationCategory; annualRevenue?: number | null },
): Promise<number> {
  const em = h.orm.em.fork();
  const organisation = em.create(Organisation, { category: 'corporate', ...data });
  await em.flush();
  return organisation.id;
}

/** Rows in a table, counted directly (to show a failed write changed nothing). */
export async function countRows(h: Harness, table: 'person' | 'interaction' | 'organisation'): Promise<number> {
  const [row] = await h.orm.em.getConnection().execute<{ n: number }[]>(`select count(*)::int as n from ${table}`);
  return row!.n;
}

/** A person row as stored, read directly (not through the API). */
export async function personRow(h: Harness, id: number): Promise<Record<string, unknown> | undefined> {
  const rows = await h.orm.em.getConnection().execute<Record<string, unknown>[]>('select * from person where id = ?', [id]);
  return rows[0];
}

/** Asserts an RFC 9457 problem response and returns its field errors' paths. */
export function expectProblem(res: { status: number; headers: Record<string, string>; body: any }, status: number): string[] {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ type: expect.any(String), title: expect.any(String), status, detail: expect.any(String) });
  return ((res.body.errors ?? []) as { path: string }[]).map((e) => e.path);
}
