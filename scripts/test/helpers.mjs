// Helpers for the root-level tests that run `npm start` as a user would: their own redis-server, database
// and ports (TEST_START_PORT_BASE, default 3110: never the 3001-3003 a developer's own `npm start` uses).
import { execFileSync, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PORT_BASE = Number(process.env.TEST_START_PORT_BASE ?? 3110);

/** Polls `check` until it returns a truthy value; throws naming `what` after `timeoutMs`. */
export async function waitFor(check, what, timeoutMs = 10_000, everyMs = 100) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Ports for one test file: `slot` 1..8 gives three service ports and a Redis port of its own. */
export function ports(slot) {
  const base = PORT_BASE + slot * 10;
  return { organisations: base + 1, people: base + 2, worker: base + 3, redis: base + 9 };
}

/**
 * A throwaway redis-server on `port` (nothing saved): RedisServer of @crm/testing, built (npm test builds first).
 * Resolves with a stop function, which kills it.
 */
export async function startRedis(port) {
  const { RedisServer } = createRequire(import.meta.url)('@crm/testing');
  const server = await RedisServer.start(port);
  return () => server.kill();
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function portOpen(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

/** A database of this test run's own: TEST_DATABASE_URL's server, its name with `suffix`. */
export function databaseUrl(suffix) {
  const url = new URL(process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/crm_test');
  url.pathname = `/${url.pathname.slice(1).replace(/\W/g, '_')}_${suffix}`;
  return url.toString();
}

/** PATH without any node_modules/.bin, so `node` is the machine's own (what a fresh shell has). */
export function machinePath() {
  return (process.env.PATH ?? '').split(path.delimiter).filter((dir) => !dir.includes('node_modules')).join(path.delimiter);
}

/**
 * `npm start` in `cwd`, detached (its own process group, as a terminal or a supervisor would run it), on the
 * machine's PATH, with the given ports, database and Redis (and `env` on top). Output is collected in `output()`.
 */
export function npmStart(cwd, { slot, database, env: extra = {} }) {
  const p = ports(slot);
  const env = {
    ...process.env,
    PATH: machinePath(),
    NODE_ENV: 'development',
    DATABASE_URL: database,
    REDIS_URL: `redis://127.0.0.1:${p.redis}/0`,
    ORGANISATIONS_API_PORT: String(p.organisations),
    PEOPLE_API_PORT: String(p.people),
    CACHE_WORKER_PORT: String(p.worker),
    OTEL_SDK_DISABLED: 'true',
    LOG_PRETTY: 'false',
    ...extra,
  };
  for (const name of Object.keys(env)) if (name.startsWith('npm_') || name === 'JEST_SUMMARY_FILE' || name === 'NODE_OPTIONS') delete env[name];
  const child = spawn('npm', ['start'], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout.on('data', (chunk) => { text += chunk; });
  child.stderr.on('data', (chunk) => { text += chunk; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited, ports: p, output: () => text };
}

/** The pids in a process group (ps lists none once every member has exited). */
export function groupPids(pgid) {
  try {
    return execFileSync('ps', ['-o', 'pid=', '-g', String(pgid)], { encoding: 'utf8' }).split('\n').map((s) => Number(s.trim())).filter(Boolean);
  } catch {
    return []; // ps exits 1 when the group is empty
  }
}

/** GET /health of a port, or null when nothing answers. */
export async function health(port) {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2_000) });
    return { status: res.status, body: await res.json() };
  } catch {
    return null;
  }
}

/** Waits for `npm start`'s ready banner and every service's /health; fails early with its output if it exits. */
export async function waitReady(start, timeoutMs) {
  let exited = null;
  start.exited.then((result) => { exited = result; });
  await waitFor(async () => {
    if (exited) throw new Error(`npm start exited (${JSON.stringify(exited)}) before it was ready:\n${start.output()}`);
    if (!/^Ready \(Node /m.test(start.output())) return false;
    const all = await Promise.all([start.ports.organisations, start.ports.people, start.ports.worker].map(health));
    return all.every((h) => h && h.status === 200) ? all : false;
  }, 'npm start to be ready', timeoutMs, 500);
  return Promise.all([start.ports.organisations, start.ports.people, start.ports.worker].map(health));
}

/** Waits until `npm start` has printed nothing for `quietMs` (the start-up warm-up done and logged). */
export async function waitQuiet(start, quietMs, timeoutMs = 60_000) {
  let seen = start.output().length;
  let since = Date.now();
  await waitFor(() => {
    const now = start.output().length;
    if (now !== seen) {
      seen = now;
      since = Date.now();
    }
    return Date.now() - since >= quietMs;
  }, `npm start's output to settle`, timeoutMs, 200);
}

/** Asserts-by-waiting that nothing is left: no process of the group (but `except`), no service port open. */
export async function waitAllStopped(start, timeoutMs, except = []) {
  const p = start.ports;
  await waitFor(async () => {
    const left = groupPids(start.child.pid).filter((pid) => !except.includes(pid));
    const open = (await Promise.all([p.organisations, p.people, p.worker].map(portOpen))).some(Boolean);
    return left.length === 0 && !open;
  }, `every process of npm start to exit and its ports to close`, timeoutMs);
}
