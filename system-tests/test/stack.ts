import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { Job, Queue } from 'bullmq';
import type { Express } from 'express';
import request from 'supertest';
import { CacheWorker, buildWorkerApp, SERVICE as WORKER_SERVICE, type CacheWorkerOptions } from '@crm/cache-worker';
import { parseEnv, type Env } from '@crm/config';
import { configureSortOrder, createOrm, type MikroORM } from '@crm/database';
import { prepareTestDatabase, truncateAll, TEST_DATABASE_URL } from '@crm/database/testing';
import { mintToken, type Role } from '@crm/http';
import { createQueueConnection, openQueue, QUEUES } from '@crm/jobs';
import { createApiRuntime, type ApiRuntime } from '@crm/service-kit';
import { buildApp as buildOrganisationsApp } from '@crm/organisations-api';
import { buildApp as buildPeopleApp } from '@crm/people-api';
import { pingRedis, type RedisNode, type RedisTarget } from '@crm/redis';
import { createLogger, ServiceMetrics, type Logger } from '@crm/telemetry';
import { clusterNodesEnv, deleteNamespaceKeys, testRedisCluster, TEST_QUEUE_URL, waitUntilServing } from '@crm/testing';

/** How often each API replica adds its hit and miss counts to the shared stats hash. */
export const STATS_FLUSH_MS = 100;

/** One replica of an API: its own ORM, cache client and relay, listening on a free port. */
export interface ApiInstance {
  app: Express;
  url: string;
  orm: MikroORM;
  runtime: ApiRuntime;
  /** `METHOD url` of each request received on `url` (the worker's warm-ups; supertest calls on `app` do not pass here). */
  served: string[];
  close: () => Promise<void>;
}

export interface Stack {
  env: Env;
  namespace: string;
  /** The test's own ORM, for direct reads of the database. */
  orm: MikroORM;
  organisations: ApiInstance[];
  people: ApiInstance[];
  /** The first worker (null without workers). */
  worker: CacheWorker | null;
  /** Every worker: separate replicas on the same queues, each with its own connections and ORM. */
  workers: CacheWorker[];
  /** The first worker's HTTP side (health, metrics, dashboard) as server.ts wires it; null without a worker. */
  workerApp: Express | null;
  queues: { invalidation: Queue; warmup: Queue };
  /** The variables that put a spawned service (server.js) on the stack's cache and queues. */
  redisEnv: Record<string, string>;
  auth: (role: Role) => { Authorization: string };
  /** The reader token the workers warm up with, minted here as an operator would with the token CLI. */
  warmupToken: string;
  /** The dashboard's credential on `workerApp` (ADMIN_QUEUES_TOKEN). */
  adminQueuesToken: string;
  /** The latest outbox event id of an entity (what its last write recorded). */
  lastEventId: (entity: string, id: number) => Promise<string>;
  /** Waits until a job has completed (failing fast if it fails for good), and returns it. */
  completed: (queue: Queue, jobId: string, timeoutMs?: number) => Promise<Job>;
  close: () => Promise<void>;
}

export interface StackOptions {
  replicas?: number;
  cacheRedisUrl?: RedisTarget;
  queueRedisUrl?: RedisTarget;
  /**
   * The cache and the queues both on this Redis Cluster (the test's own, e.g. a RedisCluster's nodes). Without it, and
   * without `cacheRedisUrl` / `queueRedisUrl`, the tests' cluster when TEST_REDIS_CLUSTER_NODES names one (the cluster run).
   */
  cluster?: RedisNode[];
  /** The cache's key namespace (default: a random one). */
  namespace?: string;
  worker?: boolean;
  /** How many cache workers to run (default 1; `worker: false` means none). */
  workers?: number;
  workerLockMs?: number;
  /** The workers' WARMUP_TOKEN (default: the one the stack's APIs accept); null runs them without warm-up. */
  warmupToken?: string | null;
  /** The workers' failed-job bound (default: the worker's). */
  failedJobs?: { age: number; count: number };
  /** The workers' logger (default: silent). */
  workerLogger?: Logger;
  /** The workers' consistency auditor (default: off, so it adds no reads to other tests). */
  audit?: CacheWorkerOptions['audit'];
}

/** Where the stack's cache and queues are. */
interface Targets {
  cache: RedisTarget;
  queue: RedisTarget;
}

/** The same targets as a service's environment: REDIS_URL or REDIS_CLUSTER_NODES, QUEUE_REDIS_URL or QUEUE_REDIS_CLUSTER_NODES. */
function redisEnvOf(targets: Targets): Record<string, string> {
  return {
    ...(typeof targets.cache === 'string' ? { REDIS_URL: targets.cache } : { REDIS_CLUSTER_NODES: clusterNodesEnv(targets.cache.clusterNodes) }),
    ...(typeof targets.queue === 'string' ? { QUEUE_REDIS_URL: targets.queue } : { QUEUE_REDIS_CLUSTER_NODES: clusterNodesEnv(targets.queue.clusterNodes) }),
  };
}

