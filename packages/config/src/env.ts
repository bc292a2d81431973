import { isIP } from 'node:net';
import { z } from 'zod';
import { DEV_JWT_SECRET, isPublishedSecret } from './published-secrets';

export { DEV_JWT_SECRET } from './published-secrets';

/** In production a JWT secret needs this many bytes: HS256's key is 256 bits. */
export const MIN_PRODUCTION_SECRET_BYTES = 32;
/** Requests per minute per client when NODE_ENV=production and RATE_LIMIT_PER_MINUTE is unset. */
export const PRODUCTION_RATE_LIMIT_PER_MINUTE = 600;
/** The expensive, never-cached routes' budget per client, at most (never above the general one). */
export const DEFAULT_EXPENSIVE_RATE_LIMIT_PER_MINUTE = 30;

/** Express's `trust proxy`: false (the socket's address is the client), a hop count, or trusted proxy addresses. */
export type TrustProxy = false | number | string[];

const booleanString = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const port = (fallback: number) => z.coerce.number().int().min(1).max(65_535).default(fallback);

const redisUrl = z
  .string()
  .refine((v) => /^rediss?:\/\//.test(v), 'must be a redis:// or rediss:// URL');

/** A Redis node, as in REDIS_CLUSTER_NODES. */
export interface RedisNode {
  host: string;
  port: number;
}

/** Where a Redis is: a URL, or the seed nodes of a Redis Cluster (with REDIS_PASSWORD, if any). */
export type RedisTarget = string | { clusterNodes: RedisNode[]; password?: string };

/** `host:port,host:port`; an IPv6 host goes in brackets (`[::1]:7000`). */
const clusterNodes = z.string().transform((value, ctx) => {
  const nodes: RedisNode[] = [];
  for (const item of value.split(',').map((s) => s.trim())) {
    const match = /^(\[[0-9a-fA-F:.]+\]|[^\s:\[\]/]+):(\d{1,5})$/.exec(item);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65_535) {
      ctx.addIssue({ code: 'custom', message: `must be comma-separated host:port seed nodes (${JSON.stringify(item)} is not one)` });
      return z.NEVER;
    }
    nodes.push({ host: match[1]!.replace(/^\[(.*)\]$/, '$1'), port });
  }
  return nodes;
});

const PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/** An address or CIDR block Express's proxy-addr accepts (`10.0.0.0/8`, `::1`, `loopback`). */
function isProxyAddress(item: string): boolean {
  if (PROXY_NAMES.includes(item)) return true;
  const [address = '', bits, ...rest] = item.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

/**
 * `false` (default): X-Forwarded-For is ignored. A hop count: that many proxies in front. A list: the proxies'
 * addresses. `true` (trust every hop) is refused: any client could then pick its own address, and its own bucket.
 */
const trustProxy = z.string().transform((value, ctx): TrustProxy => {
  const trimmed = value.trim();
  if (trimmed === 'false' || trimmed === '0') return false;
  if (/^\d{1,2}$/.test(trimmed)) return Number(trimmed);
  const items = trimmed.split(',').map((s) => s.trim());
  if (items.every(isProxyAddress)) return items;
  ctx.addIssue({
    code: 'custom',
    message: 'must be false, a hop count (e.g. 1), or comma-separated proxy addresses/CIDRs (loopback, 10.0.0.0/8, ...); true is refused',
  });
  return z.NEVER;
});

/** Every credential a URL of these variables carries, with the variable's name. */
function urlPasswords(env: { DATABASE_URL: string; DATABASE_REPLICA_URLS: string[]; REDIS_URL?: string; QUEUE_REDIS_URL?: string }): [string, string][] {
  const found: [string, string][] = [];
  const add = (variable: string, url: string | undefined) => {
    if (!url) return;
    try {
      const password = decodeURIComponent(new URL(url).password);
      if (password) found.push([variable, password]);
    } catch {
      // Not a URL: the variable's own rule reports it.
    }
  };
  add('DATABASE_URL', env.DATABASE_URL);
  env.DATABASE_REPLICA_URLS.forEach((url) => add('DATABASE_REPLICA_URLS', url));
  add('REDIS_URL', env.REDIS_URL);
  add('QUEUE_REDIS_URL', env.QUEUE_REDIS_URL);
  return found;
}

const httpUrl = z
  .string()
  .refine((v) => /^https?:\/\/[^/]+/.test(v), 'must be an http:// or https:// URL')
  .transform((v) => v.replace(/\/+$/, ''));

/** Every variable any service reads, parsed once at start. */
export const envSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    DATABASE_URL: z
      .string()
      .refine((v) => /^postgres(ql)?:\/\//.test(v), 'must be a postgres:// URL')
      .default('postgres://postgres@127.0.0.1:5432/crm'),
    DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(20),
    /** PostgreSQL cancels any statement running longer (SQLSTATE 57014): the client gets 503 + Retry-After. */
    DATABASE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(5_000),
    /** A request waiting longer than this for a pooled connection gets 503 + Retry-After instead of queueing on. */
    DATABASE_ACQUIRE_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(2_000),
    /** Streaming replicas of DATABASE_URL, comma-separated: a request reads one only if it has caught up. */
    DATABASE_REPLICA_URLS: z
      .string()
      .transform((v) => v.split(',').map((url) => url.trim()).filter(Boolean))
      .refine((urls) => urls.every((url) => /^postgres(ql)?:\/\//.test(url)), 'must be comma-separated postgres:// URLs')
      .default([]),
    REDIS_URL: redisUrl.optional(),
    REDIS_HOST: z.string().min(1).default('127.0.0.1'),
    REDIS_PORT: port(6379),
    REDIS_PASSWORD: z.string().optional(),
    REDIS_DB: z.coerce.number().int().min(0).max(15).default(0),
    QUEUE_REDIS_URL: redisUrl.optional(),
    /** Set: the cache Redis is a cluster (REDIS_URL's host and db are ignored). */
    REDIS_CLUSTER_NODES: clusterNodes.optional(),
    /** Set: the queue Redis is a cluster. Unset: the cache's cluster, unless QUEUE_REDIS_URL names another server. */
    QUEUE_REDIS_CLUSTER_NODES: clusterNodes.optional(),
    JWT_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
    CACHE_ENABLED: booleanString.default(true),
    /** Every cache key starts with `<namespace>:`; deployments sharing a Redis use different ones. */
    CACHE_NAMESPACE: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'must be lower-case letters, digits and dashes').default('crm'),
    ORGANISATIONS_API_PORT: port(3001),
    PEOPLE_API_PORT: port(3002),
    CACHE_WORKER_PORT: port(3003),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Tokens whose `exp` lies further than this after `iat` (or now, without `iat`) are refused. */
    JWT_MAX_LIFETIME_SECONDS: z.coerce.number().int().min(60).max(30 * 86_400).default(86_400),
    /** Leeway for `exp` and `nbf` against clock skew between the token's issuer and this process. */
    JWT_CLOCK_TOLERANCE_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
    /** Set: tokens must carry this `iss` (and minted ones do). */
    JWT_ISSUER: z.string().min(1).optional(),
    /** Set: tokens must carry this `aud` (and minted ones do). */
    JWT_AUDIENCE: z.string().min(1).optional(),
    /** Per client (token subject, else IP) per minute; 0 turns limiting off. Default: 600 in production, else 0. */
    RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).optional(),
    /** The budget of the expensive, never-cached routes. Default: min(30, RATE_LIMIT_PER_MINUTE). */
    RATE_LIMIT_EXPENSIVE_PER_MINUTE: z.coerce.number().int().min(0).optional(),
    /** Which proxies in front may say who the client is (X-Forwarded-For): see `trustProxy`. */
    TRUST_PROXY: trustProxy.default(false),
    // The cache worker: where it warms the APIs' caches up, and how it runs jobs.
    ORGANISATIONS_API_URL: httpUrl.optional(),
    PEOPLE_API_URL: httpUrl.optional(),
    WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(8),
    /**
     * Warm-up jobs a worker runs at once. Higher than WORKER_CONCURRENCY: a warm-up job waits on the APIs, and a refill
     * that queues behind others lands after the reads it was meant to serve.
     */
    WARMUP_CONCURRENCY: z.coerce.number().int().min(1).max(1024).default(64),
    /** How long a job's lock lasts without renewal: a killed worker's job is taken over after about this long. */
    WORKER_LOCK_MS: z.coerce.number().int().min(500).max(600_000).default(30_000),
    WARMUP_ON_START: booleanString.default(true),
    OUTBOX_RETENTION_HOURS: z.coerce.number().min(0).default(24),
    /**
     * The consistency auditor: cached entries the worker compares with a fresh read of their route, per second
     * (each check is one GET through an API, so this bounds its database load). 0 turns it off; it also needs WARMUP_TOKEN.
     */
    CACHE_AUDIT_PER_SECOND: z.coerce.number().min(0).max(1_000).default(2),
    /**
     * A shared credential, not a JWT: the worker's warm-up GETs carry it, and the APIs accept it as a reader (GETs
     * only, outside the rate limits), so the worker holds no signing key and needs no token that expires. Set the
     * same value on the worker and both APIs. Unset: no warm-up.
     */
    WARMUP_TOKEN: z.string().min(32, 'must be at least 32 characters (e.g. `openssl rand -hex 32`)').regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces').optional(),
    /** The worker's queue dashboard credential (not a JWT). Unset: the dashboard is off. */
    ADMIN_QUEUES_TOKEN: z.string().min(32, 'must be at least 32 characters (e.g. `openssl rand -base64 32`)').regex(/^\S+$/, 'must not contain spaces').optional(),
    /** Failed jobs stay visible (dashboard, metrics) this long, at most this many per queue, then are removed. */
    FAILED_JOBS_MAX_AGE_HOURS: z.coerce.number().positive().max(24 * 365).default(24 * 7),
    FAILED_JOBS_MAX_COUNT: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV !== 'production') return;
    // Production refuses any secret a reader of this repository knows, and any JWT secret short enough to guess.
    const secret = env.JWT_SECRET;
    if (secret === undefined) {
      ctx.addIssue({ code: 'custom', path: ['JWT_SECRET'], message: `must be set when NODE_ENV=production (${MIN_PRODUCTION_SECRET_BYTES}+ random bytes, e.g. \`openssl rand -hex 32\`)` });
    } else if (isPublishedSecret(secret)) {
      ctx.addIssue({ code: 'custom', path: ['JWT_SECRET'], message: 'is a value published in this repository (a default, example or placeholder): set a secret of your own' });
    } else if (Buffer.byteLength(secret, 'utf8') < MIN_PRODUCTION_SECRET_BYTES) {
      ctx.addIssue({ code: 'custom', path: ['JWT_SECRET'], message: `must be at least ${MIN_PRODUCTION_SECRET_BYTES} bytes when NODE_ENV=production` });
    }
    const given = (name: 'REDIS_PASSWORD' | 'WARMUP_TOKEN' | 'ADMIN_QUEUES_TOKEN'): [string, string][] => (env[name] ? [[name, env[name]]] : []);
    const passwords: [string, string][] = [...urlPasswords(env), ...given('REDIS_PASSWORD'), ...given('WARMUP_TOKEN'), ...given('ADMIN_QUEUES_TOKEN')];
    for (const [variable, password] of passwords) {
      if (isPublishedSecret(password)) {
        ctx.addIssue({ code: 'custom', path: [variable], message: 'carries a password published in this repository (a placeholder): set your own' });
      }
    }
  });

