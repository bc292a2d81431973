/**
 * Whether this process's event loop stalled lately. A Redis command timeout measured by a timer that fired
 * late says nothing about Redis: after a stall, Node runs expired timers before it reads the replies already
 * waiting on the socket, so every command in flight "times out" at once. The breaker must not open for that
 * (it would send every read to the database exactly when the process is busiest).
 */
const TICK_MS = 50;
/** A tick this late means the loop was blocked (or the process descheduled) long enough to matter. */
const STALL_MS = 100;
/** How long after a stall a timeout is still blamed on it: longer than the cache's command timeout. */
const BLAME_MS = 1_000;

let lastTick = 0;
let lastStallAt = 0;
let timer: NodeJS.Timeout | undefined;

function start(): void {
  if (timer) return;
  lastTick = performance.now();
  timer = setInterval(() => {
    const now = performance.now();
    if (now - lastTick - TICK_MS > STALL_MS) lastStallAt = now;
    lastTick = now;
  }, TICK_MS);
  timer.unref();
}

/** True when the event loop stalled within the last second (or is stalled right now). */
export function loopStalledRecently(): boolean {
  start();
  const now = performance.now();
  return now - lastStallAt < BLAME_MS || now - lastTick - TICK_MS > STALL_MS;
}

/** Starts watching (the first call to loopStalledRecently would otherwise see no history). */
export function watchLoopLag(): void {
  start();
}
