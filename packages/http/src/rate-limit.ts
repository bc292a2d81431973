import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit, type IncrementResponse, type Logger as RateLimitLogger, type Store } from 'express-rate-limit';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import { ReplyError, type Cluster } from 'ioredis';
import type { RedisClient } from '@crm/redis';
import { throttledWarn, type Logger } from '@crm/telemetry';
import { HttpProblem } from './problem';

/** After Redis fails to answer, the rate limiter skips it for this long: no request waits on a hung server. */
const RATE_LIMIT_SKIP_MS = 5_000;
const WINDOW_MS = 60_000;

/** What the limiters need; `perMinute` 0 turns limiting off. */
export interface RateLimitOptions {
  perMinute: number;
  /** The budget of routes declared `expensive` (0: no extra budget). */
  expensivePerMinute: number;
  /** Shared counts across replicas (null: per process, in memory). */
  redis: RedisClient | null;
  prefix: string;
  logger: Logger;
}

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
function redisRateLimitStore(redis: RedisClient, prefix: string): Store {
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
  const warn = throttledWarn(logger);
  const log = (error: unknown, message?: string) => warn({ err: error instanceof Error ? error.message : String(error) }, message ?? 'rate limiter error');
  return { warn: log, error: log };
}

/**
 * Whose budget a request spends: the verified token's subject (so clients behind one address, or one NAT, do not
 * share a bucket, and one subject cannot multiply its budget across addresses), else the client's address (its
 * IPv6 /56 subnet), as `trust proxy` resolves it. Subjects are hashed: keys stay short whatever a `sub` holds.
 */
function clientKey(req: Parameters<RequestHandler>[0]): string {
  if (req.principal) return `sub:${createHash('sha256').update(req.principal.sub).digest('base64url').slice(0, 22)}`;
  return `ip:${ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? 'unknown')}`;
}

function limiter(options: RateLimitOptions, limit: number, name: string, prefix: string): RequestHandler {
  const { redis } = options;
  return rateLimit({
    windowMs: WINDOW_MS,
    limit,
    identifier: name,
    standardHeaders: 'draft-8', // RateLimit/RateLimit-Policy, and Retry-After on a 429
    legacyHeaders: false,
    keyGenerator: clientKey,
    // The worker's warm-up: as many GETs as there are writes, each already bounded by a write's own budget.
    skip: (req) => req.principal?.internal === true,
    ...(redis ? {
      store: redisRateLimitStore(redis, prefix),
      passOnStoreError: true, // Redis down: serve unlimited rather than fail every request
      logger: rateLimitLogger(options.logger),
    } : {}),
    handler: (_req, res, next) => {
      const retryAfter = res.getHeader('retry-after');
      next(new HttpProblem('rate_limited', `Too many requests (${name} budget: ${limit} per minute); retry after ${retryAfter ?? 60} s`));
    },
  });
}

/** Where `rateLimiters` leaves the expensive routes' limiter for `expensiveRouteLimit` to find. */
const EXPENSIVE_LIMITER = 'crmExpensiveLimiter';

/**
 * The limiters of an API router: `general` counts every request (mount it after `identify`, before the 401),
 * and also hands the expensive budget to the routes declared `expensive`. Null when limiting is off.
 */
export function rateLimiters(options: RateLimitOptions): RequestHandler | null {
  if (options.perMinute <= 0) return null;
  const general = limiter(options, options.perMinute, 'general', options.prefix);
  const expensive = options.expensivePerMinute > 0
    ? limiter(options, options.expensivePerMinute, 'expensive', `${options.prefix}expensive:`)
    : null;
  return (req, res, next) => {
    if (expensive) res.locals[EXPENSIVE_LIMITER] = expensive;
    return general(req, res, next);
  };
}

/** Spends the expensive budget too (a route's `expensive: true`); passes when limiting is off. */
export const expensiveRouteLimit: RequestHandler = (req, res, next) => {
  const expensive = res.locals[EXPENSIVE_LIMITER] as RequestHandler | undefined;
  if (!expensive) return next();
  return expensive(req, res, next);
};
