import type { Redis } from 'ioredis';
import { isCluster, type RedisClient } from '@crm/redis';

/** What a watched call resolves to when the watchdog gave up on it (Redis hangs). */
export const ABANDONED: unique symbol = Symbol('abandoned');

/** What the watchdog watches and whom it tells. */
export interface HangWatchdogOptions {
  /** The client whose replies are listened for: any bytes from a server mean it is not hung. */
  redis: RedisClient;
  /** How long Redis may leave a command unanswered, on an open connection, before it is taken for hung. */
  thresholdMs?: number;
  /** Whether the connection is up: a command waiting on a connection that is not is the reconnect's business. */
  connected: () => boolean;
  /** Redis hangs: open the breaker for everyone. */
  onHang: () => void;
  /** Whether the background probe should run (the breaker is open). */
  shouldProbe: () => boolean;
  /** A cheap round trip (PING). */
  probe: () => Promise<unknown>;
  /** The probe was answered: Redis is back. */
  onAnswer: () => void;
}

interface Pending {
  startedAt: number;
  abandon: () => void;
}

const TICK_MS = 25;
/** A tick this late means this process stalled: replies may be waiting unread on the socket. */
const LATE_MS = 50;
const PROBE_EVERY_MS = 100;
const PROBE_TIMEOUT_MS = 200;

/**
 * Detects a hung Redis sooner than each command's own timeout. Every request would otherwise wait its
 * commandTimeout before the breaker opens, and all requests already waiting would still wait theirs. Here, as
 * soon as any command has been unanswered for `thresholdMs` while Redis answered nothing else meanwhile, the
 * breaker opens for everyone and every waiting call gives up at once (its request reads the database). A stall of
 * this process is not a hang (the replies may be waiting on the socket). A background PING closes the breaker as
 * soon as Redis answers again. A false alarm (Redis merely slow) costs a few database reads until the next probe.
 */
export class HangWatchdog {
  private readonly pending = new Set<Pending>();
  private readonly thresholdMs: number;
  private lastHeard = performance.now();
  private lastTick = performance.now();
  private lastProbe = 0;
  private probing = false;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly options: HangWatchdogOptions) {
    this.thresholdMs = options.thresholdMs ?? 150;
    // A burst of commands (autopipelined) can keep the oldest one waiting past the threshold while replies
    // stream in: those bytes, not the oldest command's answer, tell a slow server from a hung one.
    onBytesFromRedis(options.redis, () => this.heard());
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  /** Resolves with the call's result, or ABANDONED once Redis is taken for hung. Rejects as the call does. */
  watch<T>(call: Promise<T>): Promise<T | typeof ABANDONED> {
    let pending!: Pending;
    const abandoned = new Promise<typeof ABANDONED>((resolve) => {
      pending = { startedAt: performance.now(), abandon: () => resolve(ABANDONED) };
    });
    this.pending.add(pending);
    return Promise.race([call.then((result) => { this.heard(); return result; }), abandoned]).finally(() => this.pending.delete(pending));
  }

  /** Redis answered something (e.g. one chunk of a long sequence): it is not hung. */
  heard(): void {
    this.lastHeard = performance.now();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    const now = performance.now();
    const late = now - this.lastTick - TICK_MS;
    this.lastTick = now;
    // After a stall of this process, timers run before the socket is read: judge on the next tick, once any
    // reply that arrived meanwhile has been heard. (Not a longer blame window: a hang during a busy spell must
    // still be caught within a tick or two.)
    if (late > LATE_MS) return;
    if (this.pending.size > 0 && this.options.connected()) {
      let oldest = now;
      for (const p of this.pending) oldest = Math.min(oldest, p.startedAt);
      if (now - oldest > this.thresholdMs && now - this.lastHeard > this.thresholdMs) {
        this.options.onHang();
        for (const p of this.pending) p.abandon();
        this.pending.clear();
      }
    }
    if (!this.probing && now - this.lastProbe >= PROBE_EVERY_MS && this.options.connected() && this.options.shouldProbe()) void this.runProbe(now);
  }

  /** Runs the probe, bounded by PROBE_TIMEOUT_MS; an answer closes the breaker. */
  private async runProbe(now: number): Promise<void> {
    this.probing = true;
    this.lastProbe = now;
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('probe timed out')), PROBE_TIMEOUT_MS); });
      await Promise.race([this.options.probe(), timeout]);
      this.heard();
      this.options.onAnswer();
    } catch {
      // Still hung or down: the next tick probes again.
    } finally {
      clearTimeout(timer);
      this.probing = false;
    }
  }
}

/** Calls `heard` whenever bytes arrive from the server (any node of a cluster), on every connection it makes. */
function onBytesFromRedis(client: RedisClient, heard: () => void): void {
  const hooked = new WeakSet<object>();
  const attach = (node: Redis) => {
    const hook = () => {
      const stream = (node as unknown as { stream?: NodeJS.EventEmitter }).stream;
      if (!stream || hooked.has(stream)) return;
      hooked.add(stream);
      stream.on('data', heard);
    };
    hook();
    node.on('connect', hook);
  };
  if (isCluster(client)) {
    client.nodes().forEach(attach);
    client.on('+node', attach);
  } else {
    attach(client);
  }
}
