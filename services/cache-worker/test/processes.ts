import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';
import { waitFor } from './stack';

// The built services as real processes (npm test builds first), for the tests that need what only a process
// has: its signals, its OTLP exporter, its death by SIGKILL.

const SERVICES = {
  'organisations-api': 'ORGANISATIONS_API_PORT',
  'people-api': 'PEOPLE_API_PORT',
  'cache-worker': 'CACHE_WORKER_PORT',
} as const;

export type ServiceName = keyof typeof SERVICES;

/** A port nothing listens on now (the system picks it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A running process and everything it wrote (stdout and stderr). */
export interface Captured {
  child: ChildProcess;
  output: () => string;
}

/** Runs `node <file>` with only PATH and `env` in its environment, capturing its output. */
export function spawnCaptured(file: string, env: Record<string, string>, cwd?: string): Captured {
  let output = '';
  const child = spawn(process.execPath, [file], { cwd, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (c) => { output += c; });
  child.stderr!.on('data', (c) => { output += c; });
  return { child, output: () => output };
}

/** A built service started on a port of its own, answering /health. */
export interface ServiceProcess extends Captured {
  url: string;
}

/** Where a built service's entry point is. */
export function serverOf(name: ServiceName): string {
  return path.resolve(__dirname, '../..', name, 'dist', 'server.js');
}

/**
 * Starts a built service on a free port with `env` and waits (up to a minute: a loaded machine is slow to load and
 * instrument the modules) until its /health answers 200. One that never does is killed: it must not outlive the test.
 */
export async function startService(name: ServiceName, env: Record<string, string>): Promise<ServiceProcess> {
  const port = await freePort();
  const running = spawnCaptured(serverOf(name), { ...env, [SERVICES[name]]: String(port) });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(async () => (await fetch(`${url}/health`).catch(() => null))?.status === 200, `${name} to answer /health`, 60_000);
  } catch (error) {
    running.child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}; its output:\n${running.output()}`);
  }
  return { ...running, url };
}

/** Stops a process with SIGTERM and waits until it has exited (nothing when it is not running). */
export async function stopProcess(running: Captured | undefined): Promise<void> {
  if (!running || running.child.exitCode !== null || running.child.signalCode !== null) return;
  const exited = new Promise((resolve) => running.child.once('exit', resolve));
  running.child.kill('SIGTERM');
  await exited;
}

/** Removes every key a process left in a cache namespace of the test's own (entries, tag tokens, rate limits). */
export async function deleteNamespaceKeys(redisUrl: string, namespace: string): Promise<void> {
  const redis = new Redis(redisUrl);
  try {
    for (const pattern of [`${namespace}:*`, `{${namespace}:tags}:*`, `${namespace}-ratelimit:*`]) {
      const keys = await redis.keys(pattern);
      if (keys.length) await redis.unlink(...keys);
    }
  } finally {
    redis.disconnect();
  }
}
