import express, { type Express, type RequestHandler, type Router } from 'express';
import helmet from 'helmet';
import swaggerUi from 'swagger-ui-express';
import { rateLimit, type IncrementResponse, type Logger as RateLimitLogger, type Store } from 'express-rate-limit';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import { ReplyError, type Cluster, type Redis } from 'ioredis';
import type { Logger, ServiceMetrics } from '@crm/telemetry';
import { authenticate } from './auth';
import { notFoundHandler, problemHandler } from './errors';
import { healthHandler, type HealthProbes } from './health';
import type { OpenApiRegistry } from './openapi';
import { HttpProblem } from './problem';

export interface ServiceAppOptions {
  service: string;
  logger: Logger;
  metrics: ServiceMetrics;
  jwtSecret: string;
  openapi: OpenApiRegistry;
  health: HealthProbes;
  /** Requests per minute per client before 429; 0 turns limiting off. */
  rateLimitPerMinute?: number;
  /**
   * Counts requests in this Redis, so the limit holds per client across all replicas (default: per process,
   * in memory). Give a fail-fast client (no offline queue, a short command timeout, e.g. the cache's):
   * when Redis fails, requests pass unlimited rather than wait or fail.
   */
  rateLimitRedis?: Redis | Cluster | null;
  /** Key prefix of the shared counts (default `crm:ratelimit:`). */
  rateLimitPrefix?: string;
  /** Runs around every API request (e.g. a MikroORM RequestContext). */
  perRequest?: RequestHandler;
  /** Adds the service's routes to the authenticated `/api/v1` router. */
  routes: (api: Router) => void;
  /** Adds pages outside `/api/v1` (e.g. the worker's queue dashboard), each guarding itself. */
  pages?: (app: Express) => void;
}

export const API_BASE = '/api/v1';
export const MAX_BODY = '100kb';

/** After Redis fails to answer, the rate limiter skips it for this long: no request waits on a hung server. */
const RATE_LIMIT_SKIP_MS = 5_000;

/**
 * rate-limit-redis loads its Lua script once, at start; if Redis was down then, every later call would fail
 * on that rejected load forever (and pass unlimited). Retry the load instead.
 */
class ReloadingRedisStore extends RedisStore {
  override async increment(key: string): Promise<IncrementResponse> {
    this.incrementScriptSha = this.incrementScriptSha.catch(() => this.loadIncrementScript(this.prefixKey(key)));
    return super.increment(key);
  }
}

/**
 * A rate-limit store shared by every replica through Redis; it fails fast so the limiter can fail open.
 * Each count is one key, used by one-key scripts: fine on a cluster. A script is loaded on every master there
 * (SCRIPT LOAD has no key; EVALSHA runs on the key's master, a promoted replica included after a NOSCRIPT reload).
 */
function redisRateLimitStore(redis: Redis | Cluster, prefix: string): Store {
  let skipUntil = 0;
  const call = async (command: string, args: string[]): Promise<unknown> => {
    if (redis.isCluster && command.toUpperCase() === 'SCRIPT' && args[0]?.toUpperCase() === 'LOAD') {
      const masters = (redis as Cluster).nodes('master');
      if (masters.length === 0) throw new Error('rate limit store unavailable (no cluster master known)');
      return (await Promise.all(masters.map((node) => node.call(command, ...args))))[0];
    }
    return redis.call(command, ...args);
  };
  return new ReloadingRedisStore({
    prefix,
    sendCommand: async (command: string, ...args: string[]) => {
      if (redis.status !== 'ready' || Date.now() < skipUntil) throw new Error(`rate limit store unavailable (redis ${redis.status})`);
      try {
        return (await call(command, args)) as RedisReply;
      } catch (error) {
        // A reply error (e.g. NOSCRIPT after a restart) means Redis answered; anything else, that it is down or hung.
        if (!(error instanceof ReplyError)) skipUntil = Date.now() + RATE_LIMIT_SKIP_MS;
        throw error;
      }
    },
  });
}

/** The limiter's error log, at most one line per 10 s: during an outage every request would log one. */
function rateLimitLogger(logger: Logger): RateLimitLogger {
  let lastLogged = 0;
  const log = (error: unknown, message?: string) => {
    if (Date.now() - lastLogged < 10_000) return;
    lastLogged = Date.now();
    logger.warn({ err: error instanceof Error ? error.message : String(error) }, message ?? 'rate limiter error');
  };
  return { warn: log, error: log };
}

/** Route label for metrics: the matched pattern, never the raw URL (bounded cardinality). */
function routeLabel(req: express.Request): string {
  const pattern = req.route?.path as string | undefined;
  return pattern ? `${req.baseUrl}${pattern}` : 'unmatched';
}

/** One log line and one histogram sample per request, with the cache result when there is one. */
function observe(logger: Logger, metrics: ServiceMetrics): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = routeLabel(req);
      metrics.httpRequestDuration.observe({ method: req.method, route, status_code: String(res.statusCode) }, seconds);
      if (req.path === '/metrics' || req.path === '/health') return;
      // The worker's warm-up GETs (its token's subject) would be most of a fresh start's log: it logs one
      // summary line per warm-up job instead, and these stay available at LOG_LEVEL=debug.
      const level = req.principal?.sub === 'cache-worker' ? 'debug' : 'info';
      logger[level]({
        method: req.method,
        url: req.originalUrl.replace(/([?&]token=)[^&]*/, '$1[redacted]'),
        route,
        status: res.statusCode,
        durationMs: Math.round(seconds * 1e5) / 100,
        cache: res.getHeader('x-cache') ?? null,
        role: req.principal?.role ?? null,
      }, 'request');
    });
    next();
  };
}

/** Builds a service's Express app: security headers, body limits, auth, docs, health, metrics, problem+json. */
export function createServiceApp(options: ServiceAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // the cache layer sets strong ETags itself
  app.set('trust proxy', 'loopback');
  app.use(helmet({ contentSecurityPolicy: false }));
  app.use(observe(options.logger, options.metrics));

  app.get('/health', healthHandler(options.service, options.health));
  app.get('/metrics', async (_req, res) => {
    const { contentType, body } = await options.metrics.expose();
    res.type(contentType).send(body);
  });
  app.get('/openapi.json', (_req, res) => {
    res.json(options.openapi.document());
  });
  app.use('/docs', swaggerUi.serve, swaggerUi.setup(undefined, {
    customSiteTitle: `${options.service} API`,
    swaggerOptions: { url: '/openapi.json', persistAuthorization: true },
  }));

  const api = express.Router();
  if (options.rateLimitPerMinute) {
    const redis = options.rateLimitRedis;
    api.use(rateLimit({
      windowMs: 60_000,
      limit: options.rateLimitPerMinute,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      ...(redis ? {
        store: redisRateLimitStore(redis, options.rateLimitPrefix ?? 'crm:ratelimit:'),
        passOnStoreError: true, // Redis down: serve unlimited rather than fail every request
        logger: rateLimitLogger(options.logger),
      } : {}),
      handler: (_req, _res, next) => next(new HttpProblem('rate_limited', 'Too many requests; retry after the window resets')),
    }));
  }
  api.use(authenticate(options.jwtSecret));
  api.use(express.json({ limit: MAX_BODY, strict: true, type: ['application/json', 'application/*+json'] }));
  if (options.perRequest) api.use(options.perRequest);
  options.routes(api);
  app.use(API_BASE, api);
  options.pages?.(app);

  app.use(notFoundHandler);
  app.use(problemHandler(options.logger));
  return app;
}
