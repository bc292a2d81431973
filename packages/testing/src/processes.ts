import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { waitFor } from './wait';

// Built programs as real processes, for the tests that need what only a process has: its signals, its OTLP
// exporter, its death by SIGKILL.

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

/** A built HTTP service started on a port of its own, answering /health. */
export interface ServiceProcess extends Captured {
  url: string;
}

/** What startServiceProcess runs: a built entry point, told its port by one environment variable. */
export interface ServiceEntry {
  /** For messages: which service this is. */
  name: string;
  /** The built entry point (`node <file>`). */
  file: string;
  /** The variable the service reads its port from. */
  portVariable: string;
}

/**
 * Starts a built service on a free port with `env` and waits (up to a minute: a loaded machine is slow to load and
 * instrument the modules) until its /health answers 200. One that never does is killed: it must not outlive the test.
 */
export async function startServiceProcess(service: ServiceEntry, env: Record<string, string>): Promise<ServiceProcess> {
  const port = await freePort();
  const running = spawnCaptured(service.file, { ...env, [service.portVariable]: String(port) });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(async () => (await fetch(`${url}/health`).catch(() => null))?.status === 200, `${service.name} to answer /health`, 60_000);
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
