/** Anything with pino's `warn(fields, message)`. */
export interface Warns {
  warn: (fields: object, message: string) => void;
}

/**
 * A warning that logs at most once per `everyMs` (10 s by default): a down server or an outage fails on every
 * request or reconnect attempt, and one line per attempt would bury everything else.
 */
export function throttledWarn(logger: Warns, everyMs = 10_000): (fields: Record<string, unknown>, message: string) => void {
  let lastLogged = -Infinity;
  return (fields, message) => {
    const now = Date.now();
    if (now - lastLogged < everyMs) return;
    lastLogged = now;
    logger.warn(fields, message);
  };
}

/**
 * Rejects with `<what> did not answer within <ms> ms` when `promise` has not settled by then. A late failure of
 * `promise` after the timeout is swallowed (not an unhandled rejection); the work itself is not cancelled.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  promise.catch(() => undefined);
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
