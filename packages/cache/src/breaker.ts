/**
 * Stops calling Redis for a while after repeated failures, so a down or hanging server costs
 * requests nothing: while open, cache calls are skipped at once; after `openMs` one call is let
 * through (half-open) and its outcome closes or re-opens the breaker.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private probing = false;
  /** Called when a closed breaker opens (an outage starts). */
  onOpen?: () => void;

  constructor(private readonly failureThreshold = 3, private readonly openMs = 5_000) {}

  get state(): 'closed' | 'open' | 'half-open' {
    if (this.openedAt === 0) return 'closed';
    return Date.now() - this.openedAt >= this.openMs ? 'half-open' : 'open';
  }

  /** True when a call may go to Redis now. */
  allow(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.probing) return false;
    this.probing = true; // one trial call at a time
    return true;
  }

  /** A call was answered: closes the breaker. */
  success(): void {
    this.failures = 0;
    this.openedAt = 0;
    this.probing = false;
  }

  /** A failed call that says nothing about the server: ends a half-open trial without changing the state. */
  forgive(): void {
    this.probing = false;
  }

  /** A call failed: opens the breaker after `failureThreshold` in a row (at once while half-open). */
  failure(): void {
    this.probing = false;
    this.failures++;
    if (this.openedAt !== 0 || this.failures >= this.failureThreshold) {
      if (this.openedAt === 0) this.onOpen?.();
      this.openedAt = Date.now();
    }
  }

  /** Opens at once (e.g. the connection reported an error). */
  trip(): void {
    if (this.openedAt === 0) this.onOpen?.();
    this.failures = this.failureThreshold;
    this.openedAt = Date.now();
    this.probing = false;
  }
}
