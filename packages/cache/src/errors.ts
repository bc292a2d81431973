/**
 * The cache's errors, recognised by their stable `code` (as bentocache's `E_*`), never by their message, with
 * the original failure as `cause`; and the one place that interprets ioredis's own errors.
 */

/** Redis could not take a call the caller needs done (the worker's application of an event): retry later. */
export class CacheUnavailableError extends Error {
  readonly code = 'E_CACHE_UNAVAILABLE';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CacheUnavailableError';
  }
}

/**
 * ioredis's error for a command that got no answer within commandTimeout. ioredis (6.0) rejects it with a plain
 * `Error` (no class, no code: see its Command.setTimeout), so its message is all there is to go by.
 */
export const isCommandTimeout = (error: unknown) => error instanceof Error && error.message === 'Command timed out';
