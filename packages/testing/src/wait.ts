/** Resolves after `ms` milliseconds. */
export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface WaitOptions {
  /** How often `check` runs (default 20 ms). */
  everyMs?: number;
  /**
   * A check that throws is "not yet" rather than a failure (a server still starting refuses connections); the
   * last error is named when the time is up. Off by default: a check's own assertion error fails at once.
   */
  retryErrors?: boolean;
}

/** Polls `check` until it holds; throws naming `what` after `timeoutMs`. */
export async function waitFor(
  check: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 15_000,
  options: WaitOptions = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      if (!options.retryErrors) throw error;
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await delay(options.everyMs ?? 20);
  }
}
