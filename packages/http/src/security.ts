import type { Env } from '@crm/config';
import type { ServiceAppOptions } from './app';
import type { JwtPolicy } from './auth';

/** The token policy the environment sets (JWT_SECRET, JWT_MAX_LIFETIME_SECONDS, JWT_ISSUER, ...), to verify and mint with. */
export function jwtPolicy(env: Env): JwtPolicy {
  return {
    secret: env.JWT_SECRET,
    maxLifetimeSeconds: env.JWT_MAX_LIFETIME_SECONDS,
    clockToleranceSeconds: env.JWT_CLOCK_TOLERANCE_SECONDS,
    ...(env.JWT_ISSUER ? { issuer: env.JWT_ISSUER } : {}),
    ...(env.JWT_AUDIENCE ? { audience: env.JWT_AUDIENCE } : {}),
    ...(env.WARMUP_TOKEN ? { warmupToken: env.WARMUP_TOKEN } : {}),
  };
}

/** Everything `createServiceApp` needs to authenticate and rate-limit, from the environment: each service spreads it. */
export function securityOptions(env: Env): Pick<ServiceAppOptions, 'auth' | 'rateLimitPerMinute' | 'rateLimitExpensivePerMinute' | 'trustProxy'> {
  return {
    auth: jwtPolicy(env),
    rateLimitPerMinute: env.RATE_LIMIT_PER_MINUTE,
    rateLimitExpensivePerMinute: env.RATE_LIMIT_EXPENSIVE_PER_MINUTE,
    trustProxy: env.TRUST_PROXY,
  };
}
