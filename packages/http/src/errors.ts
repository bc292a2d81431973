import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ZodError } from 'zod';
import type { Logger } from '@crm/telemetry';
import { HttpProblem, PROBLEM_KINDS, type FieldError, type ProblemKind } from './problem';

/** Turns a ZodError into field errors with dotted paths (`email`, `items.0.name`). */
export function fieldErrors(error: ZodError, prefix?: string): FieldError[] {
  return error.issues.flatMap((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter((p) => p !== undefined && p !== '').join('.');
    if (issue.code === 'unrecognized_keys') {
      // One error per unknown key, each with its own path.
      return issue.keys.map((key) => ({ path: [path, key].filter(Boolean).join('.'), message: `unknown field: ${key}` }));
    }
    return [{ path: path || '(root)', message: issue.message }];
  });
}

/** The error chain, outermost first (MikroORM wraps the driver's error as `cause`). */
function* causes(error: unknown): Generator<{ code?: string; message?: string; name?: string }> {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    yield e as { code?: string; message?: string; name?: string };
  }
}

const PG_CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', '57P01', '57P02', '57P03', '53300']);

/** True for errors that mean PostgreSQL cannot be reached or is shutting down: the client gets 503, not 500. */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, message, name } = e as { code?: string; message?: string; name?: string };
    if (code && (PG_CONNECTION_CODES.has(code) || code.startsWith('08'))) return true;
    if (name === 'ConnectionException') return true;
    if (message && /Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(message)) return true;
  }
  return false;
}

/**
 * True for PostgreSQL's data exceptions (SQLSTATE class 22: invalid text representation, numeric or date out of
 * range, invalid byte sequence, string too long ...): the value came from the request, so the client gets 400.
 */
export function isDataException(error: unknown): boolean {
  for (const { code } of causes(error)) {
    if (typeof code === 'string' && /^22[0-9A-Z]{3}$/.test(code)) return true;
  }
  return false;
}

/**
 * True when a query ran out of its time budget: PostgreSQL cancelled it (SQLSTATE 57014, statement_timeout),
 * or no pooled connection became free in time (pg-pool's connectionTimeoutMillis). A 503: retrying later helps.
 */
export function isQueryTimeout(error: unknown): boolean {
  for (const { code, message } of causes(error)) {
    if (code === '57014') return true;
    if (message && /timeout exceeded when trying to connect|canceling statement due to statement timeout/i.test(message)) return true;
  }
  return false;
}

/** An error from Express or body-parser (http-errors) that carries its own 4xx status, or undefined. */
function clientErrorStatus(error: unknown): number | undefined {
  const { status, statusCode } = (error ?? {}) as { status?: unknown; statusCode?: unknown };
  const code = typeof status === 'number' ? status : statusCode;
  return typeof code === 'number' && code >= 400 && code < 500 ? code : undefined;
}

/** The problem for an http-errors 4xx: its own kind when the table has one for the status, else a plain 400. */
function clientProblem(error: unknown, status: number): HttpProblem {
  // Express's router: a path segment that is not valid percent-encoded UTF-8 (`%ff`, `%zz`, `%ED%A0%80`).
  if (error instanceof URIError) {
    return new HttpProblem('bad_request', 'The path has malformed percent-encoding', [{ path: 'params', message: 'must be valid percent-encoded UTF-8' }]);
  }
  const kind = (Object.keys(PROBLEM_KINDS) as ProblemKind[]).find((k) => PROBLEM_KINDS[k].status === status && k !== 'validation') ?? 'bad_request';
  // http-errors marks 4xx messages as safe to show (`expose`); anything else gets the generic title.
  const { expose, message } = error as { expose?: unknown; message?: unknown };
  const detail = expose === true && typeof message === 'string' && message ? message : PROBLEM_KINDS[kind].title;
  return new HttpProblem(kind, detail);
}

/** Seconds a client should wait before retrying, per status: a busy or unreachable database recovers within seconds. */
const RETRY_AFTER_SECONDS: Partial<Record<number, number>> = { 503: 5, 429: 60 };

/** Maps anything thrown by a handler to a problem, by kind; unknown errors become a 500 without details. */
export function toProblem(error: unknown): HttpProblem {
  if (error instanceof HttpProblem) return error;
  if (error instanceof ZodError) return new HttpProblem('validation', 'The request is not valid', fieldErrors(error));
  const e = error as { type?: string; status?: number; name?: string; code?: string; constraint?: string };
  // body-parser's errors carry a `type`.
  if (e.type === 'entity.parse.failed') return new HttpProblem('malformed_json', 'The request body is not valid JSON');
  if (e.type === 'entity.too.large') return new HttpProblem('payload_too_large', 'The request body is larger than 100 kB');
  if (e.type === 'charset.unsupported' || e.type === 'encoding.unsupported') return new HttpProblem('unsupported_media_type', 'Unsupported body encoding');
  if (e.name === 'UniqueConstraintViolationException') return new HttpProblem('conflict', 'A record with the same unique value already exists');
  if (e.name === 'ForeignKeyConstraintViolationException') return new HttpProblem('bad_request', 'A referenced record does not exist');
  if (e.name === 'CheckConstraintViolationException' || e.name === 'NotNullConstraintViolationException') {
    return new HttpProblem('bad_request', 'The request violates a data constraint');
  }
  if (isDataException(error)) return new HttpProblem('bad_request', 'A value in the request cannot be stored by the database');
  if (isQueryTimeout(error)) {
    return new HttpProblem('unavailable', 'The database did not answer within its time budget; retry later', undefined, { cause: error });
  }
  const status = clientErrorStatus(error);
  if (status !== undefined) return clientProblem(error, status);
  if (isDatabaseUnavailable(error)) return new HttpProblem('unavailable', 'The database is unavailable', undefined, { cause: error });
  return new HttpProblem('internal', 'An unexpected error occurred', undefined, { cause: error });
}

/**
 * The four-argument error handler, registered last: every error leaves as problem+json, unless an error handler
 * before it already answered (e.g. with a stale cache entry): the error is still logged.
 */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const problem = toProblem(error);
    if (problem.status >= 500) {
      logger.error({ err: problem.cause ?? error, method: req.method, url: req.originalUrl }, problem.detail);
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    const retryAfter = RETRY_AFTER_SECONDS[problem.status];
    // The rate limiter sets its own (the window's reset); keep it.
    if (retryAfter !== undefined && !res.getHeader('retry-after')) res.setHeader('Retry-After', String(retryAfter));
    res.status(problem.status).type('application/problem+json').send(JSON.stringify(problem.toJSON()));
  };
}

/** The catch-all for unknown routes. */
export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new HttpProblem('not_found', `No route for ${req.method} ${req.path}`));
};
