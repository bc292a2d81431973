/** The servers a benchmark runs as child processes: start, wait for /health, measure (/proc), stop. */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { waitUntil } from './util';

const running = new Set<ChildProcess>();

/** A port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Prefixes each line of a child's output, so warnings from the servers are visible but attributable. */
function relay(child: ChildProcess, name: string): void {
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream }).on('line', (line) => process.stderr.write(`[${name}] ${line}\n`));
  }
}

function track(child: ChildProcess, name: string): ChildProcess {
  running.add(child);
  relay(child, name);
  child.once('exit', () => running.delete(child));
  return child;
}

/** Starts `node <script>` with the Node running this file (Node 24 under pnpm, not the system one). */
export function startNode(name: string, script: string, env: NodeJS.ProcessEnv, args: string[] = []): ChildProcess {
  return track(spawn(process.execPath, [script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] }), name);
}

/** Like startNode, with an IPC channel (for the ceiling server's bodies). */
export function forkNode(name: string, script: string, env: NodeJS.ProcessEnv): ChildProcess {
  return track(fork(script, [], { execPath: process.execPath, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] }), name);
}

/** Resolves once GET /health answers 200; rejects if the child exits first or after `timeoutMs`. */
export async function waitForHealth(child: ChildProcess, baseUrl: string, timeoutMs = 30_000): Promise<void> {
  await waitUntil(async () => {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${baseUrl}: the server exited (${child.exitCode ?? child.signalCode}) before answering /health`);
    try {
      return (await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(1_000) })).ok;
    } catch {
      return false; // not listening yet
    }
  }, `${baseUrl}: /health did not answer 200`, timeoutMs);
}

/**
 * CPU seconds (user + system, all threads) a process has used, from /proc; undefined where there is no
 * /proc. Per request, it compares servers without the load generator's share of the two cores.
 */
export function cpuSeconds(pid: number | undefined): number | undefined {
  try {
    // Fields after the `(comm)`: utime and stime are the 12th and 13th, in clock ticks (USER_HZ, 100 on Linux).
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks / 100 : undefined;
  } catch {
    return undefined;
  }
}

/** Peak resident memory (VmHWM) of a process in MiB, from /proc; undefined where there is none. */
export function peakRssMiB(pid: number | undefined): number | undefined {
  try {
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Math.round(Number(kb) / 102.4) / 10 : undefined;
  } catch {
    return undefined;
  }
}

/** SIGTERM (graceful shutdown), then SIGKILL for any child still alive after `graceMs`. */
export async function stopAll(graceMs = 5_000): Promise<void> {
  await Promise.all([...running].map((child) => new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => { clearTimeout(timer); resolve(); });
    child.kill('SIGTERM');
  })));
}

/** Last resort on process exit: synchronous, so no child outlives the benchmark. */
export function killAllNow(): void {
  for (const child of running) child.kill('SIGKILL');
}
