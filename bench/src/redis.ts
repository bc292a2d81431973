/**
 * The benchmarks' Redis: a `redis-server` of their own on a spare port (no persistence; `npm run bench` hangs,
 * kills and restarts it for its outage phases), and their own client connections to it or to any Redis.
 * Tests have their own server helper; the benchmarks do not depend on test code.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { waitUntil } from './util';

const started = new Set<ChildProcess>();

/**
 * A client for the benchmark's own commands (clearing keys, reading INFO): connected by `connect()`, one
 * retry per command, errors surfaced by the command that fails. `reconnect` retries the connection (up to
 * every second) when a server may go away and come back under it; without it a lost server ends the run.
 */
export function benchRedis(url: string, reconnect = false): Redis {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: reconnect ? (attempt) => Math.min(100 * attempt, 1_000) : () => null,
  });
  client.on('error', () => undefined);
  return client;
}

/** A redis-server started by a benchmark, on 127.0.0.1:`port`. */
export class BenchRedisServer {
  private child: ChildProcess | undefined;

  private constructor(readonly port: number, private readonly args: string[]) {}

  /** Starts `redis-server` (no persistence, plus `args`: its memory policy) and resolves once it answers PING. */
  static async start(port: number, args: string[] = []): Promise<BenchRedisServer> {
    const server = new BenchRedisServer(port, args);
    await server.spawn();
    return server;
  }

  /** The running server's process id. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Its URL, database `db`. */
  url(db = 0): string {
    return `redis://127.0.0.1:${this.port}/${db}`;
  }

  /** Hangs it (SIGSTOP): connections stay open, nothing answers. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  /** Wakes it after `pause` (SIGCONT). */
  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** Crashes it (SIGKILL): connections are refused, its data is gone. */
  kill(): void {
    this.child?.kill('SIGKILL');
  }

  /** A fresh, empty server on the same port (after `kill`). */
  async restart(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    await this.spawn();
  }

  /** Resolves once it answers PING. */
  async answering(timeoutMs = 5_000): Promise<void> {
    await waitUntil(async () => this.pings(), `redis-server on port ${this.port} did not answer`, timeoutMs);
  }

  /** Shuts it down (also when hung): SIGTERM, then SIGKILL after 3 s. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGCONT'); // a stopped process would hold SIGTERM until continued
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => { child.kill('SIGKILL'); resolve(); }, 3_000);
      child.once('exit', () => { clearTimeout(timer); resolve(); });
      child.kill('SIGTERM');
    });
  }

  private async spawn(): Promise<void> {
    const { port } = this;
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...this.args],
      { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    started.add(child);
    child.once('exit', () => started.delete(child));
    child.stderr?.on('data', (d: Buffer) => process.stderr.write(`[redis:${port}] ${d.toString()}`));
    try {
      await waitUntil(async () => {
        if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited (${child.exitCode}): is the port taken?`);
        return this.pings();
      }, `redis-server on port ${port} did not answer`, 5_000);
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    }
  }

  private async pings(): Promise<boolean> {
    const probe = benchRedis(this.url());
    try {
      await probe.connect();
      await probe.ping();
      return true;
    } catch {
      return false;
    } finally {
      probe.disconnect();
    }
  }
}

/** Last resort on process exit: synchronous, so no redis-server outlives the benchmark (a hung one included). */
export function killRedisServersNow(): void {
  for (const child of started) { child.kill('SIGCONT'); child.kill('SIGKILL'); }
}
