import path from 'node:path';
import { createOrm } from '@crm/database';
import { prepareTestDatabase, truncateAll, TEST_DATABASE_URL } from '@crm/database/testing';
import { openQueue, QUEUES } from '@crm/jobs';
import { startServiceProcess, TEST_QUEUE_URL, type ServiceProcess } from '@crm/testing';

// The three built services as real processes (npm test builds first), started with startServiceProcess of
// @crm/testing; for the tests that need what only a process has: its signals, its OTLP exporter, its death by SIGKILL.

/** The repository's root. */
export const ROOT = path.resolve(__dirname, '../..');

/** Each service, with the variable it reads its port from. */
const PORT_VARIABLES = {
  'organisations-api': 'ORGANISATIONS_API_PORT',
  'people-api': 'PEOPLE_API_PORT',
  'cache-worker': 'CACHE_WORKER_PORT',
} as const;

export type ServiceName = keyof typeof PORT_VARIABLES;

/** Where a built service's entry point is. */
export function serverOf(name: ServiceName): string {
  return path.join(ROOT, 'services', name, 'dist', 'server.js');
}

/** Starts a built service on a free port with `env` and waits until its /health answers 200. */
export function startService(name: ServiceName, env: Record<string, string>): Promise<ServiceProcess> {
  return startServiceProcess({ name, file: serverOf(name), portVariable: PORT_VARIABLES[name] }, env);
}

/** Before services start as processes: the test database migrated and emptied, the test queues emptied. */
export async function emptyDatabaseAndQueues(): Promise<void> {
  await prepareTestDatabase();
  const orm = await createOrm({ databaseUrl: TEST_DATABASE_URL });
  await truncateAll(orm);
  await orm.close(true);
  const queues = [QUEUES.invalidation, QUEUES.warmup].map((name) => openQueue(name, { url: TEST_QUEUE_URL }));
  await Promise.all(queues.map((q) => q.obliterate({ force: true }).then(() => q.close())));
}
