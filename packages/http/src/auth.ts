import { createHash, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import jwt from 'jsonwebtoken';
import { z } from 'zod';
import { HttpProblem } from './problem';

export const ROLES = ['reader', 'editor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Who made the request, from a verified token. */
export interface Principal {
  sub: string;
  role: Role;
  /** The cache worker's warm-up credential (not a JWT): a reader outside the rate limits. */
  internal?: boolean;
}

/** The subject of requests made with the warm-up credential. */
export const WARMUP_SUBJECT = 'cache-worker';

/** How bearer tokens are checked (and minted): one object, built from the environment by `securityOptions`. */
export interface JwtPolicy {
  /** The HS256 secret. */
  secret: string;
  /** `exp` at most this long after `iat` (or now, without `iat`). Default 24 h. */
  maxLifetimeSeconds?: number;
  /** Leeway for `exp` and `nbf`. Default 30 s. */
  clockToleranceSeconds?: number;
  /** Set: tokens must carry this `iss`; minted ones do. */
  issuer?: string;
  /** Set: tokens must carry this `aud`; minted ones do. */
  audience?: string;
  /**
   * WARMUP_TOKEN: a bearer equal to it is the cache worker, a reader (so GETs only). A shared secret rather than a
   * JWT, so the worker holds no key that could mint an admin token, and has no token that expires.
   */
  warmupToken?: string;
}

export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 86_400;
/** Verified tokens a process remembers (see bearerVerifier). */
const VERIFIED_KEPT = 10_000;
const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30;

/** A bare secret is the default policy: its limits, no iss/aud. */
function policyOf(policy: JwtPolicy | string): Required<Pick<JwtPolicy, 'secret' | 'maxLifetimeSeconds' | 'clockToleranceSeconds'>> & JwtPolicy {
  const given = typeof policy === 'string' ? { secret: policy } : policy;
  return {
    ...given,
    maxLifetimeSeconds: given.maxLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
    clockToleranceSeconds: given.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS,
  };
}

const claimsSchema = z.object({ sub: z.string().min(1), role: z.enum(ROLES), exp: z.number(), iat: z.number().optional() });

const RANK: Record<Role, number> = { reader: 0, editor: 1, admin: 2 };

/** Reads need `reader`, writes need `editor`, cache administration needs `admin`. */
export function roleAtLeast(role: Role, needed: Role): boolean {
  return RANK[role] >= RANK[needed];
}

/**
 * Mints an HS256 token for a role (dev tokens, tests, the worker's warm-up). With a policy, adds its `iss`/`aud`
 * and refuses a lifetime over its maximum (a RangeError), since the APIs would refuse that token.
 */
export function mintToken(policy: JwtPolicy | string, role: Role, options: { sub?: string; expiresInSeconds?: number } = {}): string {
  const { secret, maxLifetimeSeconds, issuer, audience } = policyOf(policy);
  const expiresIn = options.expiresInSeconds ?? Math.min(3600, maxLifetimeSeconds);
  if (expiresIn > maxLifetimeSeconds) {
    throw new RangeError(`a token may live at most ${maxLifetimeSeconds} s (JWT_MAX_LIFETIME_SECONDS); ${expiresIn} s asked`);
  }
  return jwt.sign({ role }, secret, {
    algorithm: 'HS256',
    subject: options.sub ?? `dev-${role}`,
    expiresIn,
    ...(issuer ? { issuer } : {}),
    ...(audience ? { audience } : {}),
  });
}

/** Why jsonwebtoken refused a token, in words a client can act on. */
function refusal(error: unknown): string {
  if (error instanceof jwt.TokenExpiredError) return 'The token has expired';
  if (error instanceof jwt.NotBeforeError) return 'The token is not valid yet (nbf is in the future)';
  const message = error instanceof Error ? error.message : '';
  if (message.startsWith('jwt issuer invalid')) return 'The token was not issued by the expected issuer (iss)';
  if (message.startsWith('jwt audience invalid')) return 'The token is not meant for this audience (aud)';
  if (message === 'invalid algorithm' || message === 'jwt signature is required') return 'The token must be signed with HS256';
  return 'The token is not valid';
}

/**
 * Checks a request's bearer token against a policy: the verified principal, or the 401 to answer (with the
 * WWW-Authenticate challenge already set). Pinning HS256 refuses `alg: none` and key-confusion tokens.
 */
function bearerVerifier(policy: JwtPolicy | string, options: { cookie?: string }): (req: Request, res: Response) => Principal | HttpProblem {
  const resolved = policyOf(policy);
  const key = secretKey(resolved.secret);
  const verifyOptions: jwt.VerifyOptions = {
    algorithms: ['HS256'],
    clockTolerance: resolved.clockToleranceSeconds,
    ...(resolved.issuer ? { issuer: resolved.issuer } : {}),
    ...(resolved.audience ? { audience: resolved.audience } : {}),
  };
  const invalid = (res: Response, detail: string) => {
    res.setHeader('WWW-Authenticate', 'Bearer error="invalid_token"');
    return new HttpProblem('unauthorized', detail);
  };
  const digest = (value: string) => createHash('sha256').update(value).digest();
  // Tokens this process verified, until they expire: a client sends the same token on every request, and checking
  // its signature and claims each time cost tens of µs of CPU, a large share of a cache hit. Bounded (oldest out first).
  const verified = new Map<string, { principal: Principal; exp: number }>();
  const warmup = resolved.warmupToken ? digest(resolved.warmupToken) : null;
  return (req, res) => {
    const header = req.headers.authorization;
    const token = (header ? /^Bearer\s+(\S+)$/i.exec(header)?.[1] : undefined) ?? (options.cookie ? cookieOf(req, options.cookie) : undefined);
    if (!token) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      return new HttpProblem('unauthorized', 'A bearer token is required');
    }
    // Compared as digests in constant time: equal lengths, and no timing hint about the credential.
    if (warmup && timingSafeEqual(digest(token), warmup)) return { sub: WARMUP_SUBJECT, role: 'reader', internal: true };
    const known = verified.get(token);
    if (known && Date.now() / 1000 < known.exp + resolved.clockToleranceSeconds) return known.principal;
    if (known) verified.delete(token); // expired since: verified again, so the 401 says why
    let claims: unknown;
    try {
      claims = jwt.verify(token, key, verifyOptions);
    } catch (error) {
      return invalid(res, refusal(error));
    }
    const parsed = claimsSchema.safeParse(claims);
    if (!parsed.success) {
      const names = [...new Set(parsed.error.issues.map((issue) => String(issue.path[0])))];
      return invalid(res, `The token lacks a valid ${names.join(', ')} claim (sub, role and exp are required)`);
    }
    // An iat in the future must not stretch the lifetime: measure from now at the latest.
    const now = Math.floor(Date.now() / 1000);
    const lifetime = parsed.data.exp - Math.min(parsed.data.iat ?? now, now);
    if (lifetime > resolved.maxLifetimeSeconds) {
      return invalid(res, `The token lives longer than the ${resolved.maxLifetimeSeconds} s this service accepts (exp - iat); mint a shorter-lived one`);
    }
    const principal: Principal = { sub: parsed.data.sub, role: parsed.data.role };
    if (verified.size >= VERIFIED_KEPT) verified.delete(verified.keys().next().value!);
    verified.set(token, { principal, exp: parsed.data.exp });
    return principal;
  };
}

/** Verifies `Authorization: Bearer <JWT>`; 401 (problem+json with WWW-Authenticate) for any token the policy refuses. */
export function authenticate(policy: JwtPolicy | string, options: { cookie?: string } = {}): RequestHandler {
  const verify = bearerVerifier(policy, options);
  return (req, res, next) => {
    const result = verify(req, res);
    if (result instanceof HttpProblem) return next(result);
    req.principal = result;
    next();
  };
}

/**
 * Like `authenticate`, split in two so something can run between: `identify` sets `req.principal` when the token
 * is valid and otherwise lets the request on; `require` then answers its 401. The rate limiter sits between, so it
 * keys on the verified subject and still counts anonymous and badly authenticated requests (per IP).
 */
export function authenticateInSteps(policy: JwtPolicy | string): { identify: RequestHandler; require: RequestHandler } {
  const verify = bearerVerifier(policy, {});
  const refused = new WeakMap<Request, HttpProblem>();
  return {
    identify: (req, res, next) => {
      const result = verify(req, res);
      if (result instanceof HttpProblem) refused.set(req, result);
      else req.principal = result;
      next();
    },
    require: (req, _res, next) => next(refused.get(req)),
  };
}

/**
 * The HMAC key, made once: given a string, jsonwebtoken rebuilds a key object on every verify (first trying
 * to read it as a public key, which throws), a measured 12% of a cached read's CPU.
 */
function secretKey(secret: string): KeyObject {
  return createSecretKey(Buffer.from(secret, 'utf8'));
}

/**
 * A cookie's value, or undefined. Malformed percent-encoding is a value that matches no token (so a 401, never
 * a 500): the raw text is returned as the `cookie` package does.
 */
export function cookieOf(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1 || part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    try {
      return decodeURIComponent(value);
    } catch {
      return value;
    }
  }
  return undefined;
}

/** 403 unless the authenticated caller has at least `needed`. */
export function requireRole(needed: Role): RequestHandler {
  return (req, _res, next) => {
    const principal = req.principal;
    if (!principal) return next(new HttpProblem('unauthorized', 'A bearer token is required'));
    if (!roleAtLeast(principal.role, needed)) {
      return next(new HttpProblem('forbidden', `This action needs the ${needed} role; the token has ${principal.role}`));
    }
    next();
  };
}

/** The principal of an authenticated request. */
export function principalOf(req: Request): Principal {
  if (!req.principal) throw new HttpProblem('unauthorized', 'A bearer token is required');
  return req.principal;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by `authenticate` once the token is verified. */
      principal?: Principal;
    }
  }
}