const logger = createLogger('stack-test', 'silent');

async function listen(app: Express | ((req: IncomingMessage, res: ServerResponse) => void)): Promise<{ server: Server; url: string }> {
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function startApi(kind: 'organisations' | 'people', env: Env, namespace: string, targets: Targets): Promise<ApiInstance> {
  const orm = await createOrm({ databaseUrl: env.DATABASE_URL, poolMax: 5 });
  await configureSortOrder(orm); // as an API process does at start
  const runtime = createApiRuntime({
    orm, logger, namespace, statsFlushMs: STATS_FLUSH_MS, relayPollMs: 200,
    cacheRedisUrl: targets.cache,
    queueRedisUrl: targets.queue,
  });
  const build = kind === 'organisations' ? buildOrganisationsApp : buildPeopleApp;
  const app = build({ env, orm, logger, metrics: new ServiceMetrics(`${kind}-api`), runtime });
  const served: string[] = [];
  const { server, url } = await listen((req: IncomingMessage, res: ServerResponse) => {
    served.push(`${req.method} ${req.url}`);
    app(req, res);
  });
  return {
    app, url, orm, runtime, served,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await runtime.close();
      await orm.close(true);
    },
  };
}

/** Empties the test queues (jobs of an earlier run must not run against this one). */
async function obliterate(queues: Queue[]): Promise<void> {
  await Promise.all(queues.map((q) => q.obliterate({ force: true })));
}

