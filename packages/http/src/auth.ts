import { createSecretKey, type KeyObject } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import jwt from 'jsonwebtoken';
import { z } from 'zod';
import { HttpProblem } from './problem';

export const ROLES = ['reader', 'editor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Who made the request, from a verified token. */
export interface Principal {
  sub: string;
  role: Role;
}

const claimsSchema = z.object({ sub: z.string().min(1), role: z.enum(ROLES), exp: z.number() });

const RANK: Record<Role, number> = { reader: 0, editor: 1, admin: 2 };

/** Reads need `reader`, writes need `editor`, cache administration needs `admin`. */
export function roleAtLeast(role: Role, needed: Role): boolean {
  return RANK[role] >= RANK[needed];
}

/** Mints an HS256 token for a role (dev tokens, tests). */
export function mintToken(secret: string, role: Role, options: { sub?: string; expiresInSeconds?: number } = {}): string {
  return jwt.sign({ role }, secret, {
    algorithm: 'HS256',
    subject: options.sub ?? `dev-${role}`,
    expiresIn: options.expiresInSeconds ?? 3600,
  });
}

/** Verifies `Authorization: Bearer <JWT>`; 401 for a missing, malformed, badly signed or expired token. */
export function authenticate(secret: string, options: { cookie?: string } = {}): RequestHandler {
  const key = secretKey(secret);
  return (req, res, next) => {
    const header = req.headers.authorization;
    const token = (header ? /^Bearer\s+(\S+)$/i.exec(header)?.[1] : undefined) ?? (options.cookie ? cookieOf(req, options.cookie) : undefined);
    if (!token) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      return next(new HttpProblem('unauthorized', 'A bearer token is required'));
    }
    let claims: unknown;
    try {
      // Pinning the algorithm refuses `alg: none` and key-confusion tokens.
      claims = jwt.verify(token, key, { algorithms: ['HS256'] });
    } catch (error) {
      res.setHeader('WWW-Authenticate', 'Bearer error="invalid_token"');
      const expired = error instanceof jwt.TokenExpiredError;
      return next(new HttpProblem('unauthorized', expired ? 'The token has expired' : 'The token is not valid'));
    }
    const parsed = claimsSchema.safeParse(claims);
    if (!parsed.success) {
      res.setHeader('WWW-Authenticate', 'Bearer error="invalid_token"');
      return next(new HttpProblem('unauthorized', 'The token lacks a valid sub, role or exp claim'));
    }
    req.principal = { sub: parsed.data.sub, role: parsed.data.role };
    next();
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
