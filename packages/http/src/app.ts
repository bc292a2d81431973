import express, { type ErrorRequestHandler, type Express, type RequestHandler, type Router } from 'express';
import helmet from 'helmet';
import swaggerUi from 'swagger-ui-express';
import type { RedisClient } from '@crm/redis';
import type { TrustProxy } from '@crm/config';
import { redactUrl, type Logger, type ServiceMetrics } from '@crm/telemetry';
import { authenticateInSteps, type JwtPolicy } from './auth';
import { notFoundHandler, problemHandler } from './errors';
import { healthHandler, type HealthProbes } from './health';
import { traceResponse } from './trace-response';
import type { OpenApiRegistry } from './openapi';
import { rateLimiters } from './rate-limit';
import { routeLabeller } from './route-label';

export interface ServiceAppOptions {
  service: string;
  logger: Logger;
  metrics: ServiceMetrics;
  /** How bearer tokens are verified (`securityOptions(env)` builds it with the rate limits and TRUST_PROXY). */
  auth: JwtPolicy;
  openapi: OpenApiRegistry;
  health: HealthProbes;
  /** Requests per minute per client (token subject, else IP) before 429; 0 or unset turns limiting off. */
  rateLimitPerMinute?: number;
  /** The tighter budget of routes declared `expensive` (never cached, costly); 0 or unset: none. */
  rateLimitExpensivePerMinute?: number;
  /** Express `trust proxy`: who may say, in X-Forwarded-For, which client a request is from. Default false. */
  trustProxy?: TrustProxy;
  /**
   * Counts requests in this Redis, so the limit holds per client across all replicas (default: per process,
   * in memory). Give a fail-fast client (no offline queue, a short command timeout, e.g. the cache's):
   * when Redis fails, requests pass unlimited rather than wait or fail.
   */
  rateLimitRedis?: RedisClient | null;
  /** Key prefix of the shared counts (default `crm:ratelimit:`). */
  rateLimitPrefix?: string;
  /** Runs around every API request (e.g. a MikroORM RequestContext). */
  perRequest?: RequestHandler;
  /** Adds the service's routes to the authenticated `/api/v1` router. */
  routes: (api: Router) => void;
  /** Adds pages outside `/api/v1` (e.g. the worker's queue dashboard), each guarding itself. */
  pages?: (app: Express) => void;
  /**
   * Error handlers run, in order, before the problem handler (e.g. the cache's stale serving). Each passes the
   * error on; the problem handler still decides the status (toProblem) and logs it.
   */
  errorHandlers?: ErrorRequestHandler[];
}

export const API_BASE = '/api/v1';
export const MAX_BODY = '100kb';

/** One log line and one histogram sample per request, with the cache result when there is one. */
function observe(logger: Logger, metrics: ServiceMetrics, routeLabel: (req: express.Request, res: express.Response) => string): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = routeLabel(req, res);
      metrics.httpRequestDuration.observe({ method: req.method, route, status_code: String(res.statusCode) }, seconds);
      if (req.path === '/metrics' || req.path === '/health') return;
      // The worker's warm-up GETs (its credential) would be most of a fresh start's log: it logs one summary
      // line per warm-up job instead, and these stay available at LOG_LEVEL=debug.
      const level = req.principal?.internal ? 'debug' : 'info';
      logger[level]({
        method: req.method,
        url: redactUrl(req.originalUrl),
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
  // Off by default: a client could otherwise pick its own address (and rate-limit bucket) in X-Forwarded-For.
  app.set('trust proxy', options.trustProxy ?? false);
  app.use(helmet({ contentSecurityPolicy: false }));
  // Called once a response is sent, by which time the API router below exists.
  app.use(observe(options.logger, options.metrics, (req, res) => routeLabel(req, res)));
  app.use(traceResponse());

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
  // The token is checked before the limiter, which keys on its subject; its 401 is answered after, so anonymous
  // and badly authenticated requests are counted too (per IP).
  const auth = authenticateInSteps(options.auth);
  api.use(auth.identify);
  const limit = rateLimiters({
    perMinute: options.rateLimitPerMinute ?? 0,
    expensivePerMinute: options.rateLimitExpensivePerMinute ?? 0,
    redis: options.rateLimitRedis ?? null,
    prefix: options.rateLimitPrefix ?? 'crm:ratelimit:',
    logger: options.logger,
  });
  if (limit) api.use(limit);
  api.use(auth.require);
  api.use(express.json({ limit: MAX_BODY, strict: true, type: ['application/json', 'application/*+json'] }));
  if (options.perRequest) api.use(options.perRequest);
  options.routes(api);
  app.use(API_BASE, api);
  const routeLabel = routeLabeller(API_BASE, api);
  options.pages?.(app);

  app.use(notFoundHandler);
  for (const handler of options.errorHandlers ?? []) app.use(handler);
  app.use(problemHandler(options.logger));
  return app;
}
