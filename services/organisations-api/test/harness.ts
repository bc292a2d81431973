import { parseEnv, type Env } from '@crm/config';
import { createOrm, prepareTestDatabase, truncateAll, TEST_DATABASE_URL, type MikroORM } from '@crm/database';
import { mintToken, type Role } from '@crm/http';
import { createLogger, ServiceMetrics } from '@crm/telemetry';
import type { Express } from 'express';
import { buildApp, SERVICE } from '../src/app';

/** A real organisations API on the real test database, with a count of the SQL it sends. */
export interface Harness {
  app: Express;
  orm: MikroORM;
  env: Env;
  sql: string[];
  token: (role: Role) => string;
  auth: (role: Role) => { Authorization: string };
  close: () => Promise<void>;
}

export async function startHarness(overrides: Record<string, string> = {}): Promise<Harness> {
  await prepareTestDatabase();
  const env = parseEnv({ NODE_ENV: 'test', LOG_LEVEL: 'silent', DATABASE_URL: TEST_DATABASE_URL, ...overrides });
  const sql: string[] = [];
  const metrics = new ServiceMetrics(SERVICE);
  const orm = await createOrm({ databaseUrl: env.DATABASE_URL, onQuery: (s) => { sql.push(s); metrics.countQuery(); } });
  await truncateAll(orm);
  const app = buildApp({ env, orm, logger: createLogger(SERVICE, 'silent'), metrics });
  const token = (role: Role) => mintToken(env.JWT_SECRET, role);
  return {
    app, orm, env, sql, token,
    auth: (role) => ({ Authorization: `Bearer ${token(role)}` }),
    close: () => orm.close(true),
  };
}