type RawEnv = z.infer<typeof envSchema>;

/** The parsed configuration, with derived values resolved. */
export interface Env extends Omit<RawEnv, 'REDIS_URL' | 'QUEUE_REDIS_URL' | 'REDIS_CLUSTER_NODES' | 'QUEUE_REDIS_CLUSTER_NODES' | 'JWT_SECRET' | 'ORGANISATIONS_API_URL' | 'PEOPLE_API_URL' | 'RATE_LIMIT_PER_MINUTE' | 'RATE_LIMIT_EXPENSIVE_PER_MINUTE'> {
  REDIS_URL: string;
  QUEUE_REDIS_URL: string;
  REDIS_CLUSTER_NODES: RedisNode[] | null;
  /** Resolved: null when the queues are on a single server. */
  QUEUE_REDIS_CLUSTER_NODES: RedisNode[] | null;
  /** The cache Redis to connect to: REDIS_CLUSTER_NODES when set, else REDIS_URL. */
  cacheRedis: RedisTarget;
  /** The queue Redis to connect to: QUEUE_REDIS_CLUSTER_NODES when set (resolved), else QUEUE_REDIS_URL. */
  queueRedis: RedisTarget;
  ORGANISATIONS_API_URL: string;
  PEOPLE_API_URL: string;
  JWT_SECRET: string;
  /** Resolved: 600 in production, 0 (off) elsewhere, unless set. */
  RATE_LIMIT_PER_MINUTE: number;
  /** Resolved: min(30, RATE_LIMIT_PER_MINUTE) unless set; 0 when limiting is off. */
  RATE_LIMIT_EXPENSIVE_PER_MINUTE: number;
  /** True when JWT_SECRET was not set and the dev default is in use. */
  usingDevJwtSecret: boolean;
  /** Per-prefix TTL overrides from `CACHE_TTL_<PREFIX>`, keyed by lower-case prefix. */
  cacheTtlOverrides: Record<string, number>;
}

/** A bad value in the environment: the message names every offending variable. */
export class InvalidEnvironmentError extends Error {
  readonly code = 'INVALID_ENVIRONMENT';
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(`Invalid environment: ${problems.map((p) => `${p.variable} ${p.message}`).join('; ')}`);
    this.name = 'InvalidEnvironmentError';
  }
}