/**
 * Both APIs (two replicas each by default) and the cache worker, in this process, on the real test database,
 * the local Redis (a namespace of its own) and a test queue database, or on a Redis Cluster for both.
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  await prepareTestDatabase();
  const ownRedis = options.cacheRedisUrl !== undefined || options.queueRedisUrl !== undefined;
  const cluster = options.cluster ?? (ownRedis ? null : testRedisCluster());
  const env = parseEnv({
    NODE_ENV: 'test', LOG_LEVEL: 'silent', DATABASE_URL: TEST_DATABASE_URL,
    // The credential the APIs accept from the worker's warm-up (the worker holds no JWT key).
    WARMUP_TOKEN: `warmup-${randomUUID()}-${randomUUID()}`,
    ...(cluster ? { REDIS_CLUSTER_NODES: clusterNodesEnv(cluster) } : {}),
  });
  const orm = await createOrm({ databaseUrl: env.DATABASE_URL, poolMax: 3 });
  await truncateAll(orm);
  const namespace = options.namespace ?? `crm-test-${randomUUID().slice(0, 8)}`;
  // A cluster comes through the configuration, as in production (the queues follow REDIS_CLUSTER_NODES).
  const targets: Targets = {
    cache: options.cacheRedisUrl ?? env.cacheRedis,
    queue: options.queueRedisUrl ?? (cluster ? env.queueRedis : TEST_QUEUE_URL),
  };
  const queueConnection = createQueueConnection(targets.queue, logger, 'stack-test');
  const queues = {
    invalidation: openQueue(QUEUES.invalidation, queueConnection.connection),
    warmup: openQueue(QUEUES.warmup, queueConnection.connection),
  };
  await obliterate(Object.values(queues));

  const replicas = options.replicas ?? 2;
  const organisations: ApiInstance[] = [];
  const people: ApiInstance[] = [];
  for (let i = 0; i < replicas; i++) {
    organisations.push(await startApi('organisations', env, namespace, targets));
    people.push(await startApi('people', env, namespace, targets));
  }
  const warmupToken = env.WARMUP_TOKEN!;
  const adminQueuesToken = `queues-${randomUUID()}-${randomUUID()}`;
  const workerCount = options.worker === false ? 0 : (options.workers ?? 1);
  const workerOrms: MikroORM[] = [];
  const workerMetrics: ServiceMetrics[] = [];
  const workers: CacheWorker[] = [];
  for (let i = 0; i < workerCount; i++) {
    const workerOrm = await createOrm({ databaseUrl: env.DATABASE_URL, poolMax: 3 });
    workerOrms.push(workerOrm);
    workerMetrics.push(new ServiceMetrics(WORKER_SERVICE));
    workers.push(new CacheWorker({
      orm: workerOrm,
      logger: options.workerLogger ?? logger,
      metrics: workerMetrics[i]!,
      cacheRedisUrl: targets.cache,
      queueRedisUrl: targets.queue,
      // Worker i warms through API replica i (round robin), as a load balancer would spread them.
      apiUrls: { 'organisations-api': organisations[i % replicas]!.url, 'people-api': people[i % replicas]!.url },
      warmupToken: options.warmupToken === undefined ? warmupToken : options.warmupToken,
      ...(options.failedJobs ? { failedJobs: options.failedJobs } : {}),
      namespace,
      lockMs: options.workerLockMs ?? 5_000,
      warmupOnStart: false,
      relayPollMs: 200,
      ...(options.audit ? { audit: options.audit } : {}),
    }).start());
  }
  const worker = workers[0] ?? null;
  // Cache clients connect in the background (a cluster client first learns the slot map); until one serves, its
  // process reads the database. Tests start once every one does.
  await Promise.all([...organisations, ...people].map((api) => api.runtime.cache!).concat(workers.map((w) => w.cache)).map((cache) => waitUntilServing(cache)));

  const workerApp = worker && buildWorkerApp({
    env, orm: workerOrms[0]!, logger, metrics: workerMetrics[0]!,
    cacheProbe: () => worker.cache.ping(),
    queueProbe: () => pingRedis(worker.queueRedis),
    queues: Object.values(worker.queues),
    adminQueuesToken,
  });

  const auth = (role: Role) => ({ Authorization: `Bearer ${mintToken(env.JWT_SECRET, role)}` });
  return {
    env, namespace, orm, organisations, people, worker, workers, workerApp, queues, auth, warmupToken, adminQueuesToken, redisEnv: redisEnvOf(targets),
    lastEventId: async (entity, id) => {
      const rows = await orm.em.fork().execute<{ id: string }[]>(
        'select id from cache_outbox where entity = ? and entity_id = ? order by id desc limit 1', [entity, id]);
      if (!rows[0]) throw new Error(`no outbox event for ${entity} ${id}`);
      return String(rows[0].id);
    },
    completed: async (queue, jobId, timeoutMs = 15_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const job = await queue.getJob(jobId);
        const state = job ? await job.getState() : 'missing';
        // Read again: the job object fetched above may predate its completion (no return value yet).
        if (state === 'completed') return (await queue.getJob(jobId))!;
        if (state === 'failed' && job!.attemptsMade >= (job!.opts.attempts ?? 1)) throw new Error(`job ${jobId} failed: ${job!.failedReason}`);
        if (Date.now() > deadline) throw new Error(`job ${jobId} did not complete in ${timeoutMs} ms (state ${state})`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    close: async () => {
      await Promise.all(workers.map((w) => w.close()));
      await Promise.all([...organisations, ...people].map((api) => api.close()));
      // Everything is closed: remove the namespace's keys with a client of our own.
      await deleteNamespaceKeys(targets.cache, namespace);
      await obliterate(Object.values(queues)).catch(() => undefined);
      await Promise.all(Object.values(queues).map((q) => q.close()));
      queueConnection.close();
      await Promise.all([orm, ...workerOrms].map((o) => o.close(true)));
    },
  };
}

/** An HTTP server that never answers until released: a warm-up job against it stays active. */
export async function hangingServer(): Promise<{ url: string; held: () => number; release: () => void; close: () => Promise<void> }> {
  const held: ((value: void) => void)[] = [];
  const { server, url } = await listen((_req: IncomingMessage, res: ServerResponse) => {
    new Promise<void>((resolve) => held.push(resolve)).then(() => res.end('{}'));
  });
  return {
    url,
    held: () => held.length,
    release: () => held.splice(0).forEach((r) => r()),
    close: async () => {
      held.splice(0).forEach((r) => r());
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * What freshness checks compare reads against: organisations named `org<i>-v0`, one person in each, and which
 * version of each name was acknowledged when (performance.now() of the 2xx). A read started at `start` must show
 * at least `requiredAt(id, start)`.
 */
export async function freshnessSubjects(s: Stack, count: number) {
  const organisationIds: number[] = [];
  const personOf = new Map<number, number>();
  for (let i = 0; i < count; i++) {
    const org = await request(s.organisations[0]!.app).post('/api/v1/organisations').set(s.auth('editor')).send({ name: `org${i}-v0`, category: 'corporate' });
    organisationIds.push(org.body.id);
    const person = await request(s.people[0]!.app).post('/api/v1/people').set(s.auth('editor'))
      .send({ firstName: 'P', lastName: `${i}`, email: `p${i}-${Date.now()}@example.com`, organisationId: org.body.id });
    personOf.set(org.body.id, person.body.id);
  }
  const acked = new Map<number, [number, number][]>(organisationIds.map((id) => [id, [[0, 0]]]));
  return {
    organisationIds,
    personOf,
    isSubject: (id: number) => acked.has(id),
    acknowledge: (id: number, version: number) => acked.get(id)!.push([performance.now(), version]),
    requiredAt: (id: number, start: number) => acked.get(id)!.filter(([at]) => at <= start).reduce((v, [, version]) => Math.max(v, version), 0),
  };
}
