/** Small helpers every benchmark uses: settings from the environment, logging, waiting, percentiles. */

/** A positive number from the environment (a benchmark setting), or the default; anything else stops the run. */
export function positiveNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return value;
}

export const log = (line: string) => process.stdout.write(`${line}\n`);
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `ready` every 100 ms until it answers true; rejects with what `ready` throws (a server that exited:
 * no point waiting), or once `timeoutMs` has passed.
 */
export async function waitUntil(ready: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await ready()) return;
    await sleep(100);
  }
  throw new Error(`${what} within ${timeoutMs} ms`);
}

/** The p-th percentile (0-100) of ascending `sorted` (the sample at rank floor(p% of n)); `empty` when there is none. */
export function percentile(sorted: number[], p: number, empty = 0): number {
  if (sorted.length === 0) return empty;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