function redisUrlFromParts(env: RawEnv, db: number): string {
  const auth = env.REDIS_PASSWORD ? `:${encodeURIComponent(env.REDIS_PASSWORD)}@` : '';
  return `redis://${auth}${env.REDIS_HOST}:${env.REDIS_PORT}/${db}`;
}

/** The queue defaults to the cache server's next database, so BullMQ keys never mix with cache keys. */
function defaultQueueUrl(cacheUrl: string): string {
  const url = new URL(cacheUrl);
  const db = Number(url.pathname.slice(1) || '0');
  url.pathname = `/${(db + 1) % 16}`;
  return url.toString();
}

/** Parses an environment (process.env by default). Throws InvalidEnvironmentError naming each bad variable. */
export function parseEnv(source: NodeJS.ProcessEnv = process.env): Env {
  // Empty strings mean "unset", as in most .env files.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const result = envSchema.safeParse(cleaned);
  const problems: { variable: string; message: string }[] = [];
  if (!result.success) {
    for (const issue of result.error.issues) {
      problems.push({ variable: String(issue.path[0] ?? '?'), message: issue.message });
    }
  }
  const cacheTtlOverrides: Record<string, number> = {};
  for (const [name, value] of Object.entries(cleaned)) {
    const match = /^CACHE_TTL_([A-Z0-9_]+)$/.exec(name);
    if (!match) continue;
    const seconds = Number(value);
    if (!Number.isInteger(seconds) || seconds < 0) {
      problems.push({ variable: name, message: 'must be a whole number of seconds >= 0' });
    } else {
      cacheTtlOverrides[match[1]!.toLowerCase()] = seconds;
    }
  }
  if (problems.length > 0 || !result.success) throw new InvalidEnvironmentError(problems);
  const raw = result.data;
  const REDIS_URL = raw.REDIS_URL ?? redisUrlFromParts(raw, raw.REDIS_DB);
  const QUEUE_REDIS_URL = raw.QUEUE_REDIS_URL ?? defaultQueueUrl(REDIS_URL);
  const REDIS_CLUSTER_NODES = raw.REDIS_CLUSTER_NODES ?? null;
  // A cluster has no db numbers: the queues share the cache's cluster (their `{crm-jobs}` prefix keeps them apart)
  // unless QUEUE_REDIS_URL puts them on a server of their own.
  const QUEUE_REDIS_CLUSTER_NODES = raw.QUEUE_REDIS_CLUSTER_NODES ?? (raw.QUEUE_REDIS_URL ? null : REDIS_CLUSTER_NODES);
  const RATE_LIMIT_PER_MINUTE = raw.RATE_LIMIT_PER_MINUTE ?? (raw.NODE_ENV === 'production' ? PRODUCTION_RATE_LIMIT_PER_MINUTE : 0);
  const RATE_LIMIT_EXPENSIVE_PER_MINUTE = RATE_LIMIT_PER_MINUTE === 0
    ? 0
    : raw.RATE_LIMIT_EXPENSIVE_PER_MINUTE ?? Math.min(DEFAULT_EXPENSIVE_RATE_LIMIT_PER_MINUTE, RATE_LIMIT_PER_MINUTE);
  const cluster = (nodes: RedisNode[]): RedisTarget => ({ clusterNodes: nodes, ...(raw.REDIS_PASSWORD ? { password: raw.REDIS_PASSWORD } : {}) });
  return {
    ...raw,
    REDIS_URL,
    QUEUE_REDIS_URL,
    REDIS_CLUSTER_NODES,
    QUEUE_REDIS_CLUSTER_NODES,
    cacheRedis: REDIS_CLUSTER_NODES ? cluster(REDIS_CLUSTER_NODES) : REDIS_URL,
    queueRedis: QUEUE_REDIS_CLUSTER_NODES ? cluster(QUEUE_REDIS_CLUSTER_NODES) : QUEUE_REDIS_URL,
    ORGANISATIONS_API_URL: raw.ORGANISATIONS_API_URL ?? `http://127.0.0.1:${raw.ORGANISATIONS_API_PORT}`,
    PEOPLE_API_URL: raw.PEOPLE_API_URL ?? `http://127.0.0.1:${raw.PEOPLE_API_PORT}`,
    RATE_LIMIT_PER_MINUTE,
    RATE_LIMIT_EXPENSIVE_PER_MINUTE,
    JWT_SECRET: raw.JWT_SECRET ?? DEV_JWT_SECRET,
    usingDevJwtSecret: raw.JWT_SECRET === undefined,
    cacheTtlOverrides,
  };
}
