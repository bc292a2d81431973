/**
 * Grace: a request whose entry was past its TTL (never invalidated) serves that entry, marked STALE, when the
 * database fails while refreshing it. The middleware offers the entry; the error handler serves it.
 */
import type { ErrorRequestHandler, Response } from 'express';
import { toProblem } from '@crm/http';

/** The stale answer offered for a response, kept only as long as the response is. */
const offered = new WeakMap<Response, () => void>();

/** Offers `serve` (which sends the expired entry) to the error handler, should this request fail. */
export function offerStale(res: Response, serve: () => void): void {
  offered.set(res, serve);
}

/**
 * The error handler that serves an offered stale entry instead of the error, when the error is one the problem
 * handler answers 503 (the database unavailable or out of time). Register it before the problem handler (see
 * createServiceApp's `errorHandlers`): it passes the error on either way, so the failure is still logged.
 */
export function serveStaleOnFailure(): ErrorRequestHandler {
  return (error, _req, res, next) => {
    const serve = offered.get(res);
    if (serve && !res.headersSent && toProblem(error).status === 503) serve();
    next(error);
  };
}
