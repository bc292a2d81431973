import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { delay } from './wait';

export interface RedisServerOptions {
  /** Extra `redis-server` arguments, e.g. `['--maxmemory-policy', 'noeviction']`. */
  args?: string[];
  /** How long start() and resume() wait for the server to answer PING. */
  readyTimeoutMs?: number;
}

/** Every server still running when the test process exits is killed, so none outlives a crashed run. */
const running = new Set<ChildProcess>();
let exitHooked = false;
function track(child: ChildProcess): void {
  if (!exitHooked) {
    exitHooked = true; // hooked on first use, so importing the package has no side effect
    process.once('exit', () => running.forEach((c) => c.kill('SIGKILL')));
  }
  running.add(child);
  child.once('exit', () => running.delete(child));
}

/**
 * A throwaway `redis-server` for tests that need to hang (SIGSTOP), kill or restart the cache's Redis.
 * Nothing is persisted: a restarted server starts empty, like a crashed cache.
 */
export class RedisServer {
  private child: ChildProcess | null = null;
  private output = '';

  constructor(readonly port: number, private readonly options: RedisServerOptions = {}) {}

  /** Starts a server on `port` and resolves once it answers PING. */
  static async start(port: number, options?: RedisServerOptions): Promise<RedisServer> {
    const server = new RedisServer(port, options);
    await server.start();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null;
  }

  async start(): Promise<void> {
    if (this.child) throw new Error(`redis-server on port ${this.port} is already running`);
    const child = spawn('redis-server', [
      '--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      ...(this.options.args ?? []),
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.output = '';
    const keep = (chunk: Buffer) => { this.output = (this.output + chunk.toString()).slice(-2_000); };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    track(child);
    child.once('exit', () => {
      if (this.child === child) this.child = null;
    });
    this.child = child;
    await this.waitUntilAnswering();
  }

  /** Hangs the server (SIGSTOP): connections stay open, nothing is answered. Resolves once it is stopped. */
  async pause(): Promise<void> {
    const child = this.alive();
    child.kill('SIGSTOP');
    await this.waitForState(child, 'T');
  }

  /** Wakes a hung server (SIGCONT) and resolves once it answers PING. */
  async resume(): Promise<void> {
    const child = this.alive();
    child.kill('SIGCONT');
    await this.waitUntilAnswering();
  }

  /** Crashes the server (SIGKILL) and resolves once it has exited: its data is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  /** Starts a fresh, empty server on the same port (killing the current one first if it runs). */
  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  /** Shuts the server down for good (also when hung); safe to call when it is not running. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = once(child, 'exit');
    child.kill('SIGCONT'); // a stopped process would hold SIGTERM until continued
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
    }
  }

  private alive(): ChildProcess {
    if (!this.child) throw new Error(`redis-server on port ${this.port} is not running`);
    return this.child;
  }

  /** Polls PING until this very process answers (not another server that already held the port). */
  private async waitUntilAnswering(): Promise<void> {
    const child = this.alive();
    const deadline = Date.now() + (this.options.readyTimeoutMs ?? 10_000);
    while (Date.now() < deadline) {
      if (this.child !== child) break; // exited, e.g. the port was taken
      if ((await this.answeringPid()) === child.pid) return;
      await delay(20);
    }
    throw new Error(`redis-server on port ${this.port} did not answer PING: ${this.output.trim() || 'no output'}`);
  }

  private async answeringPid(): Promise<number | undefined> {
    return withProbe(this.port, 500, async (probe) => {
      if ((await probe.ping()) !== 'PONG') return undefined;
      return Number(/^process_id:(\d+)/m.exec(await probe.info('server'))?.[1]);
    });
  }

  /** Waits for the process state in /proc (`T`: stopped); where there is no /proc, trusts the signal. */
  private async waitForState(child: ChildProcess, state: string): Promise<void> {
    const deadline = Date.now() + 2_000;
    while (Date.now() < deadline) {
      let stat: string;
      try {
        stat = await readFile(`/proc/${child.pid}/stat`, 'utf8');
      } catch {
        return;
      }
      // The state follows the parenthesised command name: `pid (comm) S ...`.
      if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === state) return;
      await delay(5);
    }
    throw new Error(`redis-server on port ${this.port} did not reach state ${state}`);
  }
}

/**
 * Runs `use` on a throwaway connection to the local server on `port` that never retries; undefined when the server
 * does not answer (refused, hung past `commandTimeoutMs`).
 */
export async function withProbe<T>(port: number, commandTimeoutMs: number, use: (probe: Redis) => Promise<T>): Promise<T | undefined> {
  const probe = new Redis({
    host: '127.0.0.1', port, lazyConnect: true, connectTimeout: 500, commandTimeout: commandTimeoutMs,
    maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null,
  });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return await use(probe);
  } catch {
    return undefined;
  } finally {
    // Disconnecting a client whose connection already failed arms a 2 s timer that holds the process open.
    if (probe.status !== 'end') probe.disconnect();
  }
}
