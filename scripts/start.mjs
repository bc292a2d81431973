#!/usr/bin/env node
// `npm start` (through scripts/launch.cjs, so on the pinned Node 24): builds, migrates the database (creating
// it if missing), loads demo data when it is empty, runs the three services with their output prefixed, and
// says when they are ready and where. A local PostgreSQL or Redis that does not answer is started first, and
// stopped last (start/local-servers.mjs). SIGINT, SIGTERM or SIGHUP, or the parent dying, stops them all
// gracefully; a service still running after STOP_GRACE_MS is killed, so nothing is left on a port.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { buildWithProgress } from './start/build.mjs';
import { banner, waitUntilHealthy } from './start/banner.mjs';
import { startLocalServers } from './start/local-servers.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const node = process.execPath;
const tty = Boolean(process.stdout.isTTY);
/** Within the 10 s a supervisor usually grants before it kills. */
const STOP_GRACE_MS = 8_000;

const services = [
  { name: 'organisations-api', colour: 36, port: (env) => env.ORGANISATIONS_API_PORT, pages: ['/docs'] },
  { name: 'people-api', colour: 35, port: (env) => env.PEOPLE_API_PORT, pages: ['/docs'] },
  { name: 'cache-worker', colour: 33, port: (env) => env.CACHE_WORKER_PORT, pages: ['/admin/queues'] },
];
const running = new Set();
let stopping = false;
let current = null; // the step running before the services start
let localServers = null; // the PostgreSQL and Redis this script started, if any

/** Exits once the servers this script started have stopped (after the services: they drain against them). */
async function exit(code) {
  await localServers?.stop();
  process.exit(code);
}

function stopAll(reason, exitCode = 0) {
  if (stopping) return;
  stopping = true;
  process.exitCode = exitCode;
  if (reason) process.stdout.write(`Stopping (${reason})...\n`);
  current?.kill('SIGTERM');
  for (const child of running) child.kill('SIGTERM');
  if (!current && running.size === 0) exit(exitCode);
  setTimeout(() => {
    for (const child of running) {
      process.stdout.write(`${child.prefix}still running after ${STOP_GRACE_MS / 1000} s: killed\n`);
      child.kill('SIGKILL');
    }
  }, STOP_GRACE_MS).unref();
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => stopAll(signal));
// The launcher gone (killed with SIGKILL): nobody would stop us, so stop now.
const parent = process.ppid;
setInterval(() => { if (process.ppid !== parent) stopAll('parent exited'); }, 250).unref();

/** Runs one preparation step to its end; exits with its status if it fails (or we were asked to stop). */
function step(label, file, args, env) {
  if (stopping) return exit(process.exitCode ?? 0);
  process.stdout.write(`> ${label}\n`);
  return new Promise((resolve) => {
    current = spawn(node, [path.join(root, file), ...args], { stdio: 'inherit', cwd: root, env });
    current.on('exit', (code, signal) => {
      current = null;
      if (stopping) return exit(process.exitCode ?? 0);
      if (code !== 0) {
        process.stderr.write(`${label} failed (${signal ?? `exit ${code}`}).\n`);
        return exit(code || 1);
      }
      resolve();
    });
  });
}

function prefixLines(stream, prefix) {
  let buffered = '';
  stream.on('data', (chunk) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) process.stdout.write(prefix + line + '\n');
  });
}

function startService({ name, colour }, env) {
  // CRM_STOP_WITH_PARENT: the service stops by itself if this process dies, even by SIGKILL.
  const child = spawn(node, [path.join(root, 'services', name, 'dist', 'server.js')], {
    cwd: root,
    env: { ...env, FORCE_COLOR: tty ? '1' : '0', CRM_STOP_WITH_PARENT: String(process.pid) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.prefix = tty ? `\x1b[${colour}m${name.padEnd(18)}\x1b[0m| ` : `${name.padEnd(18)}| `;
  prefixLines(child.stdout, child.prefix);
  prefixLines(child.stderr, child.prefix);
  child.on('exit', (code, signal) => {
    running.delete(child);
    if (!stopping || code !== 0) process.stdout.write(`${child.prefix}exited (${signal ?? code})\n`);
    if (!stopping) stopAll(`${name} exited`, code || 1); // one service down takes the others with it
    if (running.size === 0) exit(process.exitCode ?? 0);
  });
  running.add(child);
}

await buildWithProgress(root, tty, (child) => { current = child; });
current = null;
if (stopping) process.exit(process.exitCode ?? 0);

// The configuration, checked once here (a bad value stops everything with the variable's name) and the
// dev JWT warning printed once; the children are told not to repeat it.
const { loadEnv } = createRequire(import.meta.url)(path.join(root, 'packages/config/dist/index.js'));
const config = loadEnv();
localServers = startLocalServers(config, { root });
try {
  await localServers.ready;
} catch (error) {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
if (stopping) await exit(process.exitCode ?? 0);
// The worker holds no signing key. In development this script makes up its warm-up credential (which the APIs
// accept as a reader) and its dashboard token; in production the operator sets both.
const devCredentials = config.NODE_ENV === 'production' ? {} : {
  WARMUP_TOKEN: process.env.WARMUP_TOKEN || randomBytes(32).toString('hex'),
  ADMIN_QUEUES_TOKEN: process.env.ADMIN_QUEUES_TOKEN || randomBytes(24).toString('base64url'),
};
const childEnv = {
  ...process.env,
  ...devCredentials,
  CRM_DEV_JWT_WARNED: '1',
  // The services' stdout is our pipe, not the terminal: tell them a person is watching.
  ...(tty && process.env.LOG_PRETTY === undefined ? { LOG_PRETTY: 'true' } : {}),
};

await step('Migrating the database', 'packages/database/dist/cli/migrate.js', [], childEnv);
await step('Loading demo data if the database is empty', 'packages/database/dist/cli/seed.js', ['--demo'], childEnv);
if (stopping) await exit(process.exitCode ?? 0);

for (const service of services) startService(service, childEnv);
const endpoints = services.map((s) => ({ ...s, url: `http://127.0.0.1:${s.port(config)}` }));
const runtime = await waitUntilHealthy(endpoints, () => stopping);
if (runtime && !stopping) process.stdout.write(banner(endpoints, runtime, childEnv, tty));
